/**
 * The framework-neutral core of the HTTP rate-limit adapters (Express, Fastify, and the adapters built on
 * them): option parsing (options.ts), the chain that runs limits for a request (chain.ts), and what the
 * adapters report about each request (observe.ts). A framework only supplies a {@link Host}.
 */
export { show } from '../../src/core/validate.js';
export { type Host, InvalidDecisionError, invalidDecision, LimitChain } from './chain.js';
export { RATE_LIMIT_CHANNEL, type RateLimitOutcome, type RateLimitResult } from './observe.js';
export {
  backstopMs,
  type ChainSettings,
  CompiledLimit,
  type CountedResponse,
  checkKnown,
  checkResponseOptions,
  DEFAULT_STORE_TIMEOUT_MS,
  LIMIT_OPTIONS,
  type LimitedInfo,
  type LimitOptions,
  optionalFunction,
  RESPONSE_OPTIONS,
  type ResponseOptions,
  responseOptionsOf,
  STORE_TIMEOUT_MARGIN_MS,
  type StoreErrorInfo,
  type StoreFailureAction,
  windowMsOf,
} from './options.js';
