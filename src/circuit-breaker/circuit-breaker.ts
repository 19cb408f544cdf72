import type { CircuitRejectedState } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { policyName } from '../core/names.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { checkOptions } from '../core/validate.js';
import { type CircuitState, type CircuitTransitionReason, STATE_NAMES, StateCode } from './machine.js';
import {
  CIRCUIT_BREAKER_OPTIONS,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitWindow,
  type OpenDurationBackoff,
  parseCircuitBreakerOptions,
} from './options.js';
import { CircuitBreakerStage } from './stage.js';

export type { CircuitBreakerOptions, CircuitBreakerSnapshot, CircuitWindow, OpenDurationBackoff };

/** Counted outcomes happen in closed or half-open only. */
export type CountingState = 'closed' | 'half-open';

export interface CircuitBreakerEvents {
  stateChange: { from: CircuitState; to: CircuitState; reason: CircuitTransitionReason };
  /** A counted call succeeded. */
  success: { readonly state: CountingState };
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

const WHERE = 'circuitBreaker';

/** A circuit breaker policy: see docs/circuit-breaker.md. */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerPolicy {
  checkOptions(WHERE, options, CIRCUIT_BREAKER_OPTIONS);
  const name = policyName('circuit-breaker', options.name);
  const {
    machine: config,
    window,
    slowCallDurationMs,
    isFailure,
    isResultFailure,
    countInnerRejections,
    initialState,
    clock,
  } = parseCircuitBreakerOptions(options);
  const events = new Emitter<CircuitBreakerEvents>(new Set(['stateChange', 'success', 'failure', 'slowCall', 'rejected']));
  const stage = new CircuitBreakerStage(
    config,
    window,
    clock,
    events,
    slowCallDurationMs,
    isFailure,
    isResultFailure,
    countInnerRejections,
    name,
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
    if (state === StateCode.Open || state === StateCode.HalfOpen) machine.sync(clock.now());
    return machine.state;
  };

  return createPolicy<
    CircuitBreakerEvents,
    never,
    Omit<CircuitBreakerPolicy, keyof Policy<CircuitBreakerEvents>> & { readonly name: string }
  >([stage], events, {
    name,
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
      if (code !== StateCode.Open) return { state, reopens: machine.reopens };
      return { state, reopens: machine.reopens, halfOpenAt: clock.wallNow() + (machine.openUntil - clock.now()) };
    },
  });
}
