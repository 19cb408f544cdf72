/**
 * `cachedTierOf(lookup, options)`: a synchronous `tierOf` for plans that live behind an asynchronous lookup
 * (a database, an API). Decisions stay synchronous (the memory store's fast path); the plan of a key is
 * looked up once, kept in a bounded cache for `ttlMs`, and until it is known the key is decided under
 * `whileUnknown` (a tier name, or undefined for the limiter's default limits): choose the strictest plan
 * there, so an unknown key never gets more than any plan allows.
 *
 * - Bounded: at most `maxKeys` plans cached (the oldest entry goes first), and at most one lookup in flight
 *   per key. A failed lookup is retried at the key's next decision (the key stays on `whileUnknown`).
 * - O(1) per decision: one Map read (and, on expiry, one delete and a new lookup).
 */
import { type Clock, systemClock } from '../core/clock.js';
import { checkClock, checkCount, checkDuration, checkFunction, checkOptions, show } from '../core/validate.js';

export interface CachedTierOfOptions {
  /** Most plans kept (default 10 000). */
  maxKeys?: number;
  /** How long a looked-up plan is kept, in ms (default 60 000). */
  ttlMs?: number;
  /** The tier a key is decided under until its plan is known (default: the limiter's own limits). */
  whileUnknown?: string;
  clock?: Clock;
}

class Entry {
  constructor(
    readonly tier: string | undefined,
    readonly until: number,
  ) {}
}

/** A synchronous `tierOf` over an asynchronous `lookup(key)` (see the module comment). */
export function cachedTierOf(
  lookup: (key: string) => Promise<string | undefined>,
  options: CachedTierOfOptions = {},
): (key: string) => string | undefined {
  const where = 'cachedTierOf';
  checkFunction(where, 'lookup', lookup);
  checkOptions(where, options, ['maxKeys', 'ttlMs', 'whileUnknown', 'clock']);
  const maxKeys = options.maxKeys === undefined ? 10_000 : checkCount(where, 'maxKeys', options.maxKeys, 1, { max: 2 ** 24 });
  const ttlMs = options.ttlMs === undefined ? 60_000 : checkDuration(where, 'ttlMs', options.ttlMs, { never: true });
  const whileUnknown = options.whileUnknown;
  if (whileUnknown !== undefined && typeof whileUnknown !== 'string') {
    throw new TypeError(`${where}: option "whileUnknown" must be a tier name, got ${show(whileUnknown)}`);
  }
  const clock = options.clock === undefined ? systemClock : checkClock(where, options.clock);
  const plans = new Map<string, Entry>();
  const inFlight = new Set<string>();
  const start = (key: string): void => {
    if (inFlight.has(key) || inFlight.size >= maxKeys) return;
    inFlight.add(key);
    let pending: Promise<string | undefined>;
    try {
      pending = Promise.resolve(lookup(key));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (tier) => {
        inFlight.delete(key);
        if (tier !== undefined && typeof tier !== 'string') return;
        plans.delete(key);
        if (plans.size >= maxKeys) plans.delete(plans.keys().next().value as string);
        plans.set(key, new Entry(tier, clock.now() + ttlMs));
      },
      () => inFlight.delete(key),
    );
  };
  return (key: string): string | undefined => {
    const entry = plans.get(key);
    if (entry !== undefined) {
      if (clock.now() < entry.until) return entry.tier;
      plans.delete(key);
    }
    start(key);
    return whileUnknown;
  };
}
