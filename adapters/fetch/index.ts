/**
 * weir/fetch: `resilientFetch(options)` returns a drop-in `fetch` with retries (idempotent requests only,
 * Retry-After and RateLimit aware), per-origin circuit breakers, rate limits and bulkheads, and timeouts.
 * See docs/fetch.md.
 */
export { FetchNetworkError, isFetchNetworkError } from './errors.js';
export { parseRateLimitField, type RateLimitItem, rateLimitFieldDelay } from './rate-limit-field.js';
export { IDEMPOTENT_METHODS, type NoRetryReason } from './request.js';
export {
  DEFAULT_RETRY_STATUSES,
  type FetchImplementation,
  type FetchRateLimitOptions,
  type FetchRetryOptions,
  type OriginPolicies,
  type ResilientFetch,
  type ResilientFetchMembers,
  type ResilientFetchOptions,
  resilientFetch,
} from './resilient-fetch.js';
