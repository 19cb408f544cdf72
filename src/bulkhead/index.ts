// Public API of this policy family; re-exported by src/index.ts.
export {
  type BulkheadEventReason,
  type BulkheadEvents,
  type BulkheadOptions,
  type BulkheadPermit,
  type BulkheadPolicy,
  bulkhead,
  type PermitOutcome,
  type QueueOrder,
} from './bulkhead.js';
export type { AdaptiveLimitOptions, AimdLimitOptions, LimitSample, SampleKind, VegasLimitOptions } from './limits.js';
export { ADAPTIVE_LIMIT_DEFAULTS, BULKHEAD_DEFAULTS } from './options.js';
