/**
 * weir/otel: weir's metrics on OpenTelemetry (`@opentelemetry/api` is an optional peer). See
 * docs/observability.md for every instrument, attribute and a Prometheus setup.
 */
export {
  INSTRUMENTS,
  type InstrumentKey,
  type InstrumentKind,
  type InstrumentSpec,
  METER_NAME,
  type Outcome,
} from './conventions.js';
export { type Instrumentable, type Instrumentation, type InstrumentOptions, instrument } from './instrument.js';
export type { RedisStoreLike } from './store.js';
