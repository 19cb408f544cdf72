/**
 * The retry family's options: named defaults and one parser, shared by `retry` and by the adapters that
 * build a retry from their own options (the fetch adapter), so that rules and messages never drift.
 */
import { type Clock, systemClock } from '../core/clock.js';
import {
  checkBoolean,
  checkClock,
  checkCount,
  checkDuration,
  checkFunction,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkPositive,
  isUnset,
  show,
} from '../core/validate.js';
import { type Backoff, type BackoffFunction, constantBackoff, exponentialBackoff } from './backoff.js';
import type { RetryBudgetLike } from './budget.js';

/** weir's own rejections, which `retry` leaves alone unless told otherwise. */
export type WeirRejection = 'circuitOpen' | 'bulkheadFull' | 'rateLimited';
export const WEIR_REJECTIONS: readonly WeirRejection[] = ['circuitOpen', 'bulkheadFull', 'rateLimited'];

export { BACKOFF_DEFAULTS, JITTERS } from './backoff.js';

/** The defaults of `retry`'s options. */
export const RETRY_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  /** The most a delay hint (`Retry-After`) may add to the wait. */
  maxDelayMs: 60_000,
  honorRetryAfter: true,
  exhaustedResult: 'return' as const,
});

/** Option names of `retry` (the fetch adapter takes most of them under `retry`). */
export const RETRY_OPTIONS = [
  'maxAttempts',
  'backoff',
  'retryOn',
  'retryOnResult',
  'retryRejections',
  'honorRetryAfter',
  'maxDelayMs',
  'maxElapsedMs',
  'budget',
  'exhaustedResult',
  'clock',
  'name',
] as const;

/** Delays are slept in chunks, so any finite duration is meaningful (Infinity only where documented). */
export const LONG = Object.freeze({ long: true });
const LONG_OR_NEVER = Object.freeze({ long: true, never: true });

/** `retry`'s options, validated. */
export interface RetryConfig {
  maxAttempts: number;
  backoff: Backoff;
  retryOn: ((error: unknown, attempt: number) => boolean) | undefined;
  retryOnResult: ((value: unknown, attempt: number) => boolean) | undefined;
  circuitOpen: boolean;
  bulkheadFull: boolean;
  rateLimited: boolean;
  honorRetryAfter: boolean;
  maxDelayMs: number;
  maxElapsedMs: number | undefined;
  budget: RetryBudgetLike | undefined;
  throwOnExhausted: boolean;
  clock: Clock;
}

/**
 * Turns a `backoff` option (a backoff object, a function `(attempt, outcome) => ms`, or a number of ms)
 * into a {@link Backoff}.
 */
export function parseBackoff(where: string, name: string, value: unknown): Backoff {
  if (typeof value === 'number') return constantBackoff(checkDuration(where, name, value, LONG));
  if (typeof value === 'function') {
    const fn = value as BackoffFunction;
    return { delay: (attempt, _previous, _random, outcome) => fn(attempt, outcome) };
  }
  if (typeof value === 'object' && value !== null && typeof (value as Backoff).delay === 'function') return value as Backoff;
  throw new TypeError(
    `${where}: option "${name}" must be a backoff object (exponentialBackoff(), constantBackoff()), a function (attempt, outcome) => ms, or a number of ms, got ${show(value)}`,
  );
}

function parseRejections(where: string, name: string, value: unknown): Set<WeirRejection> {
  if (value === undefined || value === false) return new Set();
  if (value === true) return new Set(WEIR_REJECTIONS);
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${where}: option "${name}" must be a boolean or a list of ${WEIR_REJECTIONS.join(', ')}, got ${show(value)}`,
    );
  }
  return new Set(value.map((item) => checkOneOf(where, name, item, WEIR_REJECTIONS)));
}

function parseBudget(where: string, name: string, value: unknown): RetryBudgetLike {
  const budget = value as Partial<RetryBudgetLike> | null;
  if (
    typeof budget !== 'object' ||
    budget === null ||
    typeof budget.deposit !== 'function' ||
    typeof budget.tryWithdraw !== 'function'
  ) {
    throw new TypeError(
      `${where}: option "${name}" must be a retry budget (retryBudget()) with deposit and tryWithdraw, got ${show(value)}`,
    );
  }
  return budget as RetryBudgetLike;
}

/**
 * Validates `retry`'s options (not the unknown-key check, which the caller does with its own list).
 * `prefix` names nested options in messages (the fetch adapter passes `retry.`); `defaultBackoff` builds
 * the backoff when none is given.
 */
export function parseRetryConfig(where: string, options: Record<string, unknown>, prefix = ''): RetryConfig {
  const name = (option: string): string => `${prefix}${option}`;
  const maxAttempts = isUnset(where, name('maxAttempts'), options.maxAttempts)
    ? RETRY_DEFAULTS.maxAttempts
    : checkCount(where, name('maxAttempts'), options.maxAttempts, 1, { unbounded: true });
  const maxDelayMs = isUnset(where, name('maxDelayMs'), options.maxDelayMs)
    ? RETRY_DEFAULTS.maxDelayMs
    : checkDuration(where, name('maxDelayMs'), options.maxDelayMs, LONG_OR_NEVER);
  const honorRetryAfter = isUnset(where, name('honorRetryAfter'), options.honorRetryAfter)
    ? RETRY_DEFAULTS.honorRetryAfter
    : checkBoolean(where, name('honorRetryAfter'), options.honorRetryAfter);
  const rejections = parseRejections(where, name('retryRejections'), options.retryRejections);
  const maxElapsedMs = isUnset(where, name('maxElapsedMs'), options.maxElapsedMs)
    ? undefined
    : checkDuration(where, name('maxElapsedMs'), options.maxElapsedMs, LONG);
  const budget = isUnset(where, name('budget'), options.budget) ? undefined : parseBudget(where, name('budget'), options.budget);
  if (maxAttempts === Number.POSITIVE_INFINITY && maxElapsedMs === undefined && budget === undefined) {
    throw new RangeError(
      `${where}: option "${name('maxAttempts')}" is Infinity with nothing else to stop a call that keeps failing: ` +
        `set "${name('maxElapsedMs')}" (a time budget per call), a "${name('budget')}" (retryBudget()), or a finite "${name('maxAttempts')}"`,
    );
  }
  return {
    maxAttempts,
    backoff: isUnset(where, name('backoff'), options.backoff)
      ? exponentialBackoff()
      : parseBackoff(where, name('backoff'), options.backoff),
    retryOn: isUnset(where, name('retryOn'), options.retryOn)
      ? undefined
      : checkFunction(where, name('retryOn'), options.retryOn),
    retryOnResult: isUnset(where, name('retryOnResult'), options.retryOnResult)
      ? undefined
      : checkFunction(where, name('retryOnResult'), options.retryOnResult),
    circuitOpen: rejections.has('circuitOpen'),
    bulkheadFull: rejections.has('bulkheadFull'),
    rateLimited: rejections.has('rateLimited'),
    honorRetryAfter,
    maxDelayMs,
    maxElapsedMs,
    budget,
    throwOnExhausted: isUnset(where, name('exhaustedResult'), options.exhaustedResult)
      ? false
      : checkOneOf(where, name('exhaustedResult'), options.exhaustedResult, ['return', 'throw']) === 'throw',
    clock: isUnset(where, name('clock'), options.clock) ? systemClock : checkClock(where, options.clock),
  };
}

/** The defaults of `retryBudget`'s options (Finagle's). */
export const RETRY_BUDGET_DEFAULTS = Object.freeze({
  ttlMs: 10_000,
  minRetriesPerSec: 10,
  percentCanRetry: 0.2,
});

export interface RetryBudgetConfig {
  ttlMs: number;
  minRetriesPerSec: number;
  percentCanRetry: number;
  clock: Clock;
}

/** Validates `retryBudget`'s options. */
export function parseRetryBudgetOptions(options: Record<string, unknown> | undefined): RetryBudgetConfig {
  const where = 'retryBudget';
  checkOptions(where, options, ['ttlMs', 'minRetriesPerSec', 'percentCanRetry', 'clock']);
  const raw = options ?? {};
  const defaults = RETRY_BUDGET_DEFAULTS;
  return {
    // The window is compared with the clock, never armed: any finite duration > 0.
    ttlMs: isUnset(where, 'ttlMs', raw.ttlMs) ? defaults.ttlMs : checkPositive(where, 'ttlMs', raw.ttlMs),
    minRetriesPerSec: isUnset(where, 'minRetriesPerSec', raw.minRetriesPerSec)
      ? defaults.minRetriesPerSec
      : checkNumber(where, 'minRetriesPerSec', raw.minRetriesPerSec, 0),
    percentCanRetry: isUnset(where, 'percentCanRetry', raw.percentCanRetry)
      ? defaults.percentCanRetry
      : checkNumber(where, 'percentCanRetry', raw.percentCanRetry, 0),
    clock: isUnset(where, 'clock', raw.clock) ? systemClock : checkClock(where, raw.clock),
  };
}
