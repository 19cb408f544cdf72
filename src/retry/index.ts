// Public API of this policy family; re-exported by src/index.ts.
export {
  type Backoff,
  type BackoffFunction,
  type ConstantBackoff,
  constantBackoff,
  type ExponentialBackoff,
  type ExponentialBackoffOptions,
  exponentialBackoff,
  type Jitter,
  type RetryOutcome,
} from './backoff.js';
export { type RetryBudget, type RetryBudgetLike, type RetryBudgetOptions, retryBudget } from './budget.js';
export { BACKOFF_DEFAULTS, RETRY_BUDGET_DEFAULTS, RETRY_DEFAULTS } from './options.js';
export {
  type GiveUpReason,
  type RetryEvents,
  type RetryOptions,
  type RetryPolicy,
  retry,
  type WeirRejection,
} from './retry.js';
export { parseRetryAfter, retryAfterHint } from './retry-after.js';
