// Public API of the rate-limit family; re-exported by src/index.ts. Step internals (StepResult,
// runFixedStep, toDecision) stay module-internal: stores import them from their modules.
export type {
  GcraConfig,
  SlidingCounterConfig,
  SlidingLogConfig,
  TokenBucketConfig,
} from './algorithms.js';
export { MAX_KEY_LENGTH, MAX_STORED_KEY_LENGTH, storedKey } from './keys.js';
export {
  checkRateLimiter,
  DEFAULT_KEY,
  type GcraLimits,
  type GcraOptions,
  gcra,
  isRateLimiter,
  type RateLimiter,
  type SlidingWindowLimits,
  type SlidingWindowOptions,
  slidingWindow,
  type TokenBucketLimits,
  type TokenBucketOptions,
  tokenBucket,
} from './limiter.js';
export { type MemoryRateLimitStore, type MemoryStoreOptions, memoryStore } from './memory.js';
export {
  type CostOption,
  type KeyOption,
  type RateLimitEvents,
  type RateLimitOptions,
  type RateLimitPolicy,
  rateLimit,
} from './policy.js';
export type {
  AlgorithmConfig,
  BoundRateLimitStore,
  RateLimitAlgorithm,
  RateLimitDecision,
  RateLimitDecisionReason,
  RateLimitStore,
} from './store.js';
export { type CachedTierOfOptions, cachedTierOf } from './tier-cache.js';
