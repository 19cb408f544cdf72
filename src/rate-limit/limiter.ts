/**
 * Limiter factories: `tokenBucket`, `slidingWindow`, `gcra`. Each validates its configuration into the
 * integer form the pure steps use (algorithms.ts), binds it to a store (the memory store by default) and
 * returns a {@link RateLimiter}.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { checkClock, checkInteger, checkOneOf, checkOptions, checkPositive, show } from '../core/validate.js';
import { MAX_SAFE, normalizeRate } from './algorithms.js';
import {
  type AlgorithmConfig,
  type BoundRateLimitStore,
  memoryStore,
  type RateLimitAlgorithm,
  type RateLimitDecision,
  type RateLimitStore,
} from './store.js';

/** The key used when `take`, `peek` or `reset` get none. */
export const DEFAULT_KEY = 'default';

export interface RateLimiter {
  readonly algorithm: RateLimitAlgorithm;
  readonly clock: Clock;
  /** capacity, burst, or limit: the largest cost that can ever pass. */
  readonly limit: number;
  /** Takes `cost` (default 1) units for `key` if they are available now; a refused take consumes nothing. */
  take(key?: string, cost?: number): Promise<RateLimitDecision>;
  /** Whether `take(key, cost)` would be allowed now, without consuming; `remaining` is what is left now. */
  peek(key?: string, cost?: number): Promise<RateLimitDecision>;
  /** Forgets `key`'s usage: it is full again. */
  reset(key?: string): Promise<void>;
  /** `take` without a promise; present only when the store answers without I/O (the memory store). */
  readonly takeSync: ((key?: string, cost?: number) => RateLimitDecision) | undefined;
  /** @internal The bound store (the policy uses its sync path). */
  readonly bound: BoundRateLimitStore;
}

interface CommonOptions {
  /** Where state lives (default: a new `memoryStore()`). */
  store?: RateLimitStore;
  clock?: Clock;
}

export interface TokenBucketOptions extends CommonOptions {
  /** Tokens in a full bucket: the largest burst, and the largest cost that can pass. A positive integer. */
  capacity: number;
  /** Tokens added per second, continuously. */
  refillPerSecond: number;
}

export interface SlidingWindowOptions extends CommonOptions {
  /** Units allowed per window. A positive integer. */
  limit: number;
  windowMs: number;
  /** `'log'` (default): exact, O(limit) memory per key. `'counter'`: two counters per key, approximate. */
  mode?: 'log' | 'counter';
}

export interface GcraOptions extends CommonOptions {
  ratePerSecond: number;
  /** Requests that may pass at once (GCRA with τ = burst × T; redis-cell's max_burst is burst − 1). */
  burst: number;
}

export function checkKey(where: string, key: unknown): string {
  if (key === undefined) return DEFAULT_KEY;
  if (typeof key !== 'string') throw new TypeError(`${where}: key must be a string, got ${show(key)}`);
  return key;
}

export function checkCost(where: string, cost: unknown): number {
  if (cost === undefined) return 1;
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 0) {
    throw new RangeError(`${where}: cost must be an integer >= 0, got ${show(cost)}`);
  }
  return cost;
}

function windowUs(where: string, windowMs: unknown): number {
  const ms = checkPositive(where, 'windowMs', windowMs);
  const us = Math.round(ms * 1000);
  if (us < 1 || us > MAX_SAFE / 4)
    throw new RangeError(`${where}: option "windowMs" must be between 0.001 and 2^51 µs, got ${ms}`);
  return us;
}

function createLimiter(where: string, algorithm: RateLimitAlgorithm, options: CommonOptions): RateLimiter {
  const clock = options.clock === undefined ? systemClock : checkClock(where, options.clock);
  const store = options.store ?? memoryStore();
  if (typeof (store as Partial<RateLimitStore> | null)?.bind !== 'function') {
    throw new TypeError(`${where}: option "store" must be a rate-limit store (with bind), got ${show(store)}`);
  }
  const bound = store.bind(algorithm, clock);
  const sync = bound.takeSync;
  const take = (key?: string, cost?: number): Promise<RateLimitDecision> => {
    try {
      return bound.take(checkKey('take', key), checkCost('take', cost), true);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return Object.freeze({
    algorithm,
    clock,
    limit: algorithm.limit,
    bound,
    take,
    async peek(key?: string, cost?: number): Promise<RateLimitDecision> {
      const k = checkKey('peek', key);
      const c = checkCost('peek', cost);
      const [wanted, now] = await Promise.all([bound.take(k, c, false), bound.take(k, 0, false)]);
      return { ...wanted, remaining: now.remaining, resetAfterMs: now.resetAfterMs };
    },
    reset(key?: string): Promise<void> {
      try {
        return bound.reset(checkKey('reset', key));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    takeSync:
      sync === undefined
        ? undefined
        : (key?: string, cost?: number) => sync(checkKey('takeSync', key), checkCost('takeSync', cost), true),
  });
}

function algorithmOf(config: AlgorithmConfig, limit: number, stateSize: number, fullAfterUs: number): RateLimitAlgorithm {
  return Object.freeze({ config: Object.freeze(config), limit, stateSize, fullAfterUs });
}

/** A token bucket of `capacity` tokens refilled continuously at `refillPerSecond` (exact integer arithmetic). */
export function tokenBucket(options: TokenBucketOptions): RateLimiter {
  const where = 'tokenBucket';
  checkOptions(where, options, ['capacity', 'refillPerSecond', 'store', 'clock']);
  if (options === undefined) throw new TypeError(`${where}: options are required`);
  const capacity = checkInteger(where, 'capacity', options.capacity, 1);
  const perSecond = checkPositive(where, 'refillPerSecond', options.refillPerSecond);
  const { unitsPerUs, unitsPerToken } = normalizeRate(where, 'refillPerSecond', perSecond, capacity);
  const capacityUnits = capacity * unitsPerToken;
  const config = { kind: 'token-bucket', capacity, unitsPerToken, unitsPerUs, capacityUnits } as const;
  return createLimiter(where, algorithmOf(config, capacity, 2, Math.ceil(capacityUnits / unitsPerUs)), options);
}

/** GCRA: the token bucket's behaviour with one number of state per key. */
export function gcra(options: GcraOptions): RateLimiter {
  const where = 'gcra';
  checkOptions(where, options, ['ratePerSecond', 'burst', 'store', 'clock']);
  if (options === undefined) throw new TypeError(`${where}: options are required`);
  const burst = checkInteger(where, 'burst', options.burst, 1);
  const perSecond = checkPositive(where, 'ratePerSecond', options.ratePerSecond);
  const { unitsPerUs, unitsPerToken } = normalizeRate(where, 'ratePerSecond', perSecond, burst);
  const toleranceTicks = burst * unitsPerToken;
  const config = { kind: 'gcra', burst, ticksPerUs: unitsPerUs, intervalTicks: unitsPerToken, toleranceTicks } as const;
  return createLimiter(where, algorithmOf(config, burst, 1, Math.ceil(toleranceTicks / unitsPerUs)), options);
}

/** At most `limit` units in any `windowMs` (mode `'log'`, exact), or approximately so (mode `'counter'`). */
export function slidingWindow(options: SlidingWindowOptions): RateLimiter {
  const where = 'slidingWindow';
  checkOptions(where, options, ['limit', 'windowMs', 'mode', 'store', 'clock']);
  if (options === undefined) throw new TypeError(`${where}: options are required`);
  const limit = checkInteger(where, 'limit', options.limit, 1);
  const us = windowUs(where, options.windowMs);
  const mode = options.mode === undefined ? 'log' : checkOneOf(where, 'mode', options.mode, ['log', 'counter'] as const);
  if (mode === 'counter') {
    if (3 * limit * us > MAX_SAFE) {
      throw new RangeError(
        `${where}: limit × windowMs is too large for exact counter arithmetic (limit ${limit}, windowMs ${us / 1000})`,
      );
    }
    const config = { kind: 'sliding-window-counter', limit, windowUs: us } as const;
    return createLimiter(where, algorithmOf(config, limit, 3, 2 * us), options);
  }
  const config = { kind: 'sliding-window-log', limit, windowUs: us } as const;
  return createLimiter(where, algorithmOf(config, limit, 0, us), options);
}
