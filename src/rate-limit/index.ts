// Public API of the rate-limit family; re-exported by src/index.ts.
export {
  type GcraConfig,
  gcraStep,
  type LogView,
  type SlidingCounterConfig,
  type SlidingLogConfig,
  StepResult,
  slidingCounterStep,
  slidingLogStep,
  type TokenBucketConfig,
  tokenBucketStep,
} from './algorithms.js';
export {
  DEFAULT_KEY,
  type GcraOptions,
  gcra,
  type RateLimiter,
  type SlidingWindowOptions,
  slidingWindow,
  type TokenBucketOptions,
  tokenBucket,
} from './limiter.js';
export {
  type CostOption,
  type KeyOption,
  type RateLimitEvents,
  type RateLimitOptions,
  type RateLimitPolicy,
  rateLimit,
} from './policy.js';
export {
  type AlgorithmConfig,
  type BoundRateLimitStore,
  type MemoryRateLimitStore,
  type MemoryStoreOptions,
  memoryStore,
  type RateLimitAlgorithm,
  type RateLimitDecision,
  type RateLimitDecisionReason,
  type RateLimitStore,
  runFixedStep,
  toDecision,
} from './store.js';
