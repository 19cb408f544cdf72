/**
 * Keys known to be blocked until a time (`blockedCacheSize`), so a flood on a blocked key costs no round
 * trip. Bounded: when full, the oldest entry goes (a Map iterates in insertion order).
 */
import type { RateLimitAlgorithm, RateLimitDecision } from '../../src/rate-limit/store.js';

interface Entry {
  readonly cost: number;
  readonly limits: RateLimitAlgorithm;
  /** Clock time (ms) before which the same take is refused. */
  readonly until: number;
  readonly resetUntil: number;
  readonly remaining: number;
}

export class BlockedKeys {
  private readonly entries = new Map<string, Entry>();
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The refusal for a take of `cost` on `key` with these limits, if one is known at `now`. */
  lookup(key: string, cost: number, limits: RateLimitAlgorithm, now: number): RateLimitDecision | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    if (now >= hit.until) {
      this.entries.delete(key);
      return undefined;
    }
    if (hit.cost !== cost || hit.limits !== limits) return undefined;
    return {
      allowed: false,
      limit: limits.limit,
      remaining: hit.remaining,
      retryAfterMs: Math.max(1, Math.ceil(hit.until - now)),
      resetAfterMs: Math.max(0, Math.ceil(hit.resetUntil - now)),
      reason: 'limit',
      limits,
    };
  }

  /**
   * Remembers a refusal of `cost` on `key` until the time Redis said the same take would pass, counted from
   * `sentAt` (when the request left; Redis decided later, so the entry never outlives the real block).
   */
  remember(
    key: string,
    cost: number,
    limits: RateLimitAlgorithm,
    sentAt: number,
    waitUs: number,
    fullUs: number,
    remaining: number,
    now: number,
  ): void {
    const until = sentAt + waitUs / 1000;
    if (until <= now) return;
    const entries = this.entries;
    if (!entries.has(key) && entries.size >= this.capacity) entries.delete(entries.keys().next().value as string);
    entries.set(key, { cost, limits, until, resetUntil: sentAt + fullUs / 1000, remaining });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
