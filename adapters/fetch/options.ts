/**
 * `resilientFetch`'s options, parsed once with the core's option layer and the retry family's parser (so
 * rules, defaults and messages are the ones `retry` itself uses), into a {@link FetchConfig}.
 */

import { BULKHEAD_OPTIONS, parseBulkheadOptions } from '../../src/bulkhead/options.js';
import { CIRCUIT_BREAKER_OPTIONS, parseCircuitBreakerOptions } from '../../src/circuit-breaker/options.js';
import type { Clock } from '../../src/core/clock.js';
import { policyName } from '../../src/core/names.js';
import {
  checkBoolean,
  checkClock,
  checkCount,
  checkDuration,
  checkFunction,
  checkOptions,
  isUnset,
  show,
} from '../../src/core/validate.js';
import {
  type BulkheadOptions,
  type BulkheadPolicy,
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  type RateLimiter,
  type RateLimitPolicy,
  type RetryOptions,
  systemClock,
} from '../../src/index.js';
import { checkRateLimiter } from '../../src/rate-limit/limiter.js';
import { parseWait } from '../../src/rate-limit/policy.js';
import { parseRetryConfig, RETRY_OPTIONS } from '../../src/retry/options.js';
import { isNetworkError } from './errors.js';
import { IDEMPOTENT_METHODS } from './request.js';

/** What `resilientFetch` calls to send a request: the global `fetch` by default, or undici's, or a fake. */
export type FetchImplementation = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface FetchRetryOptions extends Omit<RetryOptions, 'retryOnResult' | 'clock'> {
  /** Methods that may be retried (default the idempotent ones: GET, HEAD, OPTIONS, PUT, DELETE, TRACE). */
  methods?: readonly string[];
  /** Response statuses to retry (default 408, 429, 500, 502, 503, 504). */
  statuses?: readonly number[];
  /**
   * A request with this header (with a non-empty value) is retryable whatever its method (default
   * `'Idempotency-Key'`, the IETF draft's field); `false` turns the opt-in off.
   */
  idempotencyKeyHeader?: string | false;
  /**
   * Retry a `Request` input that has a body, sending a `request.clone()` at each attempt (default false:
   * such a request is sent at most once). A Request's body is a stream whatever it was made from, so the
   * clone tees it: the **whole body is held in memory** until the call ends. A body passed in `init`
   * (string, Blob, ArrayBuffer, URLSearchParams, FormData) needs no opt-in: it is sent again as it is.
   */
  replayRequestBodies?: boolean;
}

export interface FetchRateLimitOptions {
  /** The limiter; each origin is a key of it, so each origin has its own quota. */
  limiter: RateLimiter;
  /** Wait for quota (up to `maxWaitMs`) instead of rejecting at once with `RateLimitedError`. */
  wait?: { maxWaitMs: number };
}

export interface ResilientFetchOptions {
  /** The fetch to call (default: `globalThis.fetch`, looked up at each request). */
  fetch?: FetchImplementation;
  /** Retry options, or `false` for no retries (default: 3 attempts, exponential backoff with full jitter). */
  retry?: FetchRetryOptions | false;
  /** Per attempt: until the response headers arrive (default: none). */
  timeoutMs?: number;
  /** For the whole call, attempts and waits included, until the response headers arrive (default: none). */
  deadlineMs?: number;
  /** Options of each origin's circuit breaker, or `false` for none (default: circuitBreaker's defaults). */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** A client-side rate limit per origin (default: none). */
  rateLimit?: RateLimiter | FetchRateLimitOptions;
  /** Requests in flight at once per origin: a number, or bulkhead options (default: no limit). */
  bulkhead?: number | BulkheadOptions;
  /**
   * Origins whose policies are kept (default 1000). Beyond, the least recently used origin is dropped,
   * preferring one that is idle with a closed breaker; an origin whose breaker is open goes last.
   */
  maxOrigins?: number;
  /** Called when an origin's policies are created, e.g. to subscribe to its breaker's events. */
  onOrigin?: (origin: string, policies: OriginPolicies) => void;
  /** Time for every policy that has no clock of its own (default `systemClock`). */
  clock?: Clock;
}

/** The policies of one origin (those configured). */
export interface OriginPolicies {
  readonly origin: string;
  readonly circuitBreaker: CircuitBreakerPolicy | undefined;
  readonly rateLimit: RateLimitPolicy | undefined;
  readonly bulkhead: BulkheadPolicy | undefined;
}

export const WHERE = 'resilientFetch';
const OPTIONS = [
  'fetch',
  'retry',
  'timeoutMs',
  'deadlineMs',
  'circuitBreaker',
  'rateLimit',
  'bulkhead',
  'maxOrigins',
  'onOrigin',
  'clock',
];
const FETCH_RETRY_OPTIONS = [
  ...RETRY_OPTIONS.filter((name) => name !== 'retryOnResult' && name !== 'clock'),
  'methods',
  'statuses',
  'idempotencyKeyHeader',
  'replayRequestBodies',
];
export const DEFAULT_RETRY_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];
export const DEFAULT_MAX_ORIGINS = 1000;

/** The retry part of the options, validated; `policy` is what `retry()` is built from. */
export interface FetchRetryConfig {
  readonly policy: Omit<RetryOptions, 'retryOnResult' | 'clock'>;
  readonly methods: ReadonlySet<string>;
  readonly statuses: ReadonlySet<number>;
  readonly idempotencyKeyHeader: string | undefined;
  readonly replayRequestBodies: boolean;
  readonly honorRetryAfter: boolean;
  readonly maxDelayMs: number;
  readonly maxElapsedMs: number | undefined;
}

export interface FetchConfig {
  readonly send: FetchImplementation;
  readonly clock: Clock;
  readonly timeoutMs: number | undefined;
  readonly deadlineMs: number | undefined;
  readonly maxOrigins: number;
  readonly onOrigin: ResilientFetchOptions['onOrigin'];
  readonly retry: FetchRetryConfig | undefined;
  readonly circuitBreaker: CircuitBreakerOptions | undefined;
  readonly bulkhead: BulkheadOptions | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly limitWait: { maxWaitMs: number } | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs a family's own parser on a nested option, and names our option in its error. */
function parseNested(name: string, parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (error instanceof Error) error.message = `${WHERE}: option "${name}": ${error.message}`;
    throw error;
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function parseMethods(value: unknown): Set<string> {
  if (value === undefined) return new Set(IDEMPOTENT_METHODS);
  if (!Array.isArray(value) || value.some((m) => typeof m !== 'string' || !TOKEN.test(m))) {
    throw new TypeError(`${WHERE}: option "retry.methods" must be a list of HTTP method names, got ${show(value)}`);
  }
  return new Set((value as string[]).map((m) => m.toUpperCase()));
}

function parseStatuses(value: unknown): Set<number> {
  if (value === undefined) return new Set(DEFAULT_RETRY_STATUSES);
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < 100 || s > 599)) {
    throw new RangeError(`${WHERE}: option "retry.statuses" must be a list of integers in [100, 599], got ${show(value)}`);
  }
  return new Set(value as number[]);
}

function parseIdempotencyHeader(value: unknown): string | undefined {
  if (value === undefined) return 'idempotency-key';
  if (value === false) return undefined;
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new TypeError(`${WHERE}: option "retry.idempotencyKeyHeader" must be a header name or false, got ${show(value)}`);
  }
  return value.toLowerCase();
}

function parseRetry(value: unknown): FetchRetryConfig | undefined {
  if (value === false) return undefined;
  if (!isRecord(value)) throw new TypeError(`${WHERE}: option "retry" must be retry options or false, got ${show(value)}`);
  if ('retryOnResult' in value) {
    throw new TypeError(
      `${WHERE}: option "retry.retryOnResult" is not supported; list the statuses to retry in "retry.statuses"`,
    );
  }
  if ('clock' in value) throw new TypeError(`${WHERE}: option "retry.clock" is not supported; pass "clock" at the top level`);
  checkOptions(`${WHERE}: option "retry"`, value, FETCH_RETRY_OPTIONS);
  const { methods, statuses, idempotencyKeyHeader, replayRequestBodies, ...policy } = value;
  // The retry family's own parser: the same rules, defaults and messages as retry(), named "retry.<option>".
  const config = parseRetryConfig(WHERE, policy, 'retry.');
  return {
    policy: policy as FetchRetryConfig['policy'],
    methods: parseMethods(methods),
    statuses: parseStatuses(statuses),
    idempotencyKeyHeader: parseIdempotencyHeader(idempotencyKeyHeader),
    replayRequestBodies:
      replayRequestBodies === undefined ? false : checkBoolean(WHERE, 'retry.replayRequestBodies', replayRequestBodies),
    honorRetryAfter: config.honorRetryAfter,
    maxDelayMs: config.maxDelayMs,
    maxElapsedMs: config.maxElapsedMs,
  };
}

function parseBreaker(value: unknown, clock: Clock): CircuitBreakerOptions | undefined {
  if (value === false) return undefined;
  if (!isRecord(value)) {
    throw new TypeError(`${WHERE}: option "circuitBreaker" must be circuit breaker options or false, got ${show(value)}`);
  }
  const options: CircuitBreakerOptions = {
    isFailure: isTransientError,
    isResultFailure: (response: unknown) => (response as Response).status >= 500,
    clock,
    ...(value as CircuitBreakerOptions),
  };
  parseNested('circuitBreaker', () => {
    checkOptions('circuitBreaker', options, CIRCUIT_BREAKER_OPTIONS);
    if (options.name !== undefined) policyName('circuit-breaker', options.name);
    parseCircuitBreakerOptions(options);
  });
  return options;
}

function parseBulkhead(value: unknown, clock: Clock): BulkheadOptions | undefined {
  if (value === undefined) return undefined;
  let options: BulkheadOptions;
  if (typeof value === 'number') options = { maxConcurrent: value, clock };
  else if (isRecord(value)) options = { clock, ...(value as unknown as BulkheadOptions) };
  else throw new TypeError(`${WHERE}: option "bulkhead" must be a number or bulkhead options, got ${show(value)}`);
  parseNested('bulkhead', () => {
    checkOptions('bulkhead', options, BULKHEAD_OPTIONS);
    if (options.name !== undefined) policyName('bulkhead', options.name);
    parseBulkheadOptions(options as unknown as Record<string, unknown>);
  });
  return options;
}

function parseRateLimit(value: unknown): Pick<FetchConfig, 'limiter' | 'limitWait'> {
  if (value === undefined) return { limiter: undefined, limitWait: undefined };
  let limiter: RateLimiter;
  let limitWait: { maxWaitMs: number } | undefined;
  if (isRecord(value) && 'limiter' in value) {
    checkOptions(`${WHERE}: option "rateLimit"`, value, ['limiter', 'wait']);
    limiter = value.limiter as RateLimiter;
    limitWait = value.wait as { maxWaitMs: number } | undefined;
  } else {
    limiter = value as RateLimiter;
  }
  parseNested('rateLimit', () => {
    checkRateLimiter('rateLimit', 'the limiter', limiter);
    parseWait('rateLimit', limitWait);
  });
  return { limiter, limitWait };
}

/** The errors worth another attempt or a breaker failure: all but fetch refusing the request (a TypeError without cause). */
export function isTransientError(error: unknown): boolean {
  return !(error instanceof TypeError) || isNetworkError(error);
}

function optionalFunction<F>(name: string, value: unknown): F | undefined {
  return isUnset(WHERE, name, value) ? undefined : checkFunction<F>(WHERE, name, value);
}

export function parseFetchOptions(options: unknown): FetchConfig {
  if (!isRecord(options)) throw new TypeError(`${WHERE}: options must be an object, got ${show(options)}`);
  checkOptions(WHERE, options, OPTIONS);
  const clock = isUnset(WHERE, 'clock', options.clock) ? systemClock : checkClock(WHERE, options.clock);
  const custom = optionalFunction<FetchImplementation>('fetch', options.fetch);
  const duration = (name: string): number | undefined =>
    isUnset(WHERE, name, options[name]) ? undefined : checkDuration(WHERE, name, options[name], { exclusiveMin: true });
  return {
    send: custom ?? ((input, init) => globalThis.fetch(input, init)),
    clock,
    timeoutMs: duration('timeoutMs'),
    deadlineMs: duration('deadlineMs'),
    maxOrigins: isUnset(WHERE, 'maxOrigins', options.maxOrigins)
      ? DEFAULT_MAX_ORIGINS
      : checkCount(WHERE, 'maxOrigins', options.maxOrigins, 1),
    onOrigin: optionalFunction('onOrigin', options.onOrigin),
    retry: parseRetry(isUnset(WHERE, 'retry', options.retry) ? {} : options.retry),
    circuitBreaker: parseBreaker(isUnset(WHERE, 'circuitBreaker', options.circuitBreaker) ? {} : options.circuitBreaker, clock),
    bulkhead: parseBulkhead(isUnset(WHERE, 'bulkhead', options.bulkhead) ? undefined : options.bulkhead, clock),
    ...parseRateLimit(isUnset(WHERE, 'rateLimit', options.rateLimit) ? undefined : options.rateLimit),
  };
}
