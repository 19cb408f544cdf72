/**
 * weir/otel: weir's metrics on OpenTelemetry (`@opentelemetry/api` is an optional peer). See
 * docs/observability.md for every instrument, attribute and a Prometheus setup.
 */
export {
  ATTR_BREAKER_PREVIOUS_STATE,
  ATTR_BREAKER_REASON,
  ATTR_BREAKER_STATE,
  ATTR_ERROR_TYPE,
  ATTR_FALLBACK_ACTION,
  ATTR_FALLBACK_CAUSE,
  ATTR_GIVE_UP_REASON,
  ATTR_HTTP_ROUTE,
  ATTR_LIMIT_NAME,
  ATTR_LIMIT_RESULT,
  ATTR_OUTCOME,
  ATTR_POLICY_NAME,
  ATTR_POLICY_TYPE,
  ATTR_REJECTION_REASON,
  ATTR_STORE_NAME,
  INSTRUMENTS,
  type InstrumentKey,
  type InstrumentKind,
  type InstrumentSpec,
  METER_NAME,
  OTHER_ERROR_TYPE,
  type Outcome,
  RESULT_ERROR_TYPE,
} from './conventions.js';
export { type Instrumentable, type Instrumentation, type InstrumentOptions, instrument } from './instrument.js';
export type { RedisStoreLike } from './store.js';
