/**
 * The Lua twins of the pure steps in src/rate-limit/algorithms.ts. Each algorithm's decision is one Lua
 * function (a fragment) that mirrors its step line by line, with the same integer arithmetic on doubles
 * (Lua 5.1 numbers are doubles, like JavaScript's, and every value stays below 2^53 exactly as in the
 * TypeScript), the same `floorDiv` correction steps and the same evaluation order, so the differential
 * tests can demand identical decisions.
 *
 * The fragments live beside the TypeScript steps (src/rate-limit/lua/), so a change to a step and to its
 * twin is one change; this module composes them. Fragments compose: a script is {@link LUA_PRELUDE} (arithmetic and the clock), the fragments it uses,
 * and a body that calls them. Every decision function has the same signature, so a batch script can call
 * many of them in one EVALSHA, in arrival order:
 *
 *     weir_<kind>(keyA, keyB, now, cost, write, p1, p2, p3, p4) -> { allowed, never, remaining, waitUs, fullUs }
 *
 * - keyA: the state key; keyB: the sliding log's total key (nil for the other algorithms).
 * - now: µs since the time origin ({@link LUA_PRELUDE}'s `weir_now`); cost: an integer >= 0; write: a
 *   boolean, true when an allowed take saves its state (consume and cost > 0).
 * - p1..p4: the algorithm's integer parameters ({@link limitArgs}); they travel with every call, so one
 *   store serves keys with different limits (tiers) and a reconfigured limiter needs no new script.
 * - The reply is a StepResult's decision fields; errors come back as `redis.error_reply` tables.
 *
 * Refunds have the same shape (`weir_<kind>_refund(keyA, keyB, now, cost, p1..p4)`, replying like a peek
 * after the refund): they give back up to `cost` units, never beyond full.
 *
 * State encodings (fresh state = absent key = all zeros, as in the steps):
 *   token bucket: a string "deficit lastUs"; GCRA: a string "tat"; counter: "index prev cur";
 *   sliding log: a ZSET of "timeUs:seq:cost" members scored by timeUs, plus a string key with their total.
 * Every write sets a TTL of ceil(fullUs / 1000) ms (>= 1: an allowed write always leaves fullUs > 0), so a
 * key disappears when its state is back to full. Numbers are written with `%.0f` (exact for integers below
 * 2^53), never with Lua's `tostring`, which keeps only 14 significant digits.
 */

import { checkCount, show } from '../../src/core/validate.js';
import { storedKey } from '../../src/rate-limit/keys.js';
import { REFUND_FRAGMENTS } from '../../src/rate-limit/lua/refunds.js';
import {
  GCRA_FN,
  LUA_ARITHMETIC,
  LUA_PRELUDE,
  SLIDING_COUNTER_FN,
  SLIDING_LOG_FN,
  TOKEN_BUCKET_FN,
} from '../../src/rate-limit/lua/steps.js';
import type { RateLimitAlgorithm } from '../../src/rate-limit/store.js';
import { LOG_TOTAL_SUFFIX, stateKey } from './keys.js';

export { LUA_ARITHMETIC, LUA_PRELUDE };

export type AlgorithmKind = RateLimitAlgorithm['config']['kind'];

/** One algorithm's Lua decision: a fragment defining `fn` (and `refundFn`), and how many keys it reads. */
export interface LuaAlgorithm {
  /** Lua source defining `fn` and `refundFn` as locals; include it after {@link LUA_PRELUDE}. */
  readonly fragment: string;
  /** The decision function's name. */
  readonly fn: string;
  /** The refund function's name. */
  readonly refundFn: string;
  /** 1, or 2 for the sliding log (state and total). */
  readonly keyCount: 1 | 2;
}

export const LUA_ALGORITHMS: Readonly<Record<AlgorithmKind, LuaAlgorithm>> = Object.freeze({
  'token-bucket': {
    fragment: TOKEN_BUCKET_FN + REFUND_FRAGMENTS['token-bucket'],
    fn: 'weir_token_bucket',
    refundFn: 'weir_token_bucket_refund',
    keyCount: 1,
  },
  gcra: { fragment: GCRA_FN + REFUND_FRAGMENTS.gcra, fn: 'weir_gcra', refundFn: 'weir_gcra_refund', keyCount: 1 },
  'sliding-window-counter': {
    fragment: SLIDING_COUNTER_FN + REFUND_FRAGMENTS['sliding-window-counter'],
    fn: 'weir_sliding_counter',
    refundFn: 'weir_sliding_counter_refund',
    keyCount: 1,
  },
  'sliding-window-log': {
    fragment: SLIDING_LOG_FN + REFUND_FRAGMENTS['sliding-window-log'],
    fn: 'weir_sliding_log',
    refundFn: 'weir_sliding_log_refund',
    keyCount: 2,
  },
});

/**
 * A single-decision script. Calling convention: KEYS[1] (and KEYS[2] for the log); ARGV[1] nowUs (-1:
 * Redis `TIME`), ARGV[2] the time origin in epoch seconds, ARGV[3] cost, ARGV[4] '1' when the take writes,
 * ARGV[5..8] the parameters.
 */
function takeScriptOf(kind: AlgorithmKind): string {
  const a = LUA_ALGORITHMS[kind];
  return `${LUA_PRELUDE}${a.fragment}
local now, err = weir_now(ARGV[1], ARGV[2])
if not now then return err end
return ${a.fn}(KEYS[1], KEYS[2], now, tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
`;
}

/** A refund script: the take script's convention without the write flag (ARGV[4] is ignored). */
function refundScriptOf(kind: AlgorithmKind): string {
  const a = LUA_ALGORITHMS[kind];
  return `${LUA_PRELUDE}${a.fragment}
local now, err = weir_now(ARGV[1], ARGV[2])
if not now then return err end
return ${a.refundFn}(KEYS[1], KEYS[2], now, tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
`;
}

/** Full single-decision scripts, one per algorithm (the convention of {@link takeCall}). */
export const TAKE_SCRIPTS: Readonly<Record<AlgorithmKind, string>> = Object.freeze({
  'token-bucket': takeScriptOf('token-bucket'),
  gcra: takeScriptOf('gcra'),
  'sliding-window-counter': takeScriptOf('sliding-window-counter'),
  'sliding-window-log': takeScriptOf('sliding-window-log'),
});

export const REFUND_SCRIPTS: Readonly<Record<AlgorithmKind, string>> = Object.freeze({
  'token-bucket': refundScriptOf('token-bucket'),
  gcra: refundScriptOf('gcra'),
  'sliding-window-counter': refundScriptOf('sliding-window-counter'),
  'sliding-window-log': refundScriptOf('sliding-window-log'),
});

/** The whole scripts under their former names (same calling convention as {@link takeCall}). */
export const TOKEN_BUCKET_LUA = TAKE_SCRIPTS['token-bucket'];
export const GCRA_LUA = TAKE_SCRIPTS.gcra;
export const SLIDING_COUNTER_LUA = TAKE_SCRIPTS['sliding-window-counter'];
export const SLIDING_LOG_LUA = TAKE_SCRIPTS['sliding-window-log'];

/**
 * A batch script for one algorithm: KEYS holds `keyCount` keys per decision; ARGV[1] nowUs, ARGV[2] the
 * origin, then 6 values per decision (cost, write '1'/'0', p1..p4; unused parameters are '0'). Replies one
 * decision table per decision, in order; all decisions of a batch read the same `TIME`. A decision that
 * fails (an error reply) fails alone: its slot holds `{ -1, message }`.
 */
export function batchScript(kind: AlgorithmKind): string {
  const a = LUA_ALGORITHMS[kind];
  const keyB = a.keyCount === 2 ? 'KEYS[k + 1]' : 'nil';
  return `${LUA_PRELUDE}${a.fragment}
local now, err = weir_now(ARGV[1], ARGV[2])
if not now then return err end
local out = {}
local n = (#ARGV - 2) / 6
for i = 0, n - 1 do
  local j = 3 + i * 6
  local k = 1 + i * ${a.keyCount}
  local r = ${a.fn}(KEYS[k], ${keyB}, now, tonumber(ARGV[j]), ARGV[j + 1] == '1', tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4]), tonumber(ARGV[j + 5]))
  if r.err then r = { -1, r.err } end
  out[#out + 1] = r
end
return out
`;
}

/** The integer parameters p1..p4 of an algorithm, as its Lua function takes them (unused ones are 0). */
export function limitArgs(algorithm: RateLimitAlgorithm): [number, number, number, number] {
  const c = algorithm.config;
  switch (c.kind) {
    case 'token-bucket':
      return [c.capacity, c.unitsPerToken, c.unitsPerUs, c.capacityUnits];
    case 'gcra':
      return [c.burst, c.ticksPerUs, c.intervalTicks, c.toleranceTicks];
    default:
      return [c.limit, c.windowUs, 0, 0];
  }
}

/** What to send: EVALSHA of `script` (by its hash) with these keys and args. */
export interface ScriptCall {
  readonly script: string;
  readonly keys: string[];
  readonly args: (string | number)[];
}

/**
 * The Redis keys of `key` under `prefix` for an algorithm of `kind` (one, or two for the sliding log). The
 * key goes through the same byte bound as in memory (`storedKey`: past 256 UTF-16 units, a readable
 * prefix and a SHA-256), so a Redis key name is bounded whatever the client sends.
 */
export function keysFor(kind: AlgorithmKind, prefix: string, key: string): string[] {
  const state = stateKey(prefix, storedKey(key));
  return LUA_ALGORITHMS[kind].keyCount === 2 ? [state, state + LOG_TOTAL_SUFFIX] : [state];
}

/**
 * The call for one take: `nowUs` -1 reads Redis `TIME` (production) or an explicit µs time (tests);
 * `limits` are the parameters for this call (a tier, or the limiter's current configuration).
 */
export function takeCall(
  limits: RateLimitAlgorithm,
  prefix: string,
  key: string,
  cost: number,
  consume: boolean,
  nowUs: number,
  originSeconds: number,
): ScriptCall {
  const kind = limits.config.kind;
  const p = limitArgs(limits);
  return {
    script: TAKE_SCRIPTS[kind],
    keys: keysFor(kind, prefix, key),
    args: [nowUs, originSeconds, cost, consume && cost > 0 ? 1 : 0, p[0], p[1], p[2], p[3]],
  };
}

/** The call for one refund of up to `cost` units (atomic; never beyond full). Replies like a peek after it. */
export function refundCall(
  limits: RateLimitAlgorithm,
  prefix: string,
  key: string,
  cost: number,
  nowUs: number,
  originSeconds: number,
): ScriptCall {
  const kind = limits.config.kind;
  const p = limitArgs(limits);
  return {
    script: REFUND_SCRIPTS[kind],
    keys: keysFor(kind, prefix, key),
    args: [nowUs, originSeconds, cost, 0, p[0], p[1], p[2], p[3]],
  };
}

/**
 * The `timeOriginSeconds` rule: an integer number of epoch seconds, not after now (a future origin makes
 * Redis time negative, and every decision would fail). Returns it, or throws a RangeError naming the option.
 */
export function checkTimeOriginSeconds(where: string, value: unknown, nowMs: number = Date.now()): number {
  const origin = checkCount(where, 'timeOriginSeconds', value, 0);
  if (origin > nowMs / 1000) {
    throw new RangeError(
      `${where}: option "timeOriginSeconds" must not be in the future (now is ${Math.floor(nowMs / 1000)} s since the epoch), got ${show(value)}`,
    );
  }
  return origin;
}

/** A script that does nothing but answer: the floor the benchmarks compare against. */
export const NOOP_LUA = `return 1`;
