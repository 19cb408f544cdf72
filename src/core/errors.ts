/**
 * weir's error classes. Each has a stable `code` and a brand (a `Symbol.for` key, shared by every copy of
 * the package in a process), so the `is*` guards work where `instanceof` fails across two installed copies.
 *
 * Rejections on hot paths (open circuit, full bulkhead, rate limited, timeout) are created with the
 * internal `fast` factories, which skip the `Error` constructor and so capture no stack trace: V8 spends
 * microseconds on a stack, far more than the call being rejected. Their `stack` says so.
 */
export const ERROR_BRAND: unique symbol = Symbol.for('weir.error.code') as never;
/** Marker that tells `retry` never to retry an error (see {@link markNonRetryable}). */
export const NON_RETRYABLE: unique symbol = Symbol.for('weir.nonRetryable') as never;

export type WeirErrorCode =
  | 'ERR_WEIR_TIMEOUT'
  | 'ERR_WEIR_CIRCUIT_OPEN'
  | 'ERR_WEIR_BULKHEAD_FULL'
  | 'ERR_WEIR_RATE_LIMITED'
  | 'ERR_WEIR_RETRY_EXHAUSTED';

export abstract class WeirError extends Error {
  abstract readonly code: WeirErrorCode;
  /** Milliseconds after which trying again may succeed, when the rejecting policy knows it. */
  declare readonly retryAfterMs?: number;
}

Object.defineProperty(WeirError.prototype, 'stack', {
  configurable: true,
  // Only fast-created errors reach this: the Error constructor gives every other instance its own stack.
  get(this: Error) {
    return `${this.name}: ${this.message}\n    (created without a stack trace: weir fast rejection)`;
  },
  set(this: Error, value: unknown) {
    Object.defineProperty(this, 'stack', { value, writable: true, configurable: true, enumerable: false });
  },
});

function brand(ctor: { prototype: object }, code: WeirErrorCode, name: string): void {
  Object.defineProperty(ctor.prototype, ERROR_BRAND, { value: code });
  Object.defineProperty(ctor.prototype, 'code', { value: code, enumerable: true });
  Object.defineProperty(ctor.prototype, 'name', { value: name, writable: true, configurable: true });
}

function fast<T extends object>(proto: T, fields: Record<string, unknown>): T {
  return Object.assign(Object.create(proto) as T, fields);
}

export interface TimeoutErrorOptions {
  cause?: unknown;
  /** The name of the timeout policy. */
  policy?: string;
}

/** The call did not settle within `timeoutMs`. */
export class TimeoutError extends WeirError {
  declare readonly code: 'ERR_WEIR_TIMEOUT';
  readonly timeoutMs: number;
  /** The name of the timeout policy whose deadline passed (undefined when unknown). */
  readonly policy: string | undefined;
  constructor(timeoutMs: number, options?: TimeoutErrorOptions) {
    super(`Operation timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
    this.policy = options?.policy;
  }
  /** @internal */
  static fast(timeoutMs: number, cause?: unknown, policy?: string): TimeoutError {
    const fields: Record<string, unknown> = { timeoutMs, message: `Operation timed out after ${timeoutMs} ms` };
    if (cause !== undefined) fields.cause = cause;
    fields.policy = policy;
    return fast(TimeoutError.prototype, fields);
  }
}
brand(TimeoutError, 'ERR_WEIR_TIMEOUT', 'TimeoutError');

export type CircuitRejectedState = 'open' | 'half-open' | 'isolated';

/** The circuit breaker rejected the call without running it. */
export class CircuitOpenError extends WeirError {
  declare readonly code: 'ERR_WEIR_CIRCUIT_OPEN';
  declare readonly retryAfterMs: number;
  readonly state: CircuitRejectedState;
  /** The name of the breaker that rejected (undefined when unknown). */
  readonly policy: string | undefined;
  constructor(retryAfterMs: number, state: CircuitRejectedState = 'open', policy?: string) {
    super(circuitMessage(retryAfterMs, state, policy));
    this.retryAfterMs = retryAfterMs;
    this.state = state;
    this.policy = policy;
  }
  /** @internal */
  static fast(retryAfterMs: number, state: CircuitRejectedState = 'open', policy?: string): CircuitOpenError {
    return fast(CircuitOpenError.prototype, {
      retryAfterMs,
      state,
      policy,
      message: circuitMessage(retryAfterMs, state, policy),
    });
  }
}
brand(CircuitOpenError, 'ERR_WEIR_CIRCUIT_OPEN', 'CircuitOpenError');

function circuitMessage(retryAfterMs: number, state: CircuitRejectedState, policy: string | undefined): string {
  const circuit = policy === undefined ? 'Circuit' : `Circuit "${policy}"`;
  return state === 'isolated'
    ? `${circuit} is isolated (forced open)`
    : `${circuit} is ${state}; retry after ${Math.ceil(retryAfterMs)} ms`;
}

export type BulkheadRejectReason = 'full' | 'queue-timeout';

/** The bulkhead had no free slot and no room (or no time left) in its queue. */
export class BulkheadFullError extends WeirError {
  declare readonly code: 'ERR_WEIR_BULKHEAD_FULL';
  readonly reason: BulkheadRejectReason;
  readonly limit: number;
  /** The name of the bulkhead that rejected (undefined when unknown). */
  readonly policy: string | undefined;
  constructor(reason: BulkheadRejectReason, limit: number, policy?: string) {
    super(bulkheadMessage(reason, limit, policy));
    this.reason = reason;
    this.limit = limit;
    this.policy = policy;
  }
  /** @internal */
  static fast(reason: BulkheadRejectReason, limit: number, policy?: string): BulkheadFullError {
    return fast(BulkheadFullError.prototype, { reason, limit, policy, message: bulkheadMessage(reason, limit, policy) });
  }
}
brand(BulkheadFullError, 'ERR_WEIR_BULKHEAD_FULL', 'BulkheadFullError');

function bulkheadMessage(reason: BulkheadRejectReason, limit: number, policy: string | undefined): string {
  const bulkhead = policy === undefined ? 'Bulkhead' : `Bulkhead "${policy}"`;
  return reason === 'full'
    ? `${bulkhead} is full (${limit} running, queue full)`
    : `${bulkhead} queue wait timed out (${limit} running)`;
}

export type RateLimitReason = 'limit' | 'cost-exceeds-limit';

/** The rate limiter refused the call. `retryAfterMs` is the exact wait (Infinity when the cost can never pass). */
export class RateLimitedError extends WeirError {
  declare readonly code: 'ERR_WEIR_RATE_LIMITED';
  declare readonly retryAfterMs: number;
  readonly reason: RateLimitReason;
  readonly limit: number;
  readonly remaining: number;
  /** The name of the limiter that refused (undefined when unknown). */
  readonly policy: string | undefined;
  constructor(
    retryAfterMs: number,
    options: { reason?: RateLimitReason; limit?: number; remaining?: number; policy?: string } = {},
  ) {
    const reason = options.reason ?? 'limit';
    super(rateMessage(retryAfterMs, reason, options.policy));
    this.retryAfterMs = retryAfterMs;
    this.reason = reason;
    this.limit = options.limit ?? 0;
    this.remaining = options.remaining ?? 0;
    this.policy = options.policy;
  }
  /** @internal */
  static fast(
    retryAfterMs: number,
    reason: RateLimitReason,
    limit: number,
    remaining: number,
    policy?: string,
  ): RateLimitedError {
    return fast(RateLimitedError.prototype, {
      retryAfterMs,
      reason,
      limit,
      remaining,
      policy,
      message: rateMessage(retryAfterMs, reason, policy),
    });
  }
}
brand(RateLimitedError, 'ERR_WEIR_RATE_LIMITED', 'RateLimitedError');

function rateMessage(retryAfterMs: number, reason: RateLimitReason, policy: string | undefined): string {
  const by = policy === undefined ? '' : ` by "${policy}"`;
  return reason === 'cost-exceeds-limit'
    ? `Rate limited${by}: the cost exceeds the limit and can never pass`
    : `Rate limited${by}; retry after ${Math.ceil(retryAfterMs)} ms`;
}

/** Why `retry` stopped: attempts, time budget, retry budget, or a Retry-After hint that says never (Infinity). */
export type RetryGiveUpReason = 'attempts' | 'elapsed' | 'budget' | 'retryAfter';

/** Thrown by `retry` (with `exhaustedResult: 'throw'`) when retries run out and the last attempt returned a failing result. */
export class RetryExhaustedError extends WeirError {
  declare readonly code: 'ERR_WEIR_RETRY_EXHAUSTED';
  constructor(
    /** Calls made. */
    readonly attempts: number,
    /** The last result. */
    readonly value: unknown,
    readonly reason: RetryGiveUpReason,
  ) {
    super(`Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} (${reason}); the last result was a failure`);
  }
}
brand(RetryExhaustedError, 'ERR_WEIR_RETRY_EXHAUSTED', 'RetryExhaustedError');

function codeOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<symbol, unknown>)[ERROR_BRAND] : undefined;
}

export function isWeirError(value: unknown): value is WeirError {
  return typeof codeOf(value) === 'string';
}
export function isTimeoutError(value: unknown): value is TimeoutError {
  return codeOf(value) === 'ERR_WEIR_TIMEOUT';
}
export function isCircuitOpenError(value: unknown): value is CircuitOpenError {
  return codeOf(value) === 'ERR_WEIR_CIRCUIT_OPEN';
}
export function isBulkheadFullError(value: unknown): value is BulkheadFullError {
  return codeOf(value) === 'ERR_WEIR_BULKHEAD_FULL';
}
export function isRateLimitedError(value: unknown): value is RateLimitedError {
  return codeOf(value) === 'ERR_WEIR_RATE_LIMITED';
}
export function isRetryExhaustedError(value: unknown): value is RetryExhaustedError {
  return codeOf(value) === 'ERR_WEIR_RETRY_EXHAUSTED';
}

/** True for an `AbortError` (a `DOMException` or any error named so) and for weir's abort reasons. */
export function isAbortError(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'AbortError';
}

/**
 * Marks an error so that `retry` never retries it, whatever its predicates say, e.g. a validation failure
 * deep in a stack of retrying layers. Returns the same error. Errors with `retryable === false` count too.
 */
export function markNonRetryable<E extends object>(error: E): E {
  Object.defineProperty(error, NON_RETRYABLE, { value: true, configurable: true });
  return error;
}

export function isNonRetryable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<PropertyKey, unknown>;
  return record[NON_RETRYABLE] === true || record.retryable === false;
}
