/**
 * Where limiters keep per-key state.
 *
 * The store interface (what a Redis store implements as well):
 *
 *     interface RateLimitStore {
 *       bind(algorithm: RateLimitAlgorithm, clock: Clock): BoundRateLimitStore;   // once per limiter
 *     }
 *     interface BoundRateLimitStore {
 *       take(key, cost, consume): Promise<StepResult-shaped Decision>;   // always present
 *       takeSync?(key, cost, consume): RateLimitDecision;                // optional synchronous fast path
 *       reset(key): Promise<void>;
 *     }
 *
 * - `take` loads the key's state, runs `algorithm.config`'s pure step (see algorithms.ts) at the store's
 *   own time in integer µs, and saves the step's next state only when the take was allowed, `consume` is
 *   true and `cost > 0`: a rejected take, a peek and a zero-cost take write nothing. It then returns
 *   `toDecision(algorithm, step)`.
 * - A Redis twin runs the same step in Lua: `TIME` (seconds * 1e6 + µs, minus a fixed origin so that GCRA's
 *   `nowUs * ticksPerUs` stays below 2^53), the state as a few numbers (token bucket: deficit, lastUs;
 *   GCRA: tat; counter: index, prev, cur; log: a ZSET of `time:seq:cost` members scored by time), and a
 *   PEXPIRE of `step.fullUs` (rounded up to ms) so that state back to full disappears. Fresh state is all
 *   zeros (an absent key), which is why a store may forget a full key at any time.
 * - `takeSync` exists only when the answer is available without I/O (the memory store); the `rateLimit`
 *   policy uses it when present and stays on the synchronous path when the take is allowed.
 */
import type { Clock } from '../core/clock.js';
import { checkInteger, checkOptions } from '../core/validate.js';
import {
  type GcraConfig,
  gcraStep,
  type SlidingCounterConfig,
  type SlidingLogConfig,
  StepResult,
  slidingCounterStep,
  slidingLogStep,
  type TokenBucketConfig,
  tokenBucketStep,
} from './algorithms.js';

export type AlgorithmConfig = TokenBucketConfig | GcraConfig | SlidingCounterConfig | SlidingLogConfig;

/** Why a take was refused: over the limit for now, or a cost above the limit that can never pass. */
export type RateLimitDecisionReason = 'limit' | 'cost-exceeds-limit';

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** The most a key can take at once: capacity, burst, or limit per window. */
  readonly limit: number;
  /** Whole units left: after this take when allowed, now when refused or peeked. */
  readonly remaining: number;
  /** Exact wait in ms (rounded up) until the same take would be allowed; 0 when allowed; Infinity when never. */
  readonly retryAfterMs: number;
  /** Time in ms (rounded up) until the key is back to full. */
  readonly resetAfterMs: number;
  /** `undefined` when allowed. */
  readonly reason: RateLimitDecisionReason | undefined;
}

/** An algorithm with its validated, integer configuration: what a store needs to run it. */
export interface RateLimitAlgorithm {
  readonly config: AlgorithmConfig;
  /** capacity, burst, or limit. */
  readonly limit: number;
  /** Number of state values per key for fixed-size algorithms; 0 for the sliding log. */
  readonly stateSize: number;
  /** Longest time any state takes to return to full, in µs: a key idle this long holds no information. */
  readonly fullAfterUs: number;
}

export interface BoundRateLimitStore {
  take(key: string, cost: number, consume: boolean): Promise<RateLimitDecision>;
  /** Optional synchronous fast path (no I/O). */
  readonly takeSync?: (key: string, cost: number, consume: boolean) => RateLimitDecision;
  reset(key: string): Promise<void>;
}

export interface RateLimitStore {
  bind(algorithm: RateLimitAlgorithm, clock: Clock): BoundRateLimitStore;
}

export function toDecision(algorithm: RateLimitAlgorithm, step: StepResult): RateLimitDecision {
  return {
    allowed: step.allowed,
    limit: algorithm.limit,
    remaining: step.remaining,
    retryAfterMs: step.allowed ? 0 : step.never ? Number.POSITIVE_INFINITY : Math.ceil(step.waitUs / 1000),
    resetAfterMs: Math.ceil(step.fullUs / 1000),
    reason: step.allowed ? undefined : step.never ? 'cost-exceeds-limit' : 'limit',
  };
}

/** Runs the pure step of a fixed-size algorithm on `state[at..]`. */
export function runFixedStep(
  config: AlgorithmConfig,
  state: ArrayLike<number>,
  at: number,
  nowUs: number,
  cost: number,
  out: StepResult,
): void {
  switch (config.kind) {
    case 'token-bucket':
      tokenBucketStep(state[at] as number, state[at + 1] as number, nowUs, cost, config, out);
      return;
    case 'gcra':
      gcraStep(state[at] as number, nowUs, cost, config, out);
      return;
    case 'sliding-window-counter':
      slidingCounterStep(state[at] as number, state[at + 1] as number, state[at + 2] as number, nowUs, cost, config, out);
      return;
    default:
      throw new TypeError(`runFixedStep: ${config.kind} has no fixed-size state`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The memory store.

export interface MemoryStoreOptions {
  /** Most keys kept per limiter (default 100 000, at least 2). */
  maxKeys?: number;
}

export interface MemoryRateLimitStore extends RateLimitStore {
  readonly maxKeys: number;
}

/** A sliding log's mutable state (the store's side of `LogView`). */
class Log {
  times: number[] = [];
  costs: number[] = [];
  head = 0;
  total = 0;
}

/**
 * Two generations (a cheap, O(1) approximation of LRU, as in express-rate-limit's memory store): new and
 * touched keys go into the current generation; when it holds maxKeys / 2 keys, or when `fullAfterUs` has
 * passed since the last rotation, the previous generation is dropped and the current one becomes the
 * previous. A key found in the previous generation moves to the current one when it is written.
 *
 * - Memory: at most maxKeys keys. Fixed-size states live in a Float64Array per generation (8 bytes per
 *   number), not in an object per key.
 * - Idle expiry without timers: a key rotated out by time was last written at least `fullAfterUs` ago, so
 *   its state was back to full and forgetting it changes no decision.
 * - Size eviction drops keys that may still hold usage (they restart full); size maxKeys above the number
 *   of keys active within one refill period and it never happens. `evictions` counts them.
 */
export class MemoryTable implements BoundRateLimitStore {
  private readonly half: number;
  private readonly width: number;
  private readonly config: AlgorithmConfig;
  private readonly origin: number;
  private readonly step = new StepResult();
  private cur = new Map<string, number>();
  private prev = new Map<string, number>();
  private curNums: Float64Array;
  private prevNums: Float64Array;
  private curLogs: Log[] = [];
  private prevLogs: Log[] = [];
  private rotatedAt = 0;
  /** Slots used in the current generation (a reset key keeps its slot until rotation, so this may exceed cur.size). */
  private curSlots = 0;
  /** Keys dropped by the size bound (not by idle expiry) while possibly not yet full. */
  evictions = 0;
  readonly takeSync: (key: string, cost: number, consume: boolean) => RateLimitDecision;

  constructor(
    private readonly algorithm: RateLimitAlgorithm,
    private readonly clock: Clock,
    maxKeys: number,
  ) {
    this.half = Math.floor(maxKeys / 2);
    this.width = algorithm.stateSize;
    this.config = algorithm.config;
    this.origin = clock.now();
    const initial = Math.min(this.half, 1024) * this.width;
    this.curNums = new Float64Array(initial);
    this.prevNums = new Float64Array(initial);
    this.takeSync = (key, cost, consume) => {
      this.decide(key, cost, consume);
      return toDecision(this.algorithm, this.step);
    };
  }

  /** Keys held (both generations; a key moved forward may count twice until the next rotation). */
  get size(): number {
    return this.cur.size + this.prev.size;
  }

  take(key: string, cost: number, consume: boolean): Promise<RateLimitDecision> {
    return Promise.resolve(this.takeSync(key, cost, consume));
  }

  reset(key: string): Promise<void> {
    this.cur.delete(key);
    this.prev.delete(key);
    return Promise.resolve();
  }

  /** Integer µs since the store's creation (never negative: clocks are monotonic). */
  nowUs(): number {
    return Math.floor((this.clock.now() - this.origin) * 1000);
  }

  /** Runs the step for `key` and saves its state when allowed; the result is in `this.step`. */
  decide(key: string, cost: number, consume: boolean): StepResult {
    const now = this.nowUs();
    if (now - this.rotatedAt >= this.algorithm.fullAfterUs) this.rotateByTime(now);
    const step = this.step;
    const write = consume && cost > 0;
    if (this.width === 0) return this.decideLog(key, now, cost, write);
    const width = this.width;
    let slot = this.cur.get(key);
    if (slot !== undefined) {
      const nums = this.curNums;
      const at = slot * width;
      runFixedStep(this.config, nums, at, now, cost, step);
      if (step.allowed && write) this.save(nums, at);
      return step;
    }
    slot = this.prev.get(key);
    if (slot === undefined) runFixedStep(this.config, ZEROS, 0, now, cost, step);
    else runFixedStep(this.config, this.prevNums, slot * width, now, cost, step);
    if (step.allowed && write) {
      const at = this.insert(key, now) * width; // may rotate or grow: read curNums after it
      this.save(this.curNums, at);
    }
    return step;
  }

  private save(nums: Float64Array, at: number): void {
    const step = this.step;
    nums[at] = step.s0;
    if (this.width > 1) {
      nums[at + 1] = step.s1;
      if (this.width > 2) nums[at + 2] = step.s2;
    }
  }

  private decideLog(key: string, now: number, cost: number, write: boolean): StepResult {
    const step = this.step;
    const config = this.config as SlidingLogConfig;
    let slot = this.cur.get(key);
    let log: Log | undefined;
    if (slot !== undefined) log = this.curLogs[slot];
    else {
      const old = this.prev.get(key);
      if (old !== undefined) log = this.prevLogs[old];
    }
    slidingLogStep(log ?? EMPTY_LOG, now, cost, config, step);
    if (!(step.allowed && write)) return step;
    if (slot === undefined) {
      slot = this.insert(key, now);
      if (log === undefined) log = new Log();
      this.curLogs[slot] = log;
    }
    const target = log as Log;
    for (let i = 0; i < step.drop; i++) target.total -= target.costs[target.head++] as number;
    // Compact once the dropped prefix is as long as what is left: amortized O(1) per entry.
    if (target.head > 32 && target.head * 2 > target.times.length) {
      target.times = target.times.slice(target.head);
      target.costs = target.costs.slice(target.head);
      target.head = 0;
    }
    target.times.push(now);
    target.costs.push(cost);
    target.total += cost;
    return step;
  }

  /** Adds `key` to the current generation (rotating first when it is full); returns its slot. */
  private insert(key: string, now: number): number {
    if (this.curSlots >= this.half) this.rotate(now, true);
    const slot = this.curSlots++;
    this.cur.set(key, slot);
    const need = (slot + 1) * this.width;
    if (need > this.curNums.length) {
      const grown = new Float64Array(Math.min(this.half * this.width, Math.max(need, this.curNums.length * 2)));
      grown.set(this.curNums);
      this.curNums = grown;
    }
    return slot;
  }

  private rotateByTime(now: number): void {
    // Every key in the previous generation was last written before the last rotation, a full period ago.
    this.rotate(now, false);
  }

  private rotate(now: number, bySize: boolean): void {
    if (bySize) this.evictions += this.prev.size;
    this.rotatedAt = now;
    const dropped = this.prev;
    this.prev = this.cur;
    dropped.clear();
    this.cur = dropped;
    this.curSlots = 0;
    const nums = this.prevNums;
    this.prevNums = this.curNums;
    this.curNums = nums;
    this.prevLogs = this.curLogs;
    this.curLogs = [];
  }
}

const ZEROS: readonly number[] = [0, 0, 0];
const EMPTY_LOG: Log = new Log();

/** The default store: per-process, bounded, no timers. One instance may serve many limiters (one table each). */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  checkOptions('memoryStore', options, ['maxKeys']);
  const maxKeys = options.maxKeys === undefined ? 100_000 : checkInteger('memoryStore', 'maxKeys', options.maxKeys, 2);
  return {
    maxKeys,
    bind: (algorithm, clock) => new MemoryTable(algorithm, clock, maxKeys),
  };
}
