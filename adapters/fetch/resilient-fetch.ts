/**
 * `resilientFetch(options)`: a function with fetch's own signature that sends each request through one
 * fused weir pipeline per origin (scheme + host + port):
 *
 *   timeout(deadlineMs) → retry → circuitBreaker → rateLimit → bulkhead → timeout(timeoutMs) → fetch
 *
 * The deadline, the retry and the per-attempt timeout hold no per-origin state, so one instance of each
 * serves every origin; the breaker, the bulkhead and the rate-limit policy are created per origin on first
 * use and kept in a bounded LRU (`maxOrigins`). A request that may not be sent twice (a non-idempotent
 * method without an Idempotency-Key, a one-shot stream body, a `Request` input with a body unless
 * `retry.replayRequestBodies`) goes through the same pipeline without the retry stage, so it shares its
 * origin's breaker, limiter and bulkhead but is sent at most once.
 */
import { refTimer } from '../../src/core/runtime.js';
import { checkOptions, show } from '../../src/core/validate.js';
import {
  type AnyPolicy,
  type BulkheadOptions,
  type BulkheadPolicy,
  bulkhead,
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  type Clock,
  circuitBreaker,
  compose,
  exponentialBackoff,
  parseRetryAfter,
  type RateLimiter,
  type RateLimitPolicy,
  type RetryOptions,
  type RetryPolicy,
  rateLimit,
  retry,
  systemClock,
  timeout,
} from '../../src/index.js';
import { annotate, FetchNetworkError, isFetchNetworkError, isNetworkError, urlForMessage } from './errors.js';
import { type OriginEntry, OriginRegistry } from './origins.js';
import { rateLimitFieldDelay } from './rate-limit-field.js';
import { IDEMPOTENT_METHODS, type NoRetryReason, requestFacts } from './request.js';

/** What `resilientFetch` calls to send a request: the global `fetch` by default, or undici's, or a fake. */
export type FetchImplementation = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface FetchRetryOptions extends Omit<RetryOptions, 'retryOnResult' | 'clock'> {
  /** Methods that may be retried (default the idempotent ones: GET, HEAD, OPTIONS, PUT, DELETE, TRACE). */
  methods?: readonly string[];
  /** Response statuses to retry (default 408, 429, 500, 502, 503, 504). */
  statuses?: readonly number[];
  /**
   * A request with this header is retryable whatever its method (default `'Idempotency-Key'`, the IETF
   * draft's field); `false` turns the opt-in off.
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

export interface ResilientFetchMembers {
  /** The retry policy shared by every origin (subscribe to its events), or undefined with `retry: false`. */
  readonly retry: RetryPolicy | undefined;
  /** Origins with policies now, least recently used first. */
  readonly origins: readonly string[];
  /** The policies of `url`'s origin, if a request has created them (and they were not evicted). */
  policies(url: string | URL): OriginPolicies | undefined;
}

/** A drop-in `fetch`, with a few read-only members. */
export type ResilientFetch = typeof globalThis.fetch & ResilientFetchMembers;

const WHERE = 'resilientFetch';
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
export const DEFAULT_RETRY_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPositiveMs(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${WHERE}: option "${name}" must be a finite number of milliseconds > 0, got ${show(value)}`);
  }
  return value;
}

/** Runs a policy factory at construction so that bad nested options fail there, named after our option. */
function nested<T>(name: string, build: () => T): T {
  try {
    return build();
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

/** The errors worth another attempt or a breaker failure: all but fetch refusing the request (a TypeError without cause). */
export function isTransientError(error: unknown): boolean {
  return !(error instanceof TypeError) || isNetworkError(error);
}

/** A retried response's body up to this size is read to its end, so that its connection can be reused. */
const DRAIN_MAX_BYTES = 64 * 1024;
/** ... unless it takes longer than this: then it is cancelled, like a larger body. */
const DRAIN_MAX_MS = 1_000;

function ignore(): void {}

/**
 * Frees the connection of a response that `retry` discards. A small body (Content-Length up to 64 KiB) is
 * read to its end, which keeps the connection for reuse (cancelling a body still in transit makes undici
 * close it); any other body is cancelled at once, which closes the connection. Either way nothing waits
 * for the garbage collector.
 */
function discard(response: unknown): void {
  const body = (response as Response | undefined)?.body;
  if (body === null || body === undefined || body.locked) return;
  const length = (response as Response).headers.get('content-length');
  if (length === null || !(Number(length) <= DRAIN_MAX_BYTES)) {
    body.cancel().catch(ignore);
    return;
  }
  drain(body.getReader()).catch(ignore);
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  const timer = setTimeout(() => reader.cancel().catch(ignore), DRAIN_MAX_MS);
  refTimer(timer, false);
  try {
    while (!(await reader.read()).done) {}
  } finally {
    clearTimeout(timer);
  }
}

interface Backoffish {
  delay(attempt: number, previousMs: number | undefined, random: number, outcome: any): number;
}

function toBackoff(value: unknown): Backoffish {
  if (value === undefined) return exponentialBackoff();
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${WHERE}: option "retry.backoff" must be a number of milliseconds >= 0, got ${show(value)}`);
    }
    return { delay: () => value };
  }
  if (typeof value === 'function') return { delay: (attempt, _previous, _random, outcome) => value(attempt, outcome) };
  if (typeof value === 'object' && value !== null && typeof (value as Backoffish).delay === 'function') {
    return value as Backoffish;
  }
  throw new TypeError(
    `${WHERE}: option "retry.backoff" must be a backoff object (exponentialBackoff(), constantBackoff()), a function or a number of ms, got ${show(value)}`,
  );
}

/**
 * The IETF `RateLimit` field's `t` on a 429 or 503 as a wait, when there is no valid `Retry-After` (which
 * takes precedence, and which `retry` reads itself).
 */
export function rateLimitHint(response: Response, wallNow: number): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const headers = response.headers;
  if (parseRetryAfter(headers.get('retry-after'), wallNow) !== undefined) return undefined;
  return rateLimitFieldDelay(headers.get('ratelimit'));
}

interface Entry extends OriginEntry, OriginPolicies {
  /** The pipeline for requests that may be retried. */
  readonly retrying: AnyPolicy;
  /** The pipeline for requests sent at most once (the same stages, without the retry). */
  readonly once: AnyPolicy;
}

/** One call's request, read by each attempt. */
interface Pending {
  readonly input: RequestInfo | URL;
  readonly init: RequestInit | undefined;
  /** Send a clone of `input` (a Request with a body) at each attempt. */
  readonly clone: boolean;
  readonly signal: AbortSignal | undefined;
  readonly method: string;
  readonly url: string;
  /** Through the pipeline with the retry stage. */
  readonly retryable: boolean;
  /** Why not, for the error message (undefined when retries are off altogether). */
  readonly noRetry: NoRetryReason | undefined;
  attempts: number;
}

/** Builds a drop-in `fetch` with retries, per-origin breakers and limits, and timeouts; see docs/fetch.md. */
export function resilientFetch(options: ResilientFetchOptions = {}): ResilientFetch {
  const raw: unknown = options;
  if (!isRecord(raw)) throw new TypeError(`${WHERE}: options must be an object, got ${show(raw)}`);
  checkOptions(WHERE, raw, OPTIONS);
  const clock = options.clock ?? systemClock;
  if (options.clock !== undefined) nested('clock', () => timeout({ ms: 1, clock }));

  const custom = options.fetch;
  if (custom !== undefined && typeof custom !== 'function') {
    throw new TypeError(`${WHERE}: option "fetch" must be a function (input, init) => Promise<Response>, got ${show(custom)}`);
  }
  const send: FetchImplementation = custom ?? ((input, init) => globalThis.fetch(input, init));

  const timeoutMs = checkPositiveMs('timeoutMs', options.timeoutMs);
  const deadlineMs = checkPositiveMs('deadlineMs', options.deadlineMs);
  const attemptTimeout = timeoutMs === undefined ? undefined : timeout({ ms: timeoutMs, clock });
  const deadline = deadlineMs === undefined ? undefined : timeout({ ms: deadlineMs, clock });
  const timed = attemptTimeout !== undefined || deadline !== undefined;

  const maxOrigins = options.maxOrigins ?? 1000;
  if (typeof maxOrigins !== 'number' || !Number.isInteger(maxOrigins) || maxOrigins < 1) {
    throw new RangeError(`${WHERE}: option "maxOrigins" must be an integer >= 1, got ${show(maxOrigins)}`);
  }
  const onOrigin = options.onOrigin;
  if (onOrigin !== undefined && typeof onOrigin !== 'function') {
    throw new TypeError(`${WHERE}: option "onOrigin" must be a function, got ${show(onOrigin)}`);
  }

  // Retry: one policy for every origin.
  let retryPolicy: RetryPolicy | undefined;
  let methods: Set<string> = new Set();
  let idempotencyKeyHeader: string | undefined;
  let replayRequestBodies = false;
  const retryOption = options.retry ?? {};
  if (retryOption !== false) {
    if (!isRecord(retryOption)) {
      throw new TypeError(`${WHERE}: option "retry" must be retry options or false, got ${show(retryOption)}`);
    }
    if ('retryOnResult' in retryOption) {
      throw new TypeError(
        `${WHERE}: option "retry.retryOnResult" is not supported; list the statuses to retry in "retry.statuses"`,
      );
    }
    if ('clock' in retryOption)
      throw new TypeError(`${WHERE}: option "retry.clock" is not supported; pass "clock" at the top level`);
    const {
      methods: rawMethods,
      statuses: rawStatuses,
      idempotencyKeyHeader: rawHeader,
      replayRequestBodies: rawReplay,
      ...rest
    } = retryOption as FetchRetryOptions;
    if (rawReplay !== undefined && typeof rawReplay !== 'boolean') {
      throw new TypeError(`${WHERE}: option "retry.replayRequestBodies" must be a boolean, got ${show(rawReplay)}`);
    }
    replayRequestBodies = rawReplay ?? false;
    methods = parseMethods(rawMethods);
    const statuses = parseStatuses(rawStatuses);
    idempotencyKeyHeader = parseIdempotencyHeader(rawHeader);
    const base = toBackoff(rest.backoff);
    const honor = rest.honorRetryAfter ?? true;
    const maxDelayMs = typeof rest.maxDelayMs === 'number' ? rest.maxDelayMs : 60_000;
    // retry reads Retry-After itself; the RateLimit field's `t` is added here, with the same cap.
    const backoff: Backoffish = {
      delay(attempt, previousMs, random, outcome) {
        const ms = base.delay(attempt, previousMs, random, outcome);
        if (honor !== true || !outcome.ok) return ms;
        const hint = rateLimitHint(outcome.value as Response, clock.wallNow());
        return hint === undefined ? ms : Math.max(ms, Math.min(hint, maxDelayMs));
      },
    };
    // A wait that cannot end before the deadline would only turn the last response into a TimeoutError.
    const elapsed = Math.min(rest.maxElapsedMs ?? Number.POSITIVE_INFINITY, deadlineMs ?? Number.POSITIVE_INFINITY);
    const userRetryOn = rest.retryOn;
    retryPolicy = nested('retry', () =>
      retry({
        ...rest,
        backoff,
        retryOn: userRetryOn ?? isTransientError,
        retryOnResult: (response: Response) => statuses.has(response.status),
        ...(elapsed === Number.POSITIVE_INFINITY ? {} : { maxElapsedMs: elapsed }),
        clock,
      }),
    );
    retryPolicy.on('retry', (event) => {
      if (event.ok) discard(event.value);
    });
  }

  // Per-origin policies: validated now by building one of each, then built per origin.
  const breakerOption = options.circuitBreaker ?? {};
  let breakerOptions: CircuitBreakerOptions | undefined;
  if (breakerOption !== false) {
    if (!isRecord(breakerOption)) {
      throw new TypeError(
        `${WHERE}: option "circuitBreaker" must be circuit breaker options or false, got ${show(breakerOption)}`,
      );
    }
    breakerOptions = {
      isFailure: isTransientError,
      isResultFailure: (response: unknown) => (response as Response).status >= 500,
      clock,
      ...(breakerOption as CircuitBreakerOptions),
    };
    const probe = breakerOptions;
    nested('circuitBreaker', () => circuitBreaker(probe));
  }

  let bulkheadOptions: BulkheadOptions | undefined;
  if (options.bulkhead !== undefined) {
    const given: unknown = options.bulkhead;
    if (typeof given === 'number') bulkheadOptions = { maxConcurrent: given, clock };
    else if (isRecord(given)) bulkheadOptions = { clock, ...(given as unknown as BulkheadOptions) };
    else throw new TypeError(`${WHERE}: option "bulkhead" must be a number or bulkhead options, got ${show(given)}`);
    const probe = bulkheadOptions;
    nested('bulkhead', () => bulkhead(probe));
  }

  let limiter: RateLimiter | undefined;
  let limitWait: { maxWaitMs: number } | undefined;
  if (options.rateLimit !== undefined) {
    const given: unknown = options.rateLimit;
    if (isRecord(given) && 'limiter' in given) {
      checkOptions(`${WHERE}: option "rateLimit"`, given, ['limiter', 'wait']);
      limiter = given.limiter as RateLimiter;
      limitWait = given.wait as { maxWaitMs: number } | undefined;
    } else {
      limiter = given as RateLimiter;
    }
    const probeLimiter = limiter;
    const probeWait = limitWait;
    nested('rateLimit', () => rateLimit(probeLimiter, { key: 'probe', ...(probeWait === undefined ? {} : { wait: probeWait }) }));
  }

  // When full, an origin whose breaker is not closed is evicted last: recreated closed, it would let
  // traffic through to an origin known to fail.
  const tripped = (entry: Entry) => entry.circuitBreaker !== undefined && entry.circuitBreaker.state !== 'closed';
  const registry = new OriginRegistry<Entry>(
    maxOrigins,
    (origin) => {
      const breaker = breakerOptions === undefined ? undefined : circuitBreaker(breakerOptions);
      const limit =
        limiter === undefined
          ? undefined
          : rateLimit(limiter, { key: origin, ...(limitWait === undefined ? {} : { wait: limitWait }) });
      const pool = bulkheadOptions === undefined ? undefined : bulkhead(bulkheadOptions);
      const inner = [breaker, limit, pool, attemptTimeout].filter((p) => p !== undefined) as AnyPolicy[];
      const outer = deadline === undefined ? [] : [deadline];
      const retrying = compose(...outer, ...(retryPolicy === undefined ? [] : [retryPolicy]), ...inner);
      const once = retryPolicy === undefined ? retrying : compose(...outer, ...inner);
      const entry: Entry = { origin, circuitBreaker: breaker, rateLimit: limit, bulkhead: pool, retrying, once, inFlight: 0 };
      onOrigin?.(origin, { origin, circuitBreaker: breaker, rateLimit: limit, bulkhead: pool });
      return entry;
    },
    tripped,
  );

  /**
   * One attempt: fetch with the attempt's signal (the caller's, joined by the timeouts when there are any).
   * The timeouts' signal stops following the caller's once the response is returned, so when both exist
   * fetch gets the two combined: the caller's abort then still cuts the body being read, as with fetch.
   */
  function attempt(call: Pending, scoped: AbortSignal | undefined): Promise<Response> {
    const input = call.clone ? (call.input as Request).clone() : call.input;
    if (!timed) return send(input, call.init);
    const signal = call.signal === undefined ? (scoped as AbortSignal) : AbortSignal.any([scoped as AbortSignal, call.signal]);
    return send(input, call.init === undefined ? { signal } : { ...call.init, signal });
  }

  function failure(error: unknown, call: Pending): unknown {
    const signal = call.signal;
    if (signal?.aborted && error === signal.reason) return error;
    if (isFetchNetworkError(error)) return error;
    if (isNetworkError(error)) {
      return new FetchNetworkError(call.method, call.url, call.attempts, error, call.noRetry);
    }
    return annotate(error, call.method, call.url);
  }

  async function execute(entry: Entry, call: Pending): Promise<Response> {
    const pipeline = call.retryable ? entry.retrying : entry.once;
    entry.inFlight++;
    try {
      return (await pipeline.execute((context) => {
        call.attempts = context.attempt;
        return attempt(call, timed ? context.signal : undefined);
      }, call.signal)) as Response;
    } catch (error) {
      throw failure(error, call);
    } finally {
      entry.inFlight--;
    }
  }

  const resilient = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
    const href = request !== undefined ? request.url : input instanceof URL ? input.href : String(input);
    let url: URL;
    try {
      url = new URL(href);
    } catch (cause) {
      return Promise.reject(new TypeError(`${WHERE}: invalid URL ${show(href)}: an absolute http(s) URL is expected`, { cause }));
    }
    // data:, blob: and other schemes have no origin to protect: hand them to fetch as they are.
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return send(input, init);
    try {
      const facts = requestFacts(input, init, methods, idempotencyKeyHeader, replayRequestBodies);
      const text = urlForMessage(url);
      const retryable = retryPolicy !== undefined && facts.noRetry === undefined;
      if (request?.bodyUsed === true && (init?.body ?? null) === null) {
        throw new TypeError(
          `${WHERE}: ${facts.method} ${text}: the Request's body has already been read, so it cannot be sent; pass a new Request`,
        );
      }
      const signal = init !== undefined && init.signal !== undefined ? (init.signal ?? undefined) : request?.signal;
      const call: Pending = {
        input,
        init,
        clone: facts.cloneRequest && retryable,
        signal,
        method: facts.method,
        url: text,
        retryable,
        noRetry: retryPolicy === undefined ? undefined : facts.noRetry,
        attempts: 0,
      };
      return execute(registry.get(url.origin), call);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  return Object.defineProperties(resilient, {
    retry: { value: retryPolicy, enumerable: true },
    origins: { get: () => registry.keys(), enumerable: true },
    policies: {
      value: (target: string | URL): OriginPolicies | undefined => {
        const entry = registry.peek(new URL(target).origin);
        return entry === undefined
          ? undefined
          : { origin: entry.origin, circuitBreaker: entry.circuitBreaker, rateLimit: entry.rateLimit, bulkhead: entry.bulkhead };
      },
      enumerable: true,
    },
  }) as unknown as ResilientFetch;
}
