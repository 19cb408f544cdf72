/**
 * The public surface every HTTP adapter (weir/express, weir/fastify, weir/koa, weir/hono, weir/nestjs)
 * shares, re-exported by each: one list, so the adapters cannot drift apart in what they expose.
 */
export type { HeaderStyle, ProblemDetails } from './headers.js';
export { ipKey, UNKNOWN_CLIENT } from './ip.js';
export {
  type CountedResponse,
  InvalidDecisionError,
  type LimitedInfo,
  type LimitOptions,
  RATE_LIMIT_CHANNEL,
  type RateLimitOutcome,
  type RateLimitResult,
  type ResponseOptions,
  type StoreErrorInfo,
  type StoreFailureAction,
} from './limit.js';
export type { LoadSheddingOptions } from './shed.js';
