/**
 * What a request allows: whether it may be sent more than once, and how to send it again. Pure functions
 * of the request (method, headers, body), so the tests check them without a server.
 */

/** RFC 9110 §9.2.2: the methods whose intended effect is the same however many times they are sent. */
export const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

/**
 * Why a request is sent at most once: `'method'`, a non-idempotent method without an idempotency key;
 * `'stream'`, a one-shot `init.body` (a stream or an async iterable); `'request-body'`, a `Request` input
 * with a body (always a stream, whatever it was made from) without `retry.replayRequestBodies`.
 */
export type NoRetryReason = 'method' | 'stream' | 'request-body';

/** A body that can be read only once: a stream, or any async iterable (undici accepts both). */
export function isOneShotBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body !== 'object') return false;
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) return true;
  return typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** The value of the field `name` (lower case) in `headers` (any `HeadersInit`), or undefined without one. */
export function headerValue(headers: unknown, name: string): string | undefined {
  if (headers === null || headers === undefined || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).has === 'function' && typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<unknown>) {
      const key = Array.isArray(pair) ? pair[0] : undefined;
      if (typeof key === 'string' && key.toLowerCase() === name) return String((pair as unknown[])[1]);
    }
    return undefined;
  }
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return String((headers as Record<string, unknown>)[key]);
  }
  return undefined;
}

/** Whether `headers` has a field named `name` (lower case) with a non-empty value. */
export function hasHeader(headers: unknown, name: string): boolean {
  const value = headerValue(headers, name);
  return value !== undefined && value.trim() !== '';
}

export interface RequestFacts {
  /** The method, upper-cased for comparison. */
  readonly method: string;
  /** Why it must not be sent twice, or undefined when it may be retried. */
  readonly noRetry: NoRetryReason | undefined;
  /**
   * The input is a `Request` whose body is replayed (`replayRequestBodies`): each attempt must send a clone
   * (a Request's body is read once).
   */
  readonly cloneRequest: boolean;
}

/**
 * Reads what matters for retrying from fetch's arguments. `methods` are the retryable methods (upper
 * case); a request with the `idempotencyKeyHeader` field (non-empty) is retryable whatever its method.
 *
 * A `Request` input's body is a stream whatever it was made from (a string or a `ReadableStream` look the
 * same), so it is sent at most once unless `replayRequestBodies` says to replay it from clones (which
 * buffers the whole body in memory until the call ends). A body in `init` replaces the Request's own and
 * is judged by its type: strings, Blobs, buffers, URLSearchParams and FormData are sent again as they are.
 */
export function requestFacts(
  input: unknown,
  init: RequestInit | undefined,
  methods: ReadonlySet<string>,
  idempotencyKeyHeader: string | undefined,
  replayRequestBodies = false,
): RequestFacts {
  const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
  const rawMethod = init?.method ?? request?.method ?? 'GET';
  const method = typeof rawMethod === 'string' ? rawMethod.toUpperCase() : String(rawMethod);
  const initBody = init?.body;
  const hasInitBody = initBody !== undefined && initBody !== null;
  let noRetry: NoRetryReason | undefined;
  if (!methods.has(method)) {
    const headers = init?.headers ?? request?.headers;
    if (idempotencyKeyHeader === undefined || !hasHeader(headers, idempotencyKeyHeader)) noRetry = 'method';
  }
  if (hasInitBody && isOneShotBody(initBody)) noRetry ??= 'stream';
  // init.body replaces the Request's own body; otherwise the Request's body is what is sent.
  const requestBody = request !== undefined && !hasInitBody && request.body !== null;
  if (requestBody && !replayRequestBodies) noRetry ??= 'request-body';
  return { method, noRetry, cloneRequest: requestBody && replayRequestBodies };
}
