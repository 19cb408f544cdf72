export * from './bulkhead/index.js';
export * from './circuit-breaker/index.js';
export { type Clock, systemClock, type TimerHandle, VirtualClock, type VirtualClockOptions } from './core/clock.js';
export { type CallView, type CustomPolicy, definePolicy, type PolicyDefinition } from './core/define.js';
export {
  BulkheadFullError,
  type BulkheadRejectReason,
  CircuitOpenError,
  type CircuitRejectedState,
  isAbortError,
  isBulkheadFullError,
  isCircuitOpenError,
  isNonRetryable,
  isRateLimitedError,
  isRetryExhaustedError,
  isTimeoutError,
  isWeirError,
  markNonRetryable,
  RateLimitedError,
  type RateLimitReason,
  RetryExhaustedError,
  type RetryGiveUpReason,
  TimeoutError,
  type TimeoutErrorOptions,
  WeirError,
  type WeirErrorCode,
} from './core/errors.js';
export {
  type ChannelMessage,
  channelName,
  type EventInfo,
  type EventMap,
  type Listener,
  type ListenerErrorHandler,
  type ListenerErrorInfo,
  setListenerErrorHandler,
} from './core/events.js';
export type { PolicyContext } from './core/pipeline.js';
export { type AnyPolicy, compose, type Executor, type FallbackOf, type Policy } from './core/policy.js';
export { sleep } from './core/signal.js';
export { type FallbackEvents, type FallbackOptions, type FallbackPolicy, fallback } from './fallback/fallback.js';
export * from './rate-limit/index.js';
export * from './retry/index.js';
export { type TimeoutEvents, type TimeoutOptions, type TimeoutPolicy, timeout } from './timeout/timeout.js';
