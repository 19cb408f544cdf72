/**
 * `circuitBreaker(options)`: stops calling a dependency that keeps failing (or keeps being slow), and
 * tries it again after a while with a bounded number of trial calls.
 *
 * This file is the shell: it validates options, reads the clock, classifies outcomes and emits events.
 * The state machine is `BreakerMachine` (machine.ts) and the windows are in window.ts; both take `now` as
 * an argument and never read a clock, so tests hold them to a reference model directly.
 *
 * No timer: open → half-open is computed from the clock whenever the state is read or a call arrives.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { CircuitOpenError, type CircuitRejectedState, ERROR_BRAND } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { type Call, CONTINUE, type Directive, STAGE_CIRCUIT_BREAKER, type Stage } from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkMs,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkPositive,
  show,
} from '../core/validate.js';
import {
  BreakerMachine,
  type CircuitState,
  type CircuitTransitionReason,
  CLOSED,
  HALF_OPEN,
  type MachineConfig,
  OPEN,
  OUTCOME_IGNORED,
  STATE_NAMES,
  type StateCode,
} from './machine.js';
import { CountWindow, OUTCOME_FAILURE, OUTCOME_SLOW, OUTCOME_SUCCESS, type OutcomeWindow, TimeWindow } from './window.js';

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
}

/** A breaker's state as JSON: small, and in wall-clock time so that it survives a restart. */
export interface CircuitBreakerSnapshot {
  state: CircuitState;
  /** Re-opens in a row so far (drives the open-duration backoff). */
  reopens: number;
  /** For `open`: the wall-clock time (epoch ms) at which it turns half-open. */
  halfOpenAt?: number;
}

/** Counted outcomes happen in closed or half-open only. */
export type CountingState = 'closed' | 'half-open';

export interface CircuitBreakerEvents {
  stateChange: { from: CircuitState; to: CircuitState; reason: CircuitTransitionReason };
  /** A counted call succeeded. */
  success: { state: CountingState };
  /** A counted call failed: `error` is the error, or the result that `isResultFailure` rejected (`fromResult`). */
  failure: { error: unknown; fromResult: boolean; state: CountingState };
  /** A counted call (successful or not) took longer than `slowCallDurationMs`. */
  slowCall: { durationMs: number; failed: boolean; state: CountingState };
  /** A call was refused without running. */
  rejected: { state: CircuitRejectedState; retryAfterMs: number };
}

export interface CircuitBreakerMetrics {
  state: CircuitState;
  /** Counted calls, failures and slow calls in the current window (closed state). */
  calls: number;
  failures: number;
  slowCalls: number;
  /** failures / calls, 0 when the window is empty. */
  failureRate: number;
  slowCallRate: number;
  consecutiveFailures: number;
  /** Half-open trials in flight and completed. */
  trialsInFlight: number;
  trialsCompleted: number;
}

/** Returned by `isolate()` / `disable()`; `release()` (idempotent) ends this hold. */
export interface CircuitHandle {
  release(): void;
}

export interface CircuitBreakerPolicy extends Policy<CircuitBreakerEvents> {
  /** The current state, with open → half-open applied as soon as it is due. */
  readonly state: CircuitState;
  readonly metrics: CircuitBreakerMetrics;
  /** Forces the breaker open (every call fails fast) until every handle is released; then closed. */
  isolate(): CircuitHandle;
  /** Lets every call through and records nothing until every handle is released; then closed. Isolation wins over it. */
  disable(): CircuitHandle;
  /** Closed, with a fresh window and no backoff; releases every isolate/disable hold. */
  reset(): void;
  toJSON(): CircuitBreakerSnapshot;
}

const OPTIONS = [
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
] as const;

const WHERE = 'circuitBreaker';

class CircuitBreakerStage implements Stage {
  readonly kind = STAGE_CIRCUIT_BREAKER;
  readonly machine: BreakerMachine;
  /** Whether completions need the time: slow calls are measured or the window is time-based. */
  private readonly exitNeedsTime: boolean;

  constructor(
    config: MachineConfig,
    window: OutcomeWindow,
    private readonly clock: Clock,
    private readonly events: Emitter<CircuitBreakerEvents>,
    private readonly slowCallDurationMs: number,
    private readonly isFailure: ((error: unknown) => boolean) | undefined,
    private readonly isResultFailure: ((value: unknown) => boolean) | undefined,
    private readonly countInnerRejections: boolean,
  ) {
    this.machine = new BreakerMachine(config, window, (from, to, reason) => this.transitioned(from, to, reason));
    this.exitNeedsTime = config.timed || window instanceof TimeWindow;
  }

  private transitioned(from: StateCode, to: StateCode, reason: CircuitTransitionReason): void {
    if (this.events.has('stateChange')) {
      this.events.emit('stateChange', { from: STATE_NAMES[from] as CircuitState, to: STATE_NAMES[to] as CircuitState, reason });
    }
  }

  enter(call: Call, slot: number): unknown {
    const machine = this.machine;
    // Closed without slow-call measurement needs no clock read to admit.
    const now = machine.state === CLOSED && !machine.config.timed ? 0 : this.clock.now();
    const mark = machine.admit(now);
    if (mark !== undefined) {
      call.slots[slot] = mark;
      return undefined;
    }
    return this.reject(now);
  }

  private reject(now: number): CircuitOpenError {
    const machine = this.machine;
    const state: CircuitRejectedState = machine.state === OPEN ? 'open' : machine.state === HALF_OPEN ? 'half-open' : 'isolated';
    const retryAfterMs = machine.retryAfterMs(now);
    if (this.events.has('rejected')) this.events.emit('rejected', { state, retryAfterMs });
    return CircuitOpenError.fast(retryAfterMs, state);
  }

  exit(call: Call, slot: number): Directive {
    const mark = call.slots[slot] as number;
    call.slots[slot] = undefined;
    const machine = this.machine;
    const now = this.exitNeedsTime || machine.state !== CLOSED ? this.clock.now() : 0;
    if (!machine.counts(now, mark)) return CONTINUE;
    const state: CountingState = machine.state === CLOSED ? 'closed' : 'half-open';
    let outcome: number;
    let fault: unknown;
    let faulted = false;
    try {
      outcome = this.classify(call);
    } catch (error) {
      // A throwing predicate: count a failure (so a half-open permit is never lost), then make its error the outcome.
      outcome = OUTCOME_FAILURE;
      fault = error;
      faulted = true;
    }
    if (outcome !== OUTCOME_IGNORED) {
      const durationMs = now - mark;
      if (machine.config.timed && durationMs > this.slowCallDurationMs) {
        outcome |= OUTCOME_SLOW;
        if (this.events.has('slowCall'))
          this.events.emit('slowCall', { durationMs, failed: (outcome & OUTCOME_FAILURE) !== 0, state });
      }
      if (outcome & OUTCOME_FAILURE) {
        if (this.events.has('failure'))
          this.events.emit('failure', { error: faulted ? fault : call.value, fromResult: !faulted && call.ok, state });
      } else if (this.events.has('success')) {
        this.events.emit('success', { state });
      }
    }
    if (state === 'half-open') {
      machine.recordTrial(now, outcome);
    } else {
      const reason = machine.recordClosed(outcome, now);
      if (reason !== undefined) machine.trip(this.exitNeedsTime ? now : this.clock.now(), reason);
    }
    if (faulted) throw fault;
    return CONTINUE;
  }

  private classify(call: Call): number {
    if (call.ok) {
      const judge = this.isResultFailure;
      return judge?.(call.value) ? OUTCOME_FAILURE : OUTCOME_SUCCESS;
    }
    const error = call.value;
    // One brand read instead of three `is*Error` guards: this runs on every failure.
    const code = typeof error === 'object' && error !== null ? (error as Record<symbol, unknown>)[ERROR_BRAND] : undefined;
    if (code === 'ERR_WEIR_CIRCUIT_OPEN' || code === 'ERR_WEIR_BULKHEAD_FULL' || code === 'ERR_WEIR_RATE_LIMITED') {
      return this.countInnerRejections ? OUTCOME_FAILURE : OUTCOME_IGNORED;
    }
    // The caller gave up: that says nothing about the dependency.
    if (call.aborted && error === call.abortReason) return OUTCOME_IGNORED;
    const judge = this.isFailure;
    return judge === undefined || judge(error) ? OUTCOME_FAILURE : OUTCOME_IGNORED;
  }
}

function checkRate(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new RangeError(`${WHERE}: option "${name}" must be a number in (0, 1], got ${show(value)}`);
  }
  return value;
}

function parseWindow(value: unknown): OutcomeWindow {
  if (value === undefined) return new CountWindow(100);
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `${WHERE}: option "window" must be { type: 'count', size } or { type: 'time', durationMs, buckets }, got ${show(value)}`,
    );
  }
  const type = checkOneOf(WHERE, 'window.type', (value as { type?: unknown }).type, ['count', 'time'] as const);
  if (type === 'count') {
    checkOptions(`${WHERE}: option "window"`, value, ['type', 'size']);
    return new CountWindow(checkInteger(WHERE, 'window.size', (value as { size?: unknown }).size, 1));
  }
  checkOptions(`${WHERE}: option "window"`, value, ['type', 'durationMs', 'buckets']);
  const { durationMs, buckets } = value as { durationMs?: unknown; buckets?: unknown };
  return new TimeWindow(
    checkPositive(WHERE, 'window.durationMs', durationMs),
    buckets === undefined ? 10 : checkInteger(WHERE, 'window.buckets', buckets, 1),
  );
}

function parseOpenDuration(value: unknown): (reopens: number) => number {
  if (value === undefined) return () => 10_000;
  if (typeof value === 'number') {
    const ms = checkMs(WHERE, 'openDurationMs', value);
    return () => ms;
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `${WHERE}: option "openDurationMs" must be a number or { initialMs, maxMs, multiplier }, got ${show(value)}`,
    );
  }
  checkOptions(`${WHERE}: option "openDurationMs"`, value, ['initialMs', 'maxMs', 'multiplier']);
  const backoff = value as Partial<Record<keyof OpenDurationBackoff, unknown>>;
  const initialMs = checkMs(WHERE, 'openDurationMs.initialMs', backoff.initialMs);
  const maxMs = checkMs(WHERE, 'openDurationMs.maxMs', backoff.maxMs, initialMs);
  const multiplier =
    backoff.multiplier === undefined ? 2 : checkNumber(WHERE, 'openDurationMs.multiplier', backoff.multiplier, 1);
  return (reopens) => Math.min(maxMs, initialMs * multiplier ** reopens);
}

function parseSnapshot(value: unknown): CircuitBreakerSnapshot {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${WHERE}: option "initialState" must be an object from toJSON(), got ${show(value)}`);
  }
  checkOptions(`${WHERE}: option "initialState"`, value, ['state', 'reopens', 'halfOpenAt']);
  const raw = value as Partial<Record<keyof CircuitBreakerSnapshot, unknown>>;
  const state = checkOneOf(WHERE, 'initialState.state', raw.state, STATE_NAMES);
  const reopens = checkInteger(WHERE, 'initialState.reopens', raw.reopens, 0);
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

/** A circuit breaker policy: see docs/circuit-breaker.md. */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerPolicy {
  checkOptions(WHERE, options, OPTIONS);
  const window = parseWindow(options.window);
  const minimumCalls =
    options.minimumCalls === undefined
      ? window instanceof CountWindow
        ? Math.min(10, window.size)
        : 10
      : checkInteger(WHERE, 'minimumCalls', options.minimumCalls, 1);
  if (window instanceof CountWindow && minimumCalls > window.size) {
    throw new RangeError(
      `${WHERE}: option "minimumCalls" (${minimumCalls}) cannot exceed the count window's size (${window.size})`,
    );
  }
  const failureRateThreshold =
    options.failureRateThreshold === undefined ? 0.5 : checkRate('failureRateThreshold', options.failureRateThreshold);
  const consecutiveFailures =
    options.consecutiveFailures === undefined
      ? Number.POSITIVE_INFINITY
      : checkInteger(WHERE, 'consecutiveFailures', options.consecutiveFailures, 1);
  const timed = options.slowCallDurationMs !== undefined;
  const slowCallDurationMs = timed ? checkMs(WHERE, 'slowCallDurationMs', options.slowCallDurationMs) : Number.POSITIVE_INFINITY;
  if (options.slowCallRateThreshold !== undefined && !timed) {
    throw new TypeError(`${WHERE}: option "slowCallRateThreshold" needs "slowCallDurationMs" (what counts as slow)`);
  }
  const slowCallRateThreshold = !timed
    ? Number.POSITIVE_INFINITY
    : options.slowCallRateThreshold === undefined
      ? 1
      : checkRate('slowCallRateThreshold', options.slowCallRateThreshold);
  const openDurationMs = parseOpenDuration(options.openDurationMs);
  if (options.halfOpen === null) throw new TypeError(`${WHERE}: option "halfOpen" must be an object, got null`);
  const halfOpen = options.halfOpen ?? {};
  checkOptions(`${WHERE}: option "halfOpen"`, halfOpen, ['permits', 'maxWaitMs']);
  const permits = halfOpen.permits === undefined ? 1 : checkInteger(WHERE, 'halfOpen.permits', halfOpen.permits, 1);
  const maxWaitMs =
    halfOpen.maxWaitMs === undefined
      ? Math.max(1, openDurationMs(0))
      : checkPositive(WHERE, 'halfOpen.maxWaitMs', halfOpen.maxWaitMs);
  const isFailure =
    options.isFailure === undefined
      ? undefined
      : checkFunction<(error: unknown) => boolean>(WHERE, 'isFailure', options.isFailure);
  const isResultFailure =
    options.isResultFailure === undefined
      ? undefined
      : checkFunction<(value: unknown) => boolean>(WHERE, 'isResultFailure', options.isResultFailure);
  const innerRejections =
    options.innerRejections === undefined
      ? 'ignore'
      : checkOneOf(WHERE, 'innerRejections', options.innerRejections, ['ignore', 'failure'] as const);
  const initialState = options.initialState === undefined ? undefined : parseSnapshot(options.initialState);
  const clock = options.clock === undefined ? systemClock : checkClock(WHERE, options.clock);

  const config: MachineConfig = {
    minimumCalls,
    failureRateThreshold,
    consecutiveFailures,
    slowCallRateThreshold,
    permits,
    maxWaitMs,
    timed,
    openDurationMs,
  };
  const events = new Emitter<CircuitBreakerEvents>(new Set(['stateChange', 'success', 'failure', 'slowCall', 'rejected']));
  const stage = new CircuitBreakerStage(
    config,
    window,
    clock,
    events,
    slowCallDurationMs,
    isFailure,
    isResultFailure,
    innerRejections === 'failure',
  );
  const machine = stage.machine;
  if (initialState !== undefined) {
    const now = clock.now();
    const code = STATE_NAMES.indexOf(initialState.state) as StateCode;
    const openUntil = initialState.halfOpenAt === undefined ? now : now + (initialState.halfOpenAt - clock.wallNow());
    machine.restore(code, initialState.reopens, openUntil, now);
  }

  /** Holds are counted; `reset()` starts a new era in which older handles do nothing. */
  let era = 0;
  const hold = (take: (now: number) => void, give: (now: number) => void): CircuitHandle => {
    const heldIn = era;
    let held = true;
    take(clock.now());
    return {
      release() {
        if (!held) return;
        held = false;
        if (heldIn === era) give(clock.now());
      },
    };
  };
  const currentState = (): StateCode => {
    const state = machine.state;
    if (state === OPEN || state === HALF_OPEN) machine.sync(clock.now());
    return machine.state;
  };

  return createPolicy<CircuitBreakerEvents, never, Omit<CircuitBreakerPolicy, keyof Policy<CircuitBreakerEvents>>>(
    [stage],
    events,
    {
      get state() {
        return STATE_NAMES[currentState()] as CircuitState;
      },
      get metrics() {
        const state = STATE_NAMES[currentState()] as CircuitState;
        const window = machine.window;
        window.advance(clock.now());
        const { calls, failures, slowCalls } = window;
        return {
          state,
          calls,
          failures,
          slowCalls,
          failureRate: calls === 0 ? 0 : failures / calls,
          slowCallRate: calls === 0 ? 0 : slowCalls / calls,
          consecutiveFailures: machine.consecutiveFailures,
          trialsInFlight: machine.trialsInFlight,
          trialsCompleted: machine.trialsDone,
        };
      },
      isolate: () =>
        hold(
          (now) => machine.isolate(now),
          (now) => machine.releaseIsolation(now),
        ),
      disable: () =>
        hold(
          (now) => machine.disable(now),
          (now) => machine.releaseDisable(now),
        ),
      reset: () => {
        era++;
        machine.reset(clock.now());
      },
      toJSON: (): CircuitBreakerSnapshot => {
        const code = currentState();
        const state = STATE_NAMES[code] as CircuitState;
        if (code !== OPEN) return { state, reopens: machine.reopens };
        return { state, reopens: machine.reopens, halfOpenAt: clock.wallNow() + (machine.openUntil - clock.now()) };
      },
    },
  );
}
