/**
 * The names weir's OpenTelemetry instruments and attributes use: the one place docs/observability.md's
 * tables are checked against. Names follow the OpenTelemetry naming guidelines (a `weir.` namespace,
 * dot-separated, snake_case words, UCUM units, no unit or `total` in the name); `error.type` is the
 * semantic-convention attribute, and the rate-limiting instruments mirror ASP.NET Core's
 * `aspnetcore.rate_limiting.*` (a request counter with a result, time in queue).
 */

/** The meter's name (instrumentation scope). */
export const METER_NAME = 'weir';

export const ATTR_POLICY_NAME = 'weir.policy.name';
export const ATTR_POLICY_TYPE = 'weir.policy.type';
export const ATTR_OUTCOME = 'weir.policy.outcome';
export const ATTR_REJECTION_REASON = 'weir.rejection.reason';
/** Semantic-convention attribute: the class of error an operation ended with. */
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_BREAKER_STATE = 'weir.circuit_breaker.state';
export const ATTR_BREAKER_PREVIOUS_STATE = 'weir.circuit_breaker.previous_state';
export const ATTR_BREAKER_REASON = 'weir.circuit_breaker.transition_reason';
export const ATTR_GIVE_UP_REASON = 'weir.retry.give_up_reason';
export const ATTR_LIMIT_NAME = 'weir.rate_limiting.limit';
export const ATTR_LIMIT_RESULT = 'weir.rate_limiting.result';
export const ATTR_STORE_NAME = 'weir.redis.store';
export const ATTR_FALLBACK_CAUSE = 'weir.redis.fallback.cause';
export const ATTR_FALLBACK_ACTION = 'weir.redis.fallback.action';
/** Semantic-convention attribute, set by the HTTP adapters' per-request hook. */
export const ATTR_HTTP_ROUTE = 'http.route';

/** `error.type` when the error is not an object with a constructor name, or past the per-policy cap. */
export const OTHER_ERROR_TYPE = '_OTHER';
/** `error.type` of a result (not an error) that `isResultFailure` or `retryOnResult` counted as a failure. */
export const RESULT_ERROR_TYPE = 'result';

/** How a call left a policy (`weir.policy.outcome`). */
export type Outcome = 'success' | 'failure' | 'rejected' | 'timeout' | 'fallback' | 'aborted' | 'admitted';

/** The OpenTelemetry instrument kind (observable ones are read at collection time). */
export type InstrumentKind = 'Counter' | 'UpDownCounter' | 'Gauge' | 'Histogram';

/** One instrument as weir/otel creates it: the source of the table in docs/observability.md. */
export interface InstrumentSpec {
  readonly name: string;
  readonly kind: InstrumentKind;
  /** Whether the SDK reads it at collection time (asynchronous) rather than at each event. */
  readonly observable: boolean;
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly string[];
  /** Explicit bucket boundaries advised for histograms (seconds). */
  readonly buckets?: readonly number[];
}

/** Waits and delays: from 1 ms to a minute. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
/** Call durations: the OpenTelemetry HTTP duration boundaries. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;
/** Redis answers: a local Redis answers in well under a millisecond; a decision's timeout is about 0.1 s. */
const REDIS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

const POLICY = [ATTR_POLICY_NAME, ATTR_POLICY_TYPE] as const;

/** Every instrument weir/otel creates, by key. */
export const INSTRUMENTS = {
  calls: {
    name: 'weir.policy.calls',
    kind: 'Counter',
    observable: true,
    unit: '{call}',
    description: 'Calls that left a policy, by outcome.',
    attributes: [...POLICY, ATTR_OUTCOME, ATTR_ERROR_TYPE, ATTR_REJECTION_REASON],
  },
  callDuration: {
    name: 'weir.policy.call.duration',
    kind: 'Histogram',
    observable: false,
    unit: 's',
    description: 'Time from entering a measured policy to its outcome.',
    attributes: [...POLICY, ATTR_OUTCOME, ATTR_ERROR_TYPE],
    buckets: DURATION_BUCKETS,
  },
  retryAttempts: {
    name: 'weir.retry.attempts',
    kind: 'Counter',
    observable: true,
    unit: '{attempt}',
    description: 'Attempts made by finished calls (first attempts included), by the outcome of the call.',
    attributes: [...POLICY, ATTR_OUTCOME],
  },
  retries: {
    name: 'weir.retry.retries',
    kind: 'Counter',
    observable: true,
    unit: '{retry}',
    description: 'Attempts that failed and were retried, by the error that failed them.',
    attributes: [...POLICY, ATTR_ERROR_TYPE],
  },
  retryDelay: {
    name: 'weir.retry.delay',
    kind: 'Histogram',
    observable: false,
    unit: 's',
    description: 'The backoff delay before each retry.',
    attributes: [...POLICY],
    buckets: WAIT_BUCKETS,
  },
  retryGiveUps: {
    name: 'weir.retry.give_ups',
    kind: 'Counter',
    observable: true,
    unit: '{call}',
    description: 'Retryable failures that were not retried, by why (attempts, time or budget ran out).',
    attributes: [...POLICY, ATTR_GIVE_UP_REASON],
  },
  breakerState: {
    name: 'weir.circuit_breaker.state',
    kind: 'Gauge',
    observable: true,
    unit: '1',
    description: 'One series per state: 1 for the breaker’s current state, 0 for the others.',
    attributes: [...POLICY, ATTR_BREAKER_STATE],
  },
  breakerTransitions: {
    name: 'weir.circuit_breaker.transitions',
    kind: 'Counter',
    observable: true,
    unit: '{transition}',
    description: 'State changes, by the state entered, the state left and why.',
    attributes: [...POLICY, ATTR_BREAKER_STATE, ATTR_BREAKER_PREVIOUS_STATE, ATTR_BREAKER_REASON],
  },
  breakerTime: {
    name: 'weir.circuit_breaker.time',
    kind: 'Counter',
    observable: true,
    unit: 's',
    description: 'Time spent in each state since instrumented (on the instrumentation clock).',
    attributes: [...POLICY, ATTR_BREAKER_STATE],
  },
  breakerSlowCalls: {
    name: 'weir.circuit_breaker.slow_calls',
    kind: 'Counter',
    observable: true,
    unit: '{call}',
    description: 'Counted calls slower than slowCallDurationMs.',
    attributes: [...POLICY],
  },
  bulkheadRunning: {
    name: 'weir.bulkhead.running',
    kind: 'UpDownCounter',
    observable: true,
    unit: '{call}',
    description: 'Calls holding a slot now.',
    attributes: [...POLICY],
  },
  bulkheadQueued: {
    name: 'weir.bulkhead.queued',
    kind: 'UpDownCounter',
    observable: true,
    unit: '{call}',
    description: 'Calls waiting for a slot now.',
    attributes: [...POLICY],
  },
  bulkheadLimit: {
    name: 'weir.bulkhead.limit',
    kind: 'Gauge',
    observable: true,
    unit: '{call}',
    description: 'The concurrency limit now (fixed, or the adaptive limit’s value).',
    attributes: [...POLICY],
  },
  bulkheadTimeInQueue: {
    name: 'weir.bulkhead.time_in_queue',
    kind: 'Histogram',
    observable: false,
    unit: 's',
    description: 'How long an admitted call waited in the queue (calls that got a slot at once are not recorded).',
    attributes: [...POLICY],
    buckets: WAIT_BUCKETS,
  },
  rateLimitRequests: {
    name: 'weir.rate_limiting.requests',
    kind: 'Counter',
    observable: true,
    unit: '{request}',
    description: 'Rate-limit decisions, by limit and result (modelled on aspnetcore.rate_limiting.requests).',
    attributes: [...POLICY, ATTR_LIMIT_NAME, ATTR_LIMIT_RESULT, ATTR_REJECTION_REASON, ATTR_HTTP_ROUTE],
  },
  rateLimitTimeInQueue: {
    name: 'weir.rate_limiting.request.time_in_queue',
    kind: 'Histogram',
    observable: false,
    unit: 's',
    description: 'The wait a call was given for capacity (rateLimit with `wait`).',
    attributes: [...POLICY, ATTR_LIMIT_NAME],
    buckets: WAIT_BUCKETS,
  },
  redisFallbacks: {
    name: 'weir.redis.fallbacks',
    kind: 'Counter',
    observable: true,
    unit: '{decision}',
    description: 'Decisions that came from onError instead of Redis, by cause and action.',
    attributes: [ATTR_STORE_NAME, ATTR_FALLBACK_CAUSE, ATTR_FALLBACK_ACTION, ATTR_ERROR_TYPE],
  },
  redisRecoveries: {
    name: 'weir.redis.recoveries',
    kind: 'Counter',
    observable: true,
    unit: '{recovery}',
    description: 'Times Redis answered again after decisions had fallen back.',
    attributes: [ATTR_STORE_NAME],
  },
  redisSuspensions: {
    name: 'weir.redis.suspensions',
    kind: 'Counter',
    observable: true,
    unit: '{suspension}',
    description: 'Times the store stopped sending to Redis (a run of failures, or a failed probe).',
    attributes: [ATTR_STORE_NAME],
  },
  redisDecisionDuration: {
    name: 'weir.redis.decision.duration',
    kind: 'Histogram',
    observable: false,
    unit: 's',
    description: 'From asking Redis for a decision to its answer in time (a wait for room on the wire included).',
    attributes: [ATTR_STORE_NAME],
    buckets: REDIS_BUCKETS,
  },
} as const satisfies Record<string, InstrumentSpec>;

/** A key of {@link INSTRUMENTS}. */
export type InstrumentKey = keyof typeof INSTRUMENTS;
