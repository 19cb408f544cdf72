/** What `onError: 'allow' | 'deny'` decides when Redis cannot: a pure function of the limits and the cost. */
import type { RateLimitAlgorithm, RateLimitDecision } from '../../src/rate-limit/store.js';

/** The retry hint of a fail-closed decision: Redis's recovery time is unknown. */
export const DENY_RETRY_AFTER_MS = 1000;

export function fallbackDecision(action: 'allow' | 'deny', limits: RateLimitAlgorithm, cost: number): RateLimitDecision {
  const limit = limits.limit;
  if (cost > limit) {
    // Never allowed, whatever Redis holds.
    return {
      allowed: false,
      limit,
      remaining: action === 'allow' ? limit : 0,
      retryAfterMs: Number.POSITIVE_INFINITY,
      resetAfterMs: 0,
      reason: 'cost-exceeds-limit',
      limits,
    };
  }
  if (action === 'allow') {
    return { allowed: true, limit, remaining: limit - cost, retryAfterMs: 0, resetAfterMs: 0, reason: undefined, limits };
  }
  return {
    allowed: false,
    limit,
    remaining: 0,
    retryAfterMs: DENY_RETRY_AFTER_MS,
    resetAfterMs: DENY_RETRY_AFTER_MS,
    reason: 'limit',
    limits,
  };
}
