/**
 * Errors of `weir/fetch`. weir's own rejections (TimeoutError, CircuitOpenError, ...) keep their class and
 * fields and get the request's method and URL appended to their message. A network failure (fetch rejects
 * with a `TypeError` that has a `cause`) becomes a {@link FetchNetworkError}: still a `TypeError`, as
 * fetch's own, with the method, the URL, the number of attempts and, when it was not retried, why.
 */
import { isWeirError } from '../../src/index.js';
import type { NoRetryReason } from './request.js';

const NETWORK_BRAND: unique symbol = Symbol.for('weir.fetch.networkError') as never;

/** A URL for messages: without credentials, and without its query (which often carries tokens). */
export function urlForMessage(url: URL): string {
  const query = url.search === '' ? '' : '?…';
  return `${url.protocol}//${url.host}${url.pathname}${query}`;
}

function causeText(error: unknown): string {
  const inner = (error as { cause?: unknown }).cause;
  const source = inner instanceof Error ? inner : error;
  const code = (source as { code?: unknown }).code;
  const message = source instanceof Error ? source.message : String(source);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

const NOT_RETRIED: Record<NoRetryReason, (method: string) => string> = {
  method: (method) => `not retried: ${method} is not idempotent; send an Idempotency-Key header to allow retries`,
  stream: () => 'not retried: the request body is a one-shot stream',
  'request-body': () =>
    "not retried: a Request's body is a stream that is read once; pass the body in init, or set retry.replayRequestBodies to replay it from memory",
};

/** The request failed at the network level (connection refused or reset, DNS failure, ...). */
export class FetchNetworkError extends TypeError {
  readonly method: string;
  /** The URL, as in the message (no credentials, no query). */
  readonly url: string;
  /** Requests sent. */
  readonly attempts: number;
  /** Why it was not retried, when it was sent only once because it may not be sent twice. */
  readonly notRetried: NoRetryReason | undefined;

  constructor(method: string, url: string, attempts: number, cause: unknown, notRetried?: NoRetryReason) {
    const after = attempts > 1 ? ` after ${attempts} attempts` : '';
    const why = notRetried === undefined ? '' : ` (${NOT_RETRIED[notRetried](method)})`;
    super(`fetch failed${after}: ${method} ${url}: ${causeText(cause)}${why}`, { cause });
    this.method = method;
    this.url = url;
    this.attempts = attempts;
    this.notRetried = notRetried;
  }
}
Object.defineProperty(FetchNetworkError.prototype, 'name', { value: 'FetchNetworkError', writable: true, configurable: true });
Object.defineProperty(FetchNetworkError.prototype, NETWORK_BRAND, { value: true });

/** True for a {@link FetchNetworkError}, also across two copies of the package. */
export function isFetchNetworkError(value: unknown): value is FetchNetworkError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[NETWORK_BRAND] === true;
}

/**
 * How fetch reports a network failure: a `TypeError` with a `cause` (undici: "fetch failed", cause
 * ECONNREFUSED, UND_ERR_SOCKET...). A `TypeError` without a cause is fetch refusing the request itself (a
 * GET with a body, a bad header): sending it again cannot help.
 */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && (error as { cause?: unknown }).cause !== undefined;
}

/** Appends `(METHOD url)` to a weir error's message, once. Other errors are left alone. */
export function annotate(error: unknown, method: string, url: string): unknown {
  if (!isWeirError(error)) return error;
  const suffix = ` (${method} ${url})`;
  if (!error.message.endsWith(suffix)) {
    Object.defineProperty(error, 'message', {
      value: error.message + suffix,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  return error;
}
