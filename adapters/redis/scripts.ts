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
 *     weir_<kind>(keyA, keyB, now, cost, write, p1, p2, p3, p4) -> allowed, never, remaining, waitUs, fullUs
 *
 * - keyA: the state key; keyB: the sliding log's total key (nil for the other algorithms).
 * - now: µs since the time origin (set by {@link LUA_NOW}); cost: an integer >= 0; write: a
 *   boolean, true when an allowed take saves its state (consume and cost > 0).
 * - p1..p4: the algorithm's integer parameters ({@link limitArgs}); they travel with every call, so one
 *   store serves keys with different limits (tiers) and a reconfigured limiter needs no new script.
 * - It returns a StepResult's decision fields as five numbers (no table: a batch writes them straight into
 *   its reply), or nil and a `redis.error_reply` table.
 *
 * Refunds have the same shape (`weir_<kind>_refund(keyA, keyB, now, cost, p1..p4)`, replying like a peek
 * after the refund): they give back up to `cost` units, never beyond full.
 *
 * Arguments: one binary string per decision, eight little-endian doubles (nowUs or -1, origin, cost, write
 * 1/0, p1..p4; {@link packArgs}), read with `struct.unpack`. Redis's Lua pays about 1 300 instructions per
 * argument and 1 600 per `tonumber`, so eight text arguments cost more than the decision itself.
 *
 * State encodings (fresh state = absent key = all zeros, as in the steps): the fixed-size algorithms keep a
 * string of a version byte (1) and doubles, `struct.pack('<Bdd', 1, deficit, lastUs)` for the token bucket,
 * `'<Bd'` tat for GCRA, `'<Bddd'` window index, previous and current count for the counter (a state of any
 * other shape is an error reply, never read as numbers); the sliding log a ZSET of "timeUs:seq:cost"
 * members scored by timeUs, plus a string key with their total. Every write sets a TTL of
 * ceil(fullUs / 1000) ms (>= 1: an allowed write always leaves fullUs > 0), so a key disappears when its
 * state is back to full. Text numbers (TTLs, the log) are written with `%d` or `%.0f` (exact for integers
 * below 2^53), never with Lua's `tostring`, which keeps only 14 significant digits.
 */

import { checkCount, show } from '../../src/core/validate.js';
import { storedKey } from '../../src/rate-limit/keys.js';
import { REFUND_FRAGMENTS } from '../../src/rate-limit/lua/refunds.js';
import {
  GCRA_FN,
  LUA_ARITHMETIC,
  LUA_NOW,
  LUA_PRELUDE,
  SLIDING_COUNTER_FN,
  SLIDING_LOG_FN,
  TOKEN_BUCKET_FN,
} from '../../src/rate-limit/lua/steps.js';
import type { RateLimitAlgorithm } from '../../src/rate-limit/store.js';
import { LOG_TOTAL_SUFFIX, stateKey } from './keys.js';

export { LUA_ARITHMETIC, LUA_NOW, LUA_PRELUDE };

export type AlgorithmKind = RateLimitAlgorithm['config']['kind'];

/** One algorithm's Lua decision: a fragment defining `fn` (and `refundFn`), and how many keys it reads. */
export interface LuaAlgorithm {
  /** Lua source defining `fn` as a local; include it after {@link LUA_PRELUDE}. */
  readonly fragment: string;
  /** Lua source defining `refundFn`; include it after {@link LuaAlgorithm.fragment}. */
  readonly refundFragment: string;
  /** The decision function's name. */
  readonly fn: string;
  /** The refund function's name. */
  readonly refundFn: string;
  /** 1, or 2 for the sliding log (state and total). */
  readonly keyCount: 1 | 2;
}

export const LUA_ALGORITHMS: Readonly<Record<AlgorithmKind, LuaAlgorithm>> = Object.freeze({
  'token-bucket': {
    fragment: TOKEN_BUCKET_FN,
    refundFragment: REFUND_FRAGMENTS['token-bucket'],
    fn: 'weir_token_bucket',
    refundFn: 'weir_token_bucket_refund',
    keyCount: 1,
  },
  gcra: { fragment: GCRA_FN, refundFragment: REFUND_FRAGMENTS.gcra, fn: 'weir_gcra', refundFn: 'weir_gcra_refund', keyCount: 1 },
  'sliding-window-counter': {
    fragment: SLIDING_COUNTER_FN,
    refundFragment: REFUND_FRAGMENTS['sliding-window-counter'],
    fn: 'weir_sliding_counter',
    refundFn: 'weir_sliding_counter_refund',
    keyCount: 1,
  },
  'sliding-window-log': {
    fragment: SLIDING_LOG_FN,
    refundFragment: REFUND_FRAGMENTS['sliding-window-log'],
    fn: 'weir_sliding_log',
    refundFn: 'weir_sliding_log_refund',
    keyCount: 2,
  },
});

/**
 * A single-decision script. Calling convention: KEYS[1] (and KEYS[2] for the log); ARGV[1] the packed
 * arguments ({@link packArgs}: nowUs or -1 for Redis `TIME`, the time origin in epoch seconds, cost, 1 when
 * the take writes, the parameters). Replies `{ allowed, never, remaining, waitUs, fullUs }`.
 */
function takeScriptOf(kind: AlgorithmKind, baked?: BakedLimits): string {
  const a = LUA_ALGORITHMS[kind];
  return `${LUA_PRELUDE}${a.fragment}
${luaArgs(baked)}
${LUA_NOW}local r1, r2, r3, r4, r5 = ${a.fn}(KEYS[1], KEYS[2], now, cost, write == 1, p1, p2, p3, p4)
if not r1 then return r2 end
${luaReply('return')}
`;
}

/**
 * Statements that reply the decision r1..r5: an allowed one whose remaining is below 2^21 and fullUs below
 * 2^32 as the one integer fullUs * 2^21 + remaining (exact: below 2^53), anything else as the table
 * { allowed, never, remaining, waitUs, fullUs }. A table costs Redis about 7 000 instructions to reply and a
 * client up to 15 000 to parse (ioredis), an integer almost nothing: most decisions are allowed ones.
 * `to` is what receives the reply (`return`, or `out[i] =` in a batch).
 */
function luaReply(to: string): string {
  return `if r1 == 1 and r2 == 0 and r4 == 0 and r3 >= 0 and r3 < ${PACKED_REMAINING} and r5 < 4294967296 then
  ${to} r5 * ${PACKED_REMAINING} + r3
else
  ${to} { r1, r2, r3, r4, r5 }
end`;
}

/**
 * Limits and time origin written into a script's text: a take of cost 1 on them then needs no argument at
 * all (arguments are dear on both sides: about 1 300 instructions each in Redis, and ioredis sends any
 * binary argument through a slower path costing it about 14 000 more per command).
 */
export interface BakedLimits {
  readonly origin: number;
  readonly p: readonly [number, number, number, number];
}

/**
 * The statement that sets nowArg, origin, cost, write and p1..p4 from ARGV[1] ({@link packArgs}); in a
 * script with baked limits, from the text when ARGV is empty (a take of cost 1 on Redis `TIME`).
 */
function luaArgs(baked: BakedLimits | undefined): string {
  const unpack = `nowArg, origin, cost, write, p1, p2, p3, p4 = sunpack('<dddddddd', ARGV[1])`;
  if (baked === undefined) return `local ${unpack}`;
  const n = (v: number): string => {
    if (!Number.isSafeInteger(v)) throw new RangeError(`redisStore: cannot write ${v} into a script`);
    return String(v);
  };
  const p = baked.p;
  return `local nowArg, origin, cost, write, p1, p2, p3, p4 = -1, ${n(baked.origin)}, 1, 1, ${n(p[0])}, ${n(p[1])}, ${n(p[2])}, ${n(p[3])}
if ARGV[1] then ${unpack} end`;
}

/** The packed reply of an allowed decision is fullUs * PACKED_REMAINING + remaining ({@link stepOf}). */
export const PACKED_REMAINING = 2_097_152;

/** A refund script: the take script's convention (the write flag is ignored). */
function refundScriptOf(kind: AlgorithmKind): string {
  const a = LUA_ALGORITHMS[kind];
  return `${LUA_PRELUDE}${a.fragment}${a.refundFragment}
local nowArg, origin, cost, write, p1, p2, p3, p4 = sunpack('<dddddddd', ARGV[1])
${LUA_NOW}local r1, r2, r3, r4, r5 = ${a.refundFn}(KEYS[1], KEYS[2], now, cost, p1, p2, p3, p4)
if not r1 then return r2 end
${luaReply('return')}
`;
}

/**
 * A take script with `limits` and `originSeconds` written into it: called with no argument it takes 1
 * unit on Redis `TIME`; with ARGV[1] ({@link packArgs} for the same limits and origin) it is the generic
 * script.
 */
export function bakedTakeScript(limits: RateLimitAlgorithm, originSeconds: number): string {
  return takeScriptOf(limits.config.kind, { origin: originSeconds, p: limitArgs(limits) });
}

/** The batch script with `limits` and `originSeconds` written into it (ARGV empty: every take of cost 1). */
export function bakedBatchScript(limits: RateLimitAlgorithm, originSeconds: number): string {
  return batchScript(limits.config.kind, { origin: originSeconds, p: limitArgs(limits) });
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
 * A batch script for one algorithm: KEYS holds `keyCount` keys per decision, ARGV one packed argument
 * string per decision (the single call's, {@link packArgs}; the batch takes nowUs and the origin from the
 * first). Replies one slot per decision, in order: the single call's reply (an integer or a table), or the
 * error message (a string) of a decision that failed (it fails alone); all decisions of a batch read the
 * same `TIME`. Consecutive decisions with the same arguments (the same limits and cost: Lua strings are
 * interned, so comparing them is one pointer compare) unpack them once. With baked limits
 * ({@link bakedBatchScript}) ARGV may be empty: every decision is then a take of cost 1.
 */
export function batchScript(kind: AlgorithmKind, baked?: BakedLimits): string {
  const a = LUA_ALGORITHMS[kind];
  const keyA = a.keyCount === 2 ? 'KEYS[2 * i - 1]' : 'KEYS[i]';
  const keyB = a.keyCount === 2 ? 'KEYS[2 * i]' : 'nil';
  return `${LUA_PRELUDE}${a.fragment}
${luaArgs(baked)}
${LUA_NOW}local out, last = {}, ARGV[1]
for i = 1, #KEYS${a.keyCount === 2 ? ' / 2' : ''} do
  local packed = ARGV[i]
  if packed ~= last then
    nowArg, origin, cost, write, p1, p2, p3, p4 = sunpack('<dddddddd', packed)
    last = packed
  end
  local r1, r2, r3, r4, r5 = ${a.fn}(${keyA}, ${keyB}, now, cost, write == 1, p1, p2, p3, p4)
  if not r1 then
    out[i] = r2.err
  else
    ${luaReply('out[i] =')}
  end
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
  /** One packed argument string ({@link packArgs}). */
  readonly args: Buffer[];
}

/**
 * The arguments of one decision as the scripts read them: eight little-endian doubles (nowUs or -1, the
 * origin in epoch seconds, cost, 1 when an allowed take writes, p1..p4), one binary string. Every value
 * is an integer below 2^53, so doubles carry it exactly.
 */
export function packArgs(
  nowUs: number,
  originSeconds: number,
  cost: number,
  write: boolean,
  p: readonly [number, number, number, number],
): Buffer {
  const b = Buffer.allocUnsafe(64);
  b.writeDoubleLE(nowUs, 0);
  b.writeDoubleLE(originSeconds, 8);
  b.writeDoubleLE(cost, 16);
  b.writeDoubleLE(write ? 1 : 0, 24);
  b.writeDoubleLE(p[0], 32);
  b.writeDoubleLE(p[1], 40);
  b.writeDoubleLE(p[2], 48);
  b.writeDoubleLE(p[3], 56);
  return b;
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
  return {
    script: TAKE_SCRIPTS[kind],
    keys: keysFor(kind, prefix, key),
    args: [packArgs(nowUs, originSeconds, cost, consume && cost > 0, limitArgs(limits))],
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
  return {
    script: REFUND_SCRIPTS[kind],
    keys: keysFor(kind, prefix, key),
    args: [packArgs(nowUs, originSeconds, cost, false, limitArgs(limits))],
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
