/**
 * Limiter factories: `tokenBucket`, `slidingWindow`, `gcra`. Each validates its configuration into the
 * integer form the pure steps use (algorithms.ts), binds it to a store (the memory store by default) and
 * returns a {@link RateLimiter}.
 *
 * Per-key limits: `tiers` names other limits of the same algorithm and `tierOf(key)` picks a key's tier
 * (undefined: the default limits) at each decision, synchronously; the limits travel with the call to the
 * store, so one table (or one Redis prefix) serves every tier. `reconfigure(limits, tier?)` replaces the
 * default limits or one tier's (or adds a tier) while the limiter runs. A key decided under new limits keeps
 * its stored state, read under the new limits and clamped to empty (see docs/rate-limiting.md for what
 * that means per algorithm).
 */
import { type Clock, systemClock } from '../core/clock.js';
import { defineGetters } from '../core/getters.js';
import { policyName } from '../core/names.js';
import { checkClock, checkCount, checkFunction, checkOneOf, checkOptions, checkPositive, show } from '../core/validate.js';
import { MAX_SAFE, normalizeRate } from './algorithms.js';
import { memoryStore } from './memory.js';
import type { AlgorithmConfig, BoundRateLimitStore, RateLimitAlgorithm, RateLimitDecision, RateLimitStore } from './store.js';

/** The key used when `take`, `peek` or `reset` get none. */
export const DEFAULT_KEY = 'default';

export interface RateLimiter {
  /** The limiter's name (option `name`, or `<algorithm>-<n>`), in decisions, events and errors. */
  readonly name: string;
  /** The default limits (the current ones, after `reconfigure`). */
  readonly algorithm: RateLimitAlgorithm;
  readonly clock: Clock;
  /** capacity, burst, or limit of the default limits: the largest cost that can pass for a key without a tier. */
  readonly limit: number;
  /** The limits that decide for `key` now: its tier's, or the default ones. */
  limitsFor(key: string): RateLimitAlgorithm;
  /** Takes `cost` (default 1) units for `key` if they are available now; a refused take consumes nothing. */
  take(key?: string, cost?: number): Promise<RateLimitDecision>;
  /** Whether `take(key, cost)` would be allowed now, without consuming; `remaining` is what is left now. */
  peek(key?: string, cost?: number): Promise<RateLimitDecision>;
  /** Gives back up to `cost` (default 1) units of `key`'s usage, never beyond full; answers like a peek after it. */
  refund(key?: string, cost?: number): Promise<RateLimitDecision>;
  /** Forgets `key`'s usage: it is full again. */
  reset(key?: string): Promise<void>;
  /**
   * Replaces the default limits, or `tier`'s (adding the tier if it is new), from now on. Takes the same
   * options as the factory's limits (e.g. `{ capacity, refillPerSecond }`); the algorithm stays.
   */
  reconfigure(limits: object, tier?: string): void;
  /** `take` without a promise; present only when the store answers without I/O (the memory store). */
  readonly takeSync: ((key?: string, cost?: number) => RateLimitDecision) | undefined;
  /** The limiter's binding to its store: the declared store contract (store.ts). */
  readonly bound: BoundRateLimitStore;
}

interface CommonOptions<Limits> {
  /** Where state lives (default: a new `memoryStore()`). */
  store?: RateLimitStore;
  clock?: Clock;
  /** Shown in decisions, events, errors and metrics (default `<algorithm>-<n>`, unique per process). */
  name?: string;
  /** Other limits by name; `tierOf` picks a key's tier. */
  tiers?: Record<string, Limits>;
  /** A key's tier name, or undefined for the default limits; called at each decision (keep it fast). */
  tierOf?: (key: string) => string | undefined;
}

export interface TokenBucketLimits {
  /** Tokens in a full bucket: the largest burst, and the largest cost that can pass. A positive integer. */
  capacity: number;
  /** Tokens added per second, continuously. */
  refillPerSecond: number;
}

export interface TokenBucketOptions extends TokenBucketLimits, CommonOptions<TokenBucketLimits> {}

export interface SlidingWindowLimits {
  /** Units allowed per window. A positive integer. */
  limit: number;
  windowMs: number;
}

export interface SlidingWindowOptions extends SlidingWindowLimits, CommonOptions<SlidingWindowLimits> {
  /** `'log'` (default): exact, O(limit) memory per key. `'counter'`: two counters per key, approximate. */
  mode?: 'log' | 'counter';
}

export interface GcraLimits {
  ratePerSecond: number;
  /** Requests that may pass at once (GCRA with τ = burst × T; redis-cell's max_burst is burst − 1). */
  burst: number;
}

export interface GcraOptions extends GcraLimits, CommonOptions<GcraLimits> {}

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

/** The one check for "is this a limiter" (the policy, the Redis store's `onError`, the HTTP adapters). */
export function isRateLimiter(value: unknown): value is RateLimiter {
  const v = value as Partial<RateLimiter> | null | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.take === 'function' &&
    typeof v.limitsFor === 'function' &&
    typeof v.limit === 'number' &&
    typeof v.algorithm === 'object' &&
    typeof v.clock?.now === 'function' &&
    typeof v.bound?.take === 'function'
  );
}

/** `value` if it is a limiter, else a TypeError naming `option` of `where`. */
export function checkRateLimiter(where: string, option: string, value: unknown): RateLimiter {
  if (!isRateLimiter(value)) {
    throw new TypeError(`${where}: ${option} must be a rate limiter (tokenBucket, slidingWindow or gcra), got ${show(value)}`);
  }
  return value;
}

function windowUs(where: string, windowMs: unknown): number {
  const ms = checkPositive(where, 'windowMs', windowMs);
  const us = Math.round(ms * 1000);
  if (us < 1 || us > MAX_SAFE / 4)
    throw new RangeError(`${where}: option "windowMs" must be between 0.001 and 2^51 µs, got ${ms}`);
  return us;
}

type Parse = (
  where: string,
  limits: Record<string, unknown>,
  name: string,
  tier: string | undefined,
  /** The default limits' algorithm, whose rate unit other limits keep when they can. */
  base?: RateLimitAlgorithm,
) => RateLimitAlgorithm;

/** The rate unit (µs fixed point) of a token bucket's or GCRA's limits, 0 for the windows. */
function rateUnitOf(base: RateLimitAlgorithm | undefined): number {
  const c = base?.config;
  return c === undefined ? 0 : c.kind === 'token-bucket' ? c.unitsPerUs : c.kind === 'gcra' ? c.ticksPerUs : 0;
}

function algorithmOf(
  config: AlgorithmConfig,
  limit: number,
  stateSize: number,
  fullAfterUs: number,
  name: string,
  tier: string | undefined,
): RateLimitAlgorithm {
  return Object.freeze({ config: Object.freeze(config), limit, stateSize, fullAfterUs, name, tier });
}

const LIMIT_OPTIONS: Record<string, readonly string[]> = {
  tokenBucket: ['capacity', 'refillPerSecond'],
  gcra: ['ratePerSecond', 'burst'],
  slidingWindow: ['limit', 'windowMs'],
};
const COMMON = ['store', 'clock', 'name', 'tiers', 'tierOf'];

function parseTokenBucket(
  where: string,
  o: Record<string, unknown>,
  name: string,
  tier: string | undefined,
  base?: RateLimitAlgorithm,
) {
  const capacity = checkCount(where, 'capacity', o.capacity, 1);
  const perSecond = checkPositive(where, 'refillPerSecond', o.refillPerSecond);
  const { unitsPerUs, unitsPerToken } = normalizeRate(where, 'refillPerSecond', perSecond, capacity, rateUnitOf(base));
  const capacityUnits = capacity * unitsPerToken;
  const config = { kind: 'token-bucket', capacity, unitsPerToken, unitsPerUs, capacityUnits } as const;
  return algorithmOf(config, capacity, 2, Math.ceil(capacityUnits / unitsPerUs), name, tier);
}

function parseGcra(where: string, o: Record<string, unknown>, name: string, tier: string | undefined, base?: RateLimitAlgorithm) {
  const burst = checkCount(where, 'burst', o.burst, 1);
  const perSecond = checkPositive(where, 'ratePerSecond', o.ratePerSecond);
  const { unitsPerUs, unitsPerToken } = normalizeRate(where, 'ratePerSecond', perSecond, burst, rateUnitOf(base));
  const toleranceTicks = burst * unitsPerToken;
  const config = { kind: 'gcra', burst, ticksPerUs: unitsPerUs, intervalTicks: unitsPerToken, toleranceTicks } as const;
  return algorithmOf(config, burst, 1, Math.ceil(toleranceTicks / unitsPerUs), name, tier);
}

function parseWindow(mode: 'log' | 'counter'): Parse {
  return (where, o, name, tier) => {
    const limit = checkCount(where, 'limit', o.limit, 1);
    const us = windowUs(where, o.windowMs);
    if (mode === 'counter') {
      if (3 * limit * us > MAX_SAFE) {
        throw new RangeError(
          `${where}: limit × windowMs is too large for exact counter arithmetic (limit ${limit}, windowMs ${us / 1000})`,
        );
      }
      return algorithmOf({ kind: 'sliding-window-counter', limit, windowUs: us }, limit, 3, 2 * us, name, tier);
    }
    return algorithmOf({ kind: 'sliding-window-log', limit, windowUs: us }, limit, 0, us, name, tier);
  };
}

function createLimiter(
  where: string,
  family: string,
  parse: Parse,
  options: CommonOptions<object>,
  extra: string[] = [],
): RateLimiter {
  if (options === undefined || options === null) throw new TypeError(`${where}: options are required`);
  checkOptions(where, options, [...LIMIT_OPTIONS[where]!, ...COMMON, ...extra]);
  const name = policyName(family, options.name);
  let current = parse(where, options as Record<string, unknown>, name, undefined);
  const limitsOf = (given: unknown, tier: string | undefined): RateLimitAlgorithm => {
    const at = tier === undefined ? where : `${where}: option "tiers", tier ${show(tier)}`;
    if (typeof given !== 'object' || given === null) throw new TypeError(`${at}: limits must be an object, got ${show(given)}`);
    checkOptions(at, given, LIMIT_OPTIONS[where]!);
    return parse(at, given as Record<string, unknown>, name, tier, current);
  };
  const tiers = new Map<string, RateLimitAlgorithm>();
  if (options.tiers !== undefined) {
    if (typeof options.tiers !== 'object' || options.tiers === null) {
      throw new TypeError(`${where}: option "tiers" must be an object of limits by tier name, got ${show(options.tiers)}`);
    }
    for (const [tier, limits] of Object.entries(options.tiers)) tiers.set(tier, limitsOf(limits, tier));
  }
  const tierOf =
    options.tierOf === undefined
      ? undefined
      : checkFunction<(key: string) => string | undefined>(where, 'tierOf', options.tierOf);
  if (tierOf === undefined && tiers.size > 0) throw new TypeError(`${where}: option "tiers" needs "tierOf" to pick a key's tier`);
  const clock = options.clock === undefined ? systemClock : checkClock(where, options.clock);
  const store = options.store ?? memoryStore();
  if (typeof (store as Partial<RateLimitStore> | null)?.bind !== 'function') {
    throw new TypeError(`${where}: option "store" must be a rate-limit store (with bind), got ${show(store)}`);
  }
  const bound = store.bind(current, clock);
  // Without tiers, a one-line function: it is asked on every decision and should inline there.
  const limitsFor =
    tierOf === undefined
      ? (_key: string): RateLimitAlgorithm => current
      : (key: string): RateLimitAlgorithm => {
          const tier = tierOf(key);
          if (tier === undefined) return current;
          const limits = tiers.get(tier);
          if (limits === undefined) {
            throw new RangeError(`${name}: tierOf(${show(key)}) returned an unknown tier ${show(tier)}`);
          }
          return limits;
        };
  const sync = bound.takeSync;
  const take = (key?: string, cost?: number): Promise<RateLimitDecision> => {
    try {
      const k = checkKey('take', key);
      return bound.take(k, checkCost('take', cost), true, limitsFor(k));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return frozenLimiter(() => current, {
    name,
    clock,
    bound,
    limitsFor,
    take,
    async peek(key?: string, cost?: number): Promise<RateLimitDecision> {
      const k = checkKey('peek', key);
      const c = checkCost('peek', cost);
      const limits = limitsFor(k);
      const [wanted, now] = await Promise.all([bound.take(k, c, false, limits), bound.take(k, 0, false, limits)]);
      return { ...wanted, remaining: now.remaining, resetAfterMs: now.resetAfterMs };
    },
    async refund(key?: string, cost?: number): Promise<RateLimitDecision> {
      const k = checkKey('refund', key);
      const c = checkCost('refund', cost);
      if (typeof bound.refund !== 'function') throw new TypeError(`${name}: refund: this limiter's store has no refund`);
      return bound.refund(k, c, limitsFor(k));
    },
    reset(key?: string): Promise<void> {
      try {
        return bound.reset(checkKey('reset', key));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    reconfigure(limits: object, tier?: string): void {
      if (tier === undefined) {
        current = limitsOf(limits, undefined);
        return;
      }
      if (typeof tier !== 'string') throw new TypeError(`${where}: reconfigure: tier must be a string, got ${show(tier)}`);
      if (tierOf === undefined) throw new TypeError(`${where}: reconfigure: tier ${show(tier)} needs the option "tierOf"`);
      tiers.set(tier, limitsOf(limits, tier));
    },
    takeSync:
      sync === undefined
        ? undefined
        : (key?: string, cost?: number) => {
            const k = checkKey('takeSync', key);
            return sync(k, checkCost('takeSync', cost), true, limitsFor(k));
          },
  });
}

type LimiterParts = Omit<RateLimiter, 'algorithm' | 'limit'>;

function frozenLimiter(current: () => RateLimitAlgorithm, parts: LimiterParts): RateLimiter {
  // Through defineGetters: accessors written in the literal would put every limiter after the first in
  // dictionary mode, and a policy reads `bound`, `limitsFor` and `name` at every call.
  return Object.freeze(defineGetters(parts, { algorithm: current, limit: () => current().limit })) as RateLimiter;
}

/** A token bucket of `capacity` tokens refilled continuously at `refillPerSecond` (exact integer arithmetic). */
export function tokenBucket(options: TokenBucketOptions): RateLimiter {
  return createLimiter('tokenBucket', 'token-bucket', parseTokenBucket, options);
}

/** GCRA: the token bucket's behaviour with one number of state per key. */
export function gcra(options: GcraOptions): RateLimiter {
  return createLimiter('gcra', 'gcra', parseGcra, options);
}

/** At most `limit` units in any `windowMs` (mode `'log'`, exact), or approximately so (mode `'counter'`). */
export function slidingWindow(options: SlidingWindowOptions): RateLimiter {
  const mode =
    options?.mode === undefined ? 'log' : checkOneOf('slidingWindow', 'mode', options.mode, ['log', 'counter'] as const);
  return createLimiter('slidingWindow', 'sliding-window', parseWindow(mode), options, ['mode']);
}
