/**
 * The circuit breaker's options: named defaults and one parser, built on the core's validators. The
 * windows' sizes are bounded because they size allocations (one byte per call of a count window, four
 * numbers per bucket of a time window).
 */
import { type Clock, systemClock } from '../core/clock.js';
import {
  checkClock,
  checkCount,
  checkDuration,
  checkFunction,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkRatio,
  isUnset,
  show,
} from '../core/validate.js';
import { type CircuitState, type MachineConfig, STATE_NAMES } from './machine.js';
import { CountWindow, type OutcomeWindow, TimeWindow } from './window.js';

export type CircuitWindow =
  /** The last `size` calls. */
  | { type: 'count'; size: number }
  /** The last `durationMs`, kept in `buckets` buckets (default 10); a call leaves it a whole bucket at a time. */
  | { type: 'time'; durationMs: number; buckets?: number };

/** Open-state backoff: the n-th re-open in a row (n = 0 for the first open) lasts `min(maxMs, initialMs × multiplier^n)`. */
export interface OpenDurationBackoff {
  initialMs: number;
  maxMs: number;
  /** Default 2. */
  multiplier?: number;
}

export interface CircuitBreakerOptions {
  /** Default `{ type: 'count', size: 100 }`. */
  window?: CircuitWindow;
  /** No rate-based decision below this many calls in the window. Default min(10, size of a count window). */
  minimumCalls?: number;
  /** Opens when failures / calls ≥ this, in (0, 1]. Default 0.5. */
  failureRateThreshold?: number;
  /** Also opens after this many failures in a row (ignored outcomes do not break a streak). Default off. */
  consecutiveFailures?: number;
  /** Calls that take longer than this count as slow. Default: slow calls are not measured. */
  slowCallDurationMs?: number;
  /** Opens when slow calls / calls ≥ this, in (0, 1]. Default 1; needs `slowCallDurationMs`. */
  slowCallRateThreshold?: number;
  /** How long to stay open before half-open: a number, or a backoff for repeated re-opens. Default 10 000. */
  openDurationMs?: number | OpenDurationBackoff;
  halfOpen?: {
    /** Trial calls admitted in half-open; any other call fails fast. Default 1. */
    permits?: number;
    /** From the first trial: if the trials have not all completed by then, the breaker opens again. Default: the (initial) open duration, at least 1 ms. */
    maxWaitMs?: number;
  };
  /** Which errors count as failures; an error for which it returns false is ignored (counts neither way). Default: every error. */
  isFailure?: (error: unknown) => boolean;
  /** Which results count as failures (the result is still returned). Default: none. */
  isResultFailure?: (value: unknown) => boolean;
  /**
   * How to count a rejection by an inner weir policy (`BulkheadFullError`, `RateLimitedError`, an inner
   * breaker's `CircuitOpenError`): the dependency was never called, so by default (`'ignore'`) it counts
   * neither way; `'failure'` counts it as a failure. `isFailure` is not consulted for them.
   */
  innerRejections?: 'ignore' | 'failure';
  /** A state saved with `toJSON()` (e.g. before a restart). */
  initialState?: CircuitBreakerSnapshot;
  clock?: Clock;
  /** Names the breaker in its events and messages (default `circuit-breaker-<n>`). */
  name?: string;
}

/** A breaker's state as JSON: small, and in wall-clock time so that it survives a restart. */
export interface CircuitBreakerSnapshot {
  state: CircuitState;
  /** Re-opens in a row so far (drives the open-duration backoff). */
  reopens: number;
  /** For `open`: the wall-clock time (epoch ms) at which it turns half-open. */
  halfOpenAt?: number;
}

/** Largest count window: one byte per call, so at most 1 MB. */
export const MAX_COUNT_WINDOW = 1_000_000;
/** Most buckets of a time window: four numbers per bucket, so at most 320 KB. */
export const MAX_TIME_BUCKETS = 10_000;

/** The defaults of `circuitBreaker`'s options. */
export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  window: Object.freeze({ type: 'count' as const, size: 100 }),
  /** Buckets of a time window. */
  buckets: 10,
  /** Capped by the size of a count window. */
  minimumCalls: 10,
  failureRateThreshold: 0.5,
  /** Consecutive failures that open the breaker: off. */
  consecutiveFailures: Number.POSITIVE_INFINITY,
  /** Once `slowCallDurationMs` is set. */
  slowCallRateThreshold: 1,
  openDurationMs: 10_000,
  /** Growth of an open-duration backoff per re-open. */
  openDurationMultiplier: 2,
  halfOpenPermits: 1,
  innerRejections: 'ignore' as const,
});

export const CIRCUIT_BREAKER_OPTIONS = [
  'window',
  'minimumCalls',
  'failureRateThreshold',
  'consecutiveFailures',
  'slowCallDurationMs',
  'slowCallRateThreshold',
  'openDurationMs',
  'halfOpen',
  'isFailure',
  'isResultFailure',
  'innerRejections',
  'initialState',
  'clock',
  'name',
] as const;

const WHERE = 'circuitBreaker';
/** Durations the breaker compares with its clock and never arms: any finite value is meaningful. */
const LONG = Object.freeze({ long: true });
const LONG_POSITIVE = Object.freeze({ long: true, exclusiveMin: true });

/** `circuitBreaker`'s options, validated. */
export interface CircuitBreakerConfig {
  machine: MachineConfig;
  window: OutcomeWindow;
  slowCallDurationMs: number;
  isFailure: ((error: unknown) => boolean) | undefined;
  isResultFailure: ((value: unknown) => boolean) | undefined;
  countInnerRejections: boolean;
  initialState: CircuitBreakerSnapshot | undefined;
  clock: Clock;
}

export function parseWindow(value: unknown): OutcomeWindow {
  const defaults = CIRCUIT_BREAKER_DEFAULTS;
  if (isUnset(WHERE, 'window', value)) return new CountWindow(defaults.window.size);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `${WHERE}: option "window" must be { type: 'count', size } or { type: 'time', durationMs, buckets }, got ${show(value)}`,
    );
  }
  const type = checkOneOf(WHERE, 'window.type', (value as { type?: unknown }).type, ['count', 'time'] as const);
  if (type === 'count') {
    checkOptions(`${WHERE}: option "window"`, value, ['type', 'size']);
    return new CountWindow(checkCount(WHERE, 'window.size', (value as { size?: unknown }).size, 1, { max: MAX_COUNT_WINDOW }));
  }
  checkOptions(`${WHERE}: option "window"`, value, ['type', 'durationMs', 'buckets']);
  const { durationMs, buckets } = value as { durationMs?: unknown; buckets?: unknown };
  return new TimeWindow(
    checkDuration(WHERE, 'window.durationMs', durationMs, LONG_POSITIVE),
    isUnset(WHERE, 'window.buckets', buckets)
      ? defaults.buckets
      : checkCount(WHERE, 'window.buckets', buckets, 1, { max: MAX_TIME_BUCKETS }),
  );
}

export function parseOpenDuration(value: unknown): (reopens: number) => number {
  if (isUnset(WHERE, 'openDurationMs', value)) {
    const ms = CIRCUIT_BREAKER_DEFAULTS.openDurationMs;
    return () => ms;
  }
  if (typeof value === 'number') {
    const ms = checkDuration(WHERE, 'openDurationMs', value, LONG);
    return () => ms;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `${WHERE}: option "openDurationMs" must be a number or { initialMs, maxMs, multiplier }, got ${show(value)}`,
    );
  }
  checkOptions(`${WHERE}: option "openDurationMs"`, value, ['initialMs', 'maxMs', 'multiplier']);
  const backoff = value as Partial<Record<keyof OpenDurationBackoff, unknown>>;
  const initialMs = checkDuration(WHERE, 'openDurationMs.initialMs', backoff.initialMs, LONG);
  const maxMs = checkDuration(WHERE, 'openDurationMs.maxMs', backoff.maxMs, { long: true, min: initialMs });
  const multiplier = isUnset(WHERE, 'openDurationMs.multiplier', backoff.multiplier)
    ? CIRCUIT_BREAKER_DEFAULTS.openDurationMultiplier
    : checkNumber(WHERE, 'openDurationMs.multiplier', backoff.multiplier, 1);
  return (reopens) => Math.min(maxMs, initialMs * multiplier ** reopens);
}

export function parseSnapshot(value: unknown): CircuitBreakerSnapshot {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${WHERE}: option "initialState" must be an object from toJSON(), got ${show(value)}`);
  }
  checkOptions(`${WHERE}: option "initialState"`, value, ['state', 'reopens', 'halfOpenAt']);
  const raw = value as Partial<Record<keyof CircuitBreakerSnapshot, unknown>>;
  const state = checkOneOf(WHERE, 'initialState.state', raw.state, STATE_NAMES);
  const reopens = checkCount(WHERE, 'initialState.reopens', raw.reopens, 0);
  if (state !== 'open') {
    if (raw.halfOpenAt !== undefined)
      throw new TypeError(`${WHERE}: option "initialState.halfOpenAt" applies to state "open" only, got state ${show(state)}`);
    return { state, reopens };
  }
  const halfOpenAt = raw.halfOpenAt;
  if (typeof halfOpenAt !== 'number' || !Number.isFinite(halfOpenAt)) {
    throw new RangeError(
      `${WHERE}: option "initialState.halfOpenAt" must be a finite epoch time in ms for state "open", got ${show(halfOpenAt)}`,
    );
  }
  return { state, reopens, halfOpenAt };
}

/** Validates `circuitBreaker`'s options (not the unknown-key check). */
export function parseCircuitBreakerOptions(options: CircuitBreakerOptions): CircuitBreakerConfig {
  const defaults = CIRCUIT_BREAKER_DEFAULTS;
  const window = parseWindow(options.window);
  const minimumCalls = isUnset(WHERE, 'minimumCalls', options.minimumCalls)
    ? window instanceof CountWindow
      ? Math.min(defaults.minimumCalls, window.size)
      : defaults.minimumCalls
    : checkCount(WHERE, 'minimumCalls', options.minimumCalls, 1);
  if (window instanceof CountWindow && minimumCalls > window.size) {
    throw new RangeError(
      `${WHERE}: option "minimumCalls" (${minimumCalls}) cannot exceed the count window's size (${window.size})`,
    );
  }
  const failureRateThreshold = isUnset(WHERE, 'failureRateThreshold', options.failureRateThreshold)
    ? defaults.failureRateThreshold
    : checkRatio(WHERE, 'failureRateThreshold', options.failureRateThreshold);
  const consecutiveFailures = isUnset(WHERE, 'consecutiveFailures', options.consecutiveFailures)
    ? defaults.consecutiveFailures
    : checkCount(WHERE, 'consecutiveFailures', options.consecutiveFailures, 1);
  const timed = !isUnset(WHERE, 'slowCallDurationMs', options.slowCallDurationMs);
  const slowCallDurationMs = timed
    ? checkDuration(WHERE, 'slowCallDurationMs', options.slowCallDurationMs, LONG)
    : Number.POSITIVE_INFINITY;
  if (!isUnset(WHERE, 'slowCallRateThreshold', options.slowCallRateThreshold) && !timed) {
    throw new TypeError(`${WHERE}: option "slowCallRateThreshold" needs "slowCallDurationMs" (what counts as slow)`);
  }
  const slowCallRateThreshold = !timed
    ? Number.POSITIVE_INFINITY
    : options.slowCallRateThreshold === undefined
      ? defaults.slowCallRateThreshold
      : checkRatio(WHERE, 'slowCallRateThreshold', options.slowCallRateThreshold);
  const openDurationMs = parseOpenDuration(options.openDurationMs);
  if (options.halfOpen === null) throw new TypeError(`${WHERE}: option "halfOpen" must be an object, got null`);
  const halfOpen = options.halfOpen ?? {};
  checkOptions(`${WHERE}: option "halfOpen"`, halfOpen, ['permits', 'maxWaitMs']);
  const permits = isUnset(WHERE, 'halfOpen.permits', halfOpen.permits)
    ? defaults.halfOpenPermits
    : checkCount(WHERE, 'halfOpen.permits', halfOpen.permits, 1);
  const maxWaitMs = isUnset(WHERE, 'halfOpen.maxWaitMs', halfOpen.maxWaitMs)
    ? Math.max(1, openDurationMs(0))
    : checkDuration(WHERE, 'halfOpen.maxWaitMs', halfOpen.maxWaitMs, LONG_POSITIVE);
  const innerRejections = isUnset(WHERE, 'innerRejections', options.innerRejections)
    ? defaults.innerRejections
    : checkOneOf(WHERE, 'innerRejections', options.innerRejections, ['ignore', 'failure'] as const);
  return {
    machine: {
      minimumCalls,
      failureRateThreshold,
      consecutiveFailures,
      slowCallRateThreshold,
      permits,
      maxWaitMs,
      timed,
      openDurationMs,
    },
    window,
    slowCallDurationMs,
    isFailure: isUnset(WHERE, 'isFailure', options.isFailure)
      ? undefined
      : checkFunction<(error: unknown) => boolean>(WHERE, 'isFailure', options.isFailure),
    isResultFailure: isUnset(WHERE, 'isResultFailure', options.isResultFailure)
      ? undefined
      : checkFunction<(value: unknown) => boolean>(WHERE, 'isResultFailure', options.isResultFailure),
    countInnerRejections: innerRejections === 'failure',
    initialState: isUnset(WHERE, 'initialState', options.initialState) ? undefined : parseSnapshot(options.initialState),
    clock: isUnset(WHERE, 'clock', options.clock) ? systemClock : checkClock(WHERE, options.clock),
  };
}
