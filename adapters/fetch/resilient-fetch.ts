/**
 * `resilientFetch(options)`: a function with fetch's own signature that sends each request through one
 * fused weir pipeline per origin (scheme + host + port):
 *
 *   timeout(deadlineMs) → retry → circuitBreaker → rateLimit → bulkhead → timeout(timeoutMs) → fetch
 *
 * The deadline, the retry and the per-attempt timeout hold no per-origin state, so one instance of each
 * serves every origin; the breaker, the bulkhead and the rate-limit policy are created per origin on first
 * use and kept in a bounded LRU (`maxOrigins`, origins.ts). A request that may not be sent twice (a
 * non-idempotent method without an Idempotency-Key, a one-shot stream body, a `Request` input with a body
 * unless `retry.replayRequestBodies`) goes through the same pipeline without the retry stage, so it shares
 * its origin's breaker, limiter and bulkhead but is sent at most once. Options: options.ts; discarded
 * bodies: body.ts.
 */
import { show } from '../../src/core/validate.js';
import {
  type AnyPolicy,
  bulkhead,
  circuitBreaker,
  compose,
  exponentialBackoff,
  parseRetryAfter,
  type RetryPolicy,
  rateLimit,
  retry,
  timeout,
} from '../../src/index.js';
import type { Backoff } from '../../src/retry/backoff.js';
import { parseBackoff } from '../../src/retry/options.js';
import { discardBody } from './body.js';
import { annotate, FetchNetworkError, isFetchNetworkError, isNetworkError, urlForMessage } from './errors.js';
import {
  type FetchConfig,
  isTransientError,
  type OriginPolicies,
  parseFetchOptions,
  type ResilientFetchOptions,
  WHERE,
} from './options.js';
import { type OriginEntry, OriginRegistry } from './origins.js';
import { rateLimitFieldDelay } from './rate-limit-field.js';
import { type NoRetryReason, requestFacts } from './request.js';

export {
  DEFAULT_RETRY_STATUSES,
  type FetchImplementation,
  type FetchRateLimitOptions,
  type FetchRetryOptions,
  isTransientError,
  type OriginPolicies,
  type ResilientFetchOptions,
} from './options.js';

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

/**
 * The retry shared by every origin: the given backoff, raised to the RateLimit field's `t` on a 429/503
 * without Retry-After (which retry reads itself), capped like Retry-After by `maxDelayMs`.
 */
function buildRetry(config: FetchConfig): RetryPolicy | undefined {
  const options = config.retry;
  if (options === undefined) return undefined;
  const { clock } = config;
  const given = options.policy.backoff;
  const base: Backoff = given === undefined ? exponentialBackoff() : parseBackoff(WHERE, 'retry.backoff', given);
  const { honorRetryAfter, maxDelayMs, statuses } = options;
  const backoff: Backoff = {
    delay(attempt, previousMs, random, outcome) {
      const ms = base.delay(attempt, previousMs, random, outcome);
      if (!honorRetryAfter || !outcome.ok) return ms;
      const hint = rateLimitHint(outcome.value as Response, clock.wallNow());
      return hint === undefined ? ms : Math.max(ms, Math.min(hint, maxDelayMs));
    },
  };
  // A wait that cannot end before the deadline would only turn the last response into a TimeoutError.
  const elapsed = Math.min(options.maxElapsedMs ?? Number.POSITIVE_INFINITY, config.deadlineMs ?? Number.POSITIVE_INFINITY);
  const policy = retry({
    ...options.policy,
    backoff,
    retryOn: options.policy.retryOn ?? isTransientError,
    retryOnResult: (response: Response) => statuses.has(response.status),
    ...(elapsed === Number.POSITIVE_INFINITY ? {} : { maxElapsedMs: elapsed }),
    clock,
  });
  policy.on('retry', (event) => {
    if (event.ok) discardBody(event.value, clock);
  });
  return policy;
}

/** The per-origin policies and the two pipelines of an origin. */
function originFactory(config: FetchConfig, retryPolicy: RetryPolicy | undefined): (origin: string) => Entry {
  const { clock } = config;
  const attemptTimeout = config.timeoutMs === undefined ? undefined : timeout({ ms: config.timeoutMs, clock });
  const outer = config.deadlineMs === undefined ? [] : [timeout({ ms: config.deadlineMs, clock })];
  const { circuitBreaker: breakerOptions, bulkhead: bulkheadOptions, limiter, limitWait, onOrigin } = config;
  return (origin) => {
    const breaker = breakerOptions === undefined ? undefined : circuitBreaker(breakerOptions);
    const limit =
      limiter === undefined
        ? undefined
        : rateLimit(limiter, { key: origin, ...(limitWait === undefined ? {} : { wait: limitWait }) });
    const pool = bulkheadOptions === undefined ? undefined : bulkhead(bulkheadOptions);
    const inner = [breaker, limit, pool, attemptTimeout].filter((p) => p !== undefined) as AnyPolicy[];
    const retrying = compose(...outer, ...(retryPolicy === undefined ? [] : [retryPolicy]), ...inner);
    const once = retryPolicy === undefined ? retrying : compose(...outer, ...inner);
    const entry: Entry = { origin, circuitBreaker: breaker, rateLimit: limit, bulkhead: pool, retrying, once, inFlight: 0 };
    onOrigin?.(origin, { origin, circuitBreaker: breaker, rateLimit: limit, bulkhead: pool });
    return entry;
  };
}

/** Builds a drop-in `fetch` with retries, per-origin breakers and limits, and timeouts; see docs/fetch.md. */
export function resilientFetch(options: ResilientFetchOptions = {}): ResilientFetch {
  const config = parseFetchOptions(options);
  const { send } = config;
  const timed = config.timeoutMs !== undefined || config.deadlineMs !== undefined;
  const retryPolicy = buildRetry(config);
  const methods = config.retry?.methods ?? new Set<string>();
  const idempotencyKeyHeader = config.retry?.idempotencyKeyHeader;
  const replayRequestBodies = config.retry?.replayRequestBodies ?? false;

  // When full, an origin whose breaker is not closed is evicted last: recreated closed, it would let
  // traffic through to an origin known to fail.
  const tripped = (entry: Entry) => entry.circuitBreaker !== undefined && entry.circuitBreaker.state !== 'closed';
  const registry = new OriginRegistry<Entry>(config.maxOrigins, originFactory(config, retryPolicy), tripped);

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

  const resilient = (input: RequestInfo | URL, given?: RequestInit | null): Promise<Response> => {
    // fetch(url, null) is fetch(url): null options are no options.
    const init = given ?? undefined;
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
