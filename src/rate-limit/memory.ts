/**
 * The memory store: per-process, bounded in keys and in key bytes, no timers, and flood-safe: evicting a
 * key never gives its usage back. One instance may serve many limiters (one table each).
 *
 * Two generations (a cheap, O(1) approximation of LRU): new and written keys go into the current
 * generation; when it holds maxKeys / 2 keys, or when the longest refill period has passed since the last
 * rotation, the previous generation is dropped and the current one becomes the previous. A key found in
 * the previous generation moves to the current one when it is written.
 *
 * - Memory: at most maxKeys keys, each at most {@link MAX_KEY_LENGTH} UTF-16 units (longer keys are stored
 *   by digest, keys.ts). Fixed-size states live in a Float64Array per generation, not in an object per key.
 * - Idle expiry without timers: a key rotated out by time was last written at least a full refill period
 *   ago, so its state was back to full and forgetting it changes no decision.
 * - Size eviction (more keys active within one refill period than maxKeys / 2): the dropped keys' usage
 *   folds into a small count-min sketch (two rows of cells indexed by a hash of the key, each cell holding
 *   the most used state folded into it). A key that is in neither generation starts from the least used
 *   of its two cells instead of from full. Every cell dominates every key folded into it, so the estimate
 *   is never less used than the key really is: flooding the table with unique keys never raises another
 *   key's remaining budget. The price is the other way: while evicted usage is live (at most one refill
 *   period after the last eviction), a key never seen before may start partly or fully used if both its
 *   cells hold other keys' usage. After a quiet period the sketch clears itself. `evictions` counts the
 *   folded keys; size `maxKeys` above twice the keys active within one refill period and it stays 0.
 */
import type { Clock } from '../core/clock.js';
import { checkInteger, checkOptions } from '../core/validate.js';
import { type SlidingLogConfig, StepResult, slidingLogStep } from './algorithms.js';
import { storedKey } from './keys.js';
import { gcraRefund, type MutableLog, slidingCounterRefund, slidingLogRefund, tokenBucketRefund } from './refunds.js';
import { FloodSketch } from './sketch.js';
import {
  allowedDecision,
  type BoundRateLimitStore,
  type RateLimitAlgorithm,
  type RateLimitDecision,
  type RateLimitStore,
  refusedDecision,
  resetAfterMsOf,
  runFixedStep,
  toDecision,
} from './store.js';

export interface MemoryStoreOptions {
  /** Most keys kept per limiter (default 100 000, at least 2). */
  maxKeys?: number;
}

export interface MemoryRateLimitStore extends RateLimitStore {
  readonly maxKeys: number;
}

/** A sliding log's mutable state (the store's side of `LogView`). */
export class Log implements MutableLog {
  times: number[] = [];
  costs: number[] = [];
  head = 0;
  total = 0;
}

/** Fresh fixed-size state (read only), a typed array like every stored state so that the step's reads stay monomorphic. */
const ZEROS = new Float64Array(3);
const EMPTY_LOG: Log = new Log();

export class MemoryTable implements BoundRateLimitStore {
  private readonly half: number;
  private readonly width: number;
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
  /** The longest refill period of any limits this table has decided with (tiers, reconfigurations). */
  private fullAfterUs: number;
  private readonly sketch: FloodSketch;
  /** Scratch state for a key estimated from the sketch. */
  private readonly estimate = new Float64Array(3);
  private readonly estimateLog = new Log();
  /** Keys dropped by the size bound while they could still hold usage (folded into the sketch). */
  evictions = 0;
  readonly takeSync: (key: string, cost: number, consume: boolean, limits?: RateLimitAlgorithm) => RateLimitDecision;
  readonly refundSync: (key: string, cost: number, limits?: RateLimitAlgorithm) => RateLimitDecision;

  constructor(
    private readonly algorithm: RateLimitAlgorithm,
    private readonly clock: Clock,
    maxKeys: number,
  ) {
    this.half = Math.floor(maxKeys / 2);
    this.width = algorithm.stateSize;
    this.fullAfterUs = algorithm.fullAfterUs;
    this.origin = clock.now();
    const initial = Math.min(this.half, 1024) * this.width;
    this.curNums = new Float64Array(initial);
    this.prevNums = new Float64Array(initial);
    this.sketch = new FloodSketch(algorithm.config.kind, this.half);
    this.takeSync = (key, cost, consume, limits = this.algorithm) => {
      const verdict = this.admitSync(key, cost, consume, limits);
      return typeof verdict === 'number' ? allowedDecision(limits, this.step) : verdict;
    };
    this.refundSync = (key, cost, limits = this.algorithm) => {
      this.giveBack(key, cost, limits);
      return toDecision(limits, this.step);
    };
  }

  /** Keys held (both generations; a key moved forward may count twice until the next rotation). */
  get size(): number {
    return this.cur.size + this.prev.size;
  }

  take(key: string, cost: number, consume: boolean, limits?: RateLimitAlgorithm): Promise<RateLimitDecision> {
    return Promise.resolve(this.takeSync(key, cost, consume, limits));
  }

  refund(key: string, cost: number, limits?: RateLimitAlgorithm): Promise<RateLimitDecision> {
    return Promise.resolve(this.refundSync(key, cost, limits));
  }

  /** Forgets `key`'s usage in the table (usage folded into the sketch by a flood stays there, conservatively). */
  reset(key: string): Promise<void> {
    this.forget(storedKey(key));
    return Promise.resolve();
  }

  /** The decision of the last {@link admitSync} that answered with a number (allowed), decided under `limits`. */
  allowedDecision(limits: RateLimitAlgorithm): RateLimitDecision {
    return allowedDecision(limits, this.step);
  }

  /** `resetAfterMs` of the last {@link admitSync} that answered with a number, as its decision says. */
  allowedResetAfterMs(): number {
    return resetAfterMsOf(this.step);
  }

  /** {@link admitSync}, with the step's whole result: it is in `this.step` after a take. */
  decide(key: string, cost: number, consume: boolean, limits: RateLimitAlgorithm = this.algorithm): StepResult {
    this.admitSync(key, cost, consume, limits);
    return this.step;
  }

  /**
   * Runs the step for `key` and saves its state when allowed (the step's result is in `this.step`); returns
   * the units left when allowed, else the refused decision.
   *
   * Every case in one function, on purpose. A function this size is above V8's inlining size limit, so it is
   * compiled on its own, with its common path's callees (the clock, the step, the save) inlined in it, and a
   * caller (the policy's path, an HTTP adapter's) pays one call for the whole decision while keeping its own
   * inlining budget. Split into small parts, the decision was inlined into its callers piecemeal, and the
   * parts that no longer fit were called one by one (70 to 220 instructions more per admitted call of the
   * `rateLimit` policy, by call form, measured).
   */
  admitSync(
    key: string,
    cost: number,
    consume: boolean,
    limits: RateLimitAlgorithm = this.algorithm,
  ): number | RateLimitDecision {
    const now = this.tick(limits);
    key = storedKey(key);
    const step = this.step;
    // `=== true`: a boolean test V8 compiles to one comparison (truthiness of an untyped value is six).
    const write = consume === true && cost > 0;
    const width = this.width;
    if (width === 0) {
      // The sliding log: a list per key, in either generation, or estimated from the sketch.
      const config = limits.config as SlidingLogConfig;
      let slot = this.cur.get(key);
      let log: Log | undefined;
      if (slot !== undefined) log = this.curLogs[slot];
      else {
        const old = this.prev.get(key);
        if (old !== undefined) log = this.prevLogs[old];
      }
      const estimate = log === undefined && this.sketch.live(now) ? this.estimatedLog(key, now) : undefined;
      slidingLogStep(log ?? estimate ?? EMPTY_LOG, now, cost, config, step);
      if (step.allowed && write) {
        if (slot === undefined) {
          slot = this.insert(key, now);
          if (log === undefined) log = estimate === undefined ? new Log() : copyLog(estimate);
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
      }
    } else {
      // The key's state: in the current generation, the previous one, or neither (then fresh, or the
      // sketch's estimate). One call of the step for all three keeps its call site as hot as the entry.
      const slot = this.cur.get(key);
      let nums: Float64Array;
      let at: number;
      if (slot !== undefined) {
        nums = this.curNums;
        at = slot * width;
      } else {
        const old = this.prev.get(key);
        if (old !== undefined) {
          nums = this.prevNums;
          at = old * width;
        } else {
          nums = this.estimated(key, now, limits);
          at = 0;
        }
      }
      runFixedStep(limits.config, nums, at, now, cost, step);
      if (step.allowed && write) {
        if (slot === undefined) at = this.insert(key, now) * width; // may rotate or grow: read curNums after it
        this.save(this.curNums, at);
      }
    }
    // One return for every case, written here rather than in a helper: code in this function's own body
    // costs none of V8's inlining budget, which its callees (the clock, the step, the save) need.
    return step.allowed ? Math.max(step.remaining, 0) : refusedDecision(limits, step);
  }

  /**
   * Gives back up to `cost` units of `key`'s usage (a refund step); the result is in `this.step`. A state
   * full under the refund's limits is dropped, as the Redis twin deletes it.
   */
  giveBack(key: string, cost: number, limits: RateLimitAlgorithm = this.algorithm): StepResult {
    const now = this.tick(limits);
    key = storedKey(key);
    const step = this.step;
    const config = limits.config;
    const inCur = this.cur.get(key);
    const inPrev = inCur === undefined ? this.prev.get(key) : undefined;
    if (config.kind === 'sliding-window-log') {
      const log = inCur !== undefined ? this.curLogs[inCur] : inPrev !== undefined ? this.prevLogs[inPrev] : undefined;
      const target = log ?? copyLog(this.estimatedLog(key, now));
      slidingLogRefund(target, now, cost, config, step);
      if (step.fullUs === 0) this.forget(key);
      else if (inCur === undefined) {
        const slot = this.insert(key, now); // may rotate: read curLogs after it
        this.curLogs[slot] = target;
      }
      return step;
    }
    const width = this.width;
    const nums = inCur !== undefined ? this.curNums : inPrev !== undefined ? this.prevNums : this.estimated(key, now, limits);
    const at = inCur !== undefined ? inCur * width : inPrev !== undefined ? inPrev * width : 0;
    switch (config.kind) {
      case 'token-bucket':
        tokenBucketRefund(nums[at] as number, nums[at + 1] as number, now, cost, config, step);
        break;
      case 'gcra':
        gcraRefund(nums[at] as number, now, cost, config, step);
        break;
      default:
        slidingCounterRefund(nums[at] as number, nums[at + 1] as number, nums[at + 2] as number, now, cost, config, step);
    }
    if (step.fullUs === 0) this.forget(key);
    else if (inCur !== undefined) this.save(this.curNums, at);
    else {
      const to = this.insert(key, now) * width; // may rotate or grow: read curNums after it
      this.save(this.curNums, to);
    }
    return step;
  }

  private forget(key: string): void {
    this.cur.delete(key);
    this.prev.delete(key);
  }

  /**
   * The time now, in integer µs since the store's creation (never negative: clocks are monotonic), after a
   * rotation by idle time if one is due.
   */
  private tick(limits: RateLimitAlgorithm): number {
    if (limits.fullAfterUs > this.fullAfterUs) this.fullAfterUs = limits.fullAfterUs;
    const now = Math.floor((this.clock.now() - this.origin) * 1000);
    if (now - this.rotatedAt >= this.fullAfterUs) this.rotate(now, false);
    return now;
  }

  /** The state of a key in neither generation: fresh, or the sketch's estimate while evicted usage is live. */
  private estimated(key: string, now: number, limits: RateLimitAlgorithm): Float64Array {
    if (!this.sketch.live(now)) return ZEROS;
    this.sketch.estimate(key, now, limits.config, this.estimate);
    return this.estimate;
  }

  private estimatedLog(key: string, now: number): Log {
    const log = this.estimateLog;
    log.times.length = 0;
    log.costs.length = 0;
    log.head = 0;
    log.total = 0;
    if (this.sketch.live(now)) this.sketch.estimateLog(key, log);
    return log;
  }

  private save(nums: Float64Array, at: number): void {
    const step = this.step;
    nums[at] = step.s0;
    if (this.width > 1) {
      nums[at + 1] = step.s1;
      if (this.width > 2) nums[at + 2] = step.s2;
    }
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

  /**
   * Drops the previous generation. By idle time, every key in it was last written before the last rotation,
   * a full period ago, so it is full. By size, its keys may hold usage: they fold into the sketch first.
   */
  private rotate(now: number, bySize: boolean): void {
    if (bySize && this.prev.size > 0)
      this.evictions += this.sketch.fold(this.prev, this.prevNums, this.prevLogs, now, this.fullAfterUs);
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

function copyLog(from: Log): Log {
  const log = new Log();
  log.times = from.times.slice(from.head);
  log.costs = from.costs.slice(from.head);
  log.total = from.total;
  return log;
}

/** The default store: per-process, bounded, no timers. One instance may serve many limiters (one table each). */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  checkOptions('memoryStore', options, ['maxKeys']);
  const maxKeys = options.maxKeys === undefined ? 100_000 : checkInteger('memoryStore', 'maxKeys', options.maxKeys, 2);
  return {
    maxKeys,
    bind: (algorithm, clock) => new MemoryTable(algorithm, clock, maxKeys),
  };
}
