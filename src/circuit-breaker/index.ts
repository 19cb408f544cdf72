// Public API of this policy family; re-exported by src/index.ts.
export {
  type CircuitBreakerEvents,
  type CircuitBreakerMetrics,
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  type CircuitBreakerSnapshot,
  type CircuitHandle,
  type CircuitWindow,
  type CountingState,
  circuitBreaker,
  type OpenDurationBackoff,
} from './circuit-breaker.js';
export type { CircuitState, CircuitTransitionReason } from './machine.js';
export { CIRCUIT_BREAKER_DEFAULTS, MAX_COUNT_WINDOW, MAX_TIME_BUCKETS } from './options.js';
