/**
 * Backoffs: how long `retry` waits before the next attempt. A backoff is a pure function of
 * (attempt, previous delay, one uniform random number, outcome), so one instance is shared by every call
 * and tests can check each delay against its formula without a clock.
 *
 * Jitter kinds follow AWS, "Exponential Backoff and Jitter" (Brooker, 2015), with
 * `expo(n) = min(maxMs, initialMs × factor^(n−1))` for the delay after attempt n:
 * - `none`: `expo(n)`;
 * - `full` (default): `U(0, expo(n))`;
 * - `equal`: `expo(n)/2 + U(0, expo(n)/2)`;
 * - `decorrelated`: `min(maxMs, U(initialMs, previous × 3))`, starting from `previous = initialMs`.
 */
import { checkDuration, checkNumber, checkOneOf, checkOptions, isUnset, show } from '../core/validate.js';

/** What the attempt that just failed produced: an error, or a value that `retryOnResult` rejected. */
export type RetryOutcome = { readonly ok: false; readonly error: unknown } | { readonly ok: true; readonly value: unknown };

export interface Backoff {
  /**
   * Milliseconds to wait after attempt `attempt` (1 = the first call) failed, before the next one.
   * `previousMs` is the delay this backoff returned before the previous attempt of the same call
   * (`undefined` before the first retry); `random` is uniform in [0, 1) from the policy's clock.
   */
  delay(attempt: number, previousMs: number | undefined, random: number, outcome: RetryOutcome): number;
}

/** A custom backoff: `(attempt, outcome) => ms`, where `attempt` is the attempt that just failed (1-based). */
export type BackoffFunction = (attempt: number, outcome: RetryOutcome) => number;

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';
export const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];

/** The defaults of `exponentialBackoff()` (also `retry`'s default backoff). */
export const BACKOFF_DEFAULTS = Object.freeze({
  initialMs: 100,
  factor: 2,
  /** At least `initialMs`. */
  maxMs: 30_000,
  jitter: 'full' as Jitter,
});

/** A delay is slept in chunks, so any finite duration is meaningful. */
const LONG = Object.freeze({ long: true });

export interface ExponentialBackoffOptions {
  /** Base delay: the (un-jittered) wait after the first failure (default 100 ms). */
  initialMs?: number;
  /** Growth per attempt, >= 1 (default 2). Not used by `decorrelated`, whose growth is AWS's fixed × 3. */
  factor?: number;
  /** Cap of every delay, >= `initialMs` (default 30 000 ms). */
  maxMs?: number;
  /** Default `'full'`. */
  jitter?: Jitter;
}

export interface ExponentialBackoff extends Backoff {
  readonly kind: 'exponential';
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
  readonly jitter: Jitter;
}

export interface ConstantBackoff extends Backoff {
  readonly kind: 'constant';
  readonly ms: number;
}

const EXPONENTIAL_OPTIONS = ['initialMs', 'factor', 'maxMs', 'jitter'] as const;

/** `min(maxMs, initialMs × factor^(attempt−1))`, without NaN for a zero base or an overflowing power. */
export function exponentialCeiling(initialMs: number, factor: number, maxMs: number, attempt: number): number {
  if (initialMs === 0) return 0;
  const raw = initialMs * factor ** (attempt - 1);
  return Math.min(raw, maxMs);
}

/** The pure formula behind {@link exponentialBackoff}, exported for tests and for custom backoffs. */
export function jitteredDelay(
  jitter: Jitter,
  initialMs: number,
  factor: number,
  maxMs: number,
  attempt: number,
  previousMs: number | undefined,
  random: number,
): number {
  switch (jitter) {
    case 'none':
      return exponentialCeiling(initialMs, factor, maxMs, attempt);
    case 'full':
      return random * exponentialCeiling(initialMs, factor, maxMs, attempt);
    case 'equal': {
      const half = exponentialCeiling(initialMs, factor, maxMs, attempt) / 2;
      return half + random * half;
    }
    default: {
      // Decorrelated: U(base, prev × 3), capped. The previous delay may be below base only if it was capped.
      const previous = previousMs === undefined || previousMs < initialMs ? initialMs : previousMs;
      const next = initialMs + random * (previous * 3 - initialMs);
      return Math.min(next, maxMs);
    }
  }
}

/** Exponential backoff with AWS jitter kinds (full jitter by default). */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): ExponentialBackoff {
  const where = 'exponentialBackoff';
  checkOptions(where, options, EXPONENTIAL_OPTIONS);
  const initialMs = isUnset(where, 'initialMs', options.initialMs)
    ? BACKOFF_DEFAULTS.initialMs
    : checkDuration(where, 'initialMs', options.initialMs, LONG);
  const factor = isUnset(where, 'factor', options.factor)
    ? BACKOFF_DEFAULTS.factor
    : checkNumber(where, 'factor', options.factor, 1);
  const maxMs = isUnset(where, 'maxMs', options.maxMs)
    ? Math.max(BACKOFF_DEFAULTS.maxMs, initialMs)
    : checkDuration(where, 'maxMs', options.maxMs, LONG);
  if (maxMs < initialMs) {
    throw new RangeError(`${where}: option "maxMs" (${show(maxMs)}) must be >= option "initialMs" (${show(initialMs)})`);
  }
  const jitter = isUnset(where, 'jitter', options.jitter)
    ? BACKOFF_DEFAULTS.jitter
    : checkOneOf(where, 'jitter', options.jitter, JITTERS);
  return Object.freeze({
    kind: 'exponential' as const,
    initialMs,
    factor,
    maxMs,
    jitter,
    delay: (attempt: number, previousMs: number | undefined, random: number) =>
      jitteredDelay(jitter, initialMs, factor, maxMs, attempt, previousMs, random),
  });
}

/** The same delay before every retry. */
export function constantBackoff(ms: number): ConstantBackoff {
  const delay = checkDuration('constantBackoff', 'ms', ms, LONG);
  return Object.freeze({ kind: 'constant' as const, ms: delay, delay: () => delay });
}
