/**
 * The circuit breaker's pipeline stage: it reads the clock, classifies outcomes and emits events; the
 * decisions are the machine's (machine.ts).
 */
import type { Clock } from '../core/clock.js';
import { CircuitOpenError, type CircuitRejectedState, ERROR_BRAND } from '../core/errors.js';
import type { Emitter, EventProbe } from '../core/events.js';
import {
  type Call,
  Directive,
  rejectNextTurn,
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
} from '../core/pipeline.js';
import type { CircuitBreakerEvents, CountingState } from './circuit-breaker.js';
import {
  BreakerMachine,
  type CircuitState,
  type CircuitTransitionReason,
  type MachineConfig,
  NOW_UNREAD,
  STATE_NAMES,
  StateCode,
} from './machine.js';
import { Outcome, type OutcomeWindow, TimeWindow } from './window.js';

/** The two possible payloads of `success`, frozen and shared: a success allocates nothing for its listeners. */
const SUCCESS_CLOSED: CircuitBreakerEvents['success'] = Object.freeze({ state: 'closed' });
const SUCCESS_HALF_OPEN: CircuitBreakerEvents['success'] = Object.freeze({ state: 'half-open' });

export class CircuitBreakerStage implements Stage {
  readonly kind = StageKind.CircuitBreaker;
  readonly machine: BreakerMachine;
  /** Whether completions need the time: slow calls are measured or the window is time-based. */
  private readonly exitNeedsTime: boolean;
  /** A success is always counted the same way: no result predicate, and no time needed (see quickSuccess). */
  private readonly plainSuccess: boolean;
  /** `events.has('success')` without a lookup by name: it is asked on every successful call. */
  private readonly successProbe: EventProbe<CircuitBreakerEvents['success']>;

  constructor(
    config: MachineConfig,
    window: OutcomeWindow,
    private readonly clock: Clock,
    private readonly events: Emitter<CircuitBreakerEvents>,
    private readonly slowCallDurationMs: number,
    private readonly isFailure: ((error: unknown) => boolean) | undefined,
    private readonly isResultFailure: ((value: unknown) => boolean) | undefined,
    private readonly countInnerRejections: boolean,
    readonly name: string,
  ) {
    this.machine = new BreakerMachine(
      config,
      window,
      (from, to, reason) => this.transitioned(from, to, reason),
      () => clock.now(),
    );
    this.exitNeedsTime = config.timed || window instanceof TimeWindow;
    this.plainSuccess = !this.exitNeedsTime && isResultFailure === undefined;
    this.successProbe = events.probe('success', true);
  }

  private transitioned(from: StateCode, to: StateCode, reason: CircuitTransitionReason): void {
    if (this.events.has('stateChange')) {
      this.events.emit('stateChange', { from: STATE_NAMES[from] as CircuitState, to: STATE_NAMES[to] as CircuitState, reason });
    }
  }

  // The executor's hot calls (enter, exit) are kept to a few bytes with the common case first: V8 inlines
  // only so many bytes into one function, and a composition's executor calls every stage's enter and exit.
  enter(call: Call, slot: number): unknown {
    const mark = this.machine.quickAdmit();
    if (mark === undefined) return this.admitAt(call, slot);
    call.slots[slot] = mark;
    return undefined;
  }

  private admitAt(call: Call, slot: number): unknown {
    const admitted = this.admitNow();
    if (typeof admitted !== 'number') return admitted;
    call.slots[slot] = admitted;
    return undefined;
  }

  /** Admission when `quickAdmit` cannot tell (open, half-open, timed): the call's mark, or its refusal. */
  private admitNow(): number | CircuitOpenError {
    const now = this.clock.now();
    const mark = this.machine.admit(now);
    return mark === undefined ? this.reject(now) : mark;
  }

  private reject(now: number): CircuitOpenError {
    const machine = this.machine;
    const state: CircuitRejectedState =
      machine.state === StateCode.Open ? 'open' : machine.state === StateCode.HalfOpen ? 'half-open' : 'isolated';
    const retryAfterMs = machine.retryAfterMs(now);
    if (this.events.has('rejected')) this.events.emit('rejected', { state, retryAfterMs });
    return CircuitOpenError.fast(retryAfterMs, state, this.name);
  }

  /**
   * The pipeline's solo path: `enter`, the function and `exit` in place, with no call record. Not async
   * itself (the executor inlines it into the caller, and V8's inlining budget is better spent on the call's
   * own path); admission is synchronous, and a throwing clock or hook still rejects the returned promise.
   */
  solo(
    _stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    const mark = this.machine.quickAdmit();
    if (mark !== undefined) return this.runAdmitted(mark, fn, thisArg, args, invoke);
    return this.soloAdmit(fn, thisArg, args, invoke);
  }

  /** The solo path's admission in any state but a plain closed one, out of line. */
  private soloAdmit(fn: Function, thisArg: unknown, args: readonly unknown[] | undefined, invoke: SoloInvoke): Promise<unknown> {
    let admitted: number | CircuitOpenError;
    try {
      admitted = this.admitNow();
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof admitted !== 'number') return rejectNextTurn(admitted);
    return this.runAdmitted(admitted, fn, thisArg, args, invoke);
  }

  private async runAdmitted(
    mark: number,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    let value: unknown;
    try {
      value = await invoke(fn, thisArg, args);
    } catch (error) {
      this.completed(mark, false, error, undefined);
      throw error;
    }
    if (!this.quickSuccess(mark)) this.completed(mark, true, value, undefined);
    return value;
  }

  exit(call: Call, slot: number): Directive {
    const mark = call.slots[slot] as number;
    call.slots[slot] = undefined;
    if (!call.ok || !this.quickSuccess(mark)) this.completed(mark, call.ok, call.value, call);
    return Directive.Continue;
  }

  /**
   * Counts a success as `completed` would, in its commonest case only: closed, no result predicate, no
   * time needed (count window, no slow-call measurement), admitted in the current generation. Returns
   * false, having done nothing, for every other case.
   */
  private quickSuccess(mark: number): boolean {
    const machine = this.machine;
    if (!this.plainSuccess || machine.state !== StateCode.Closed || mark < machine.generationStart) return false;
    const probe = this.successProbe;
    if (probe.tallying !== 0) probe.tally(0);
    if (probe.active) probe.emit(SUCCESS_CLOSED);
    machine.recordClosedSuccess();
    return true;
  }

  /**
   * Counts an admitted call's outcome (`call`, when there is one, tells whether its caller cancelled it);
   * throws what a throwing predicate threw, after counting a failure.
   */
  private completed(mark: number, ok: boolean, value: unknown, call: Call | undefined): void {
    const machine = this.machine;
    const now = this.exitNeedsTime || machine.state !== StateCode.Closed ? this.clock.now() : NOW_UNREAD;
    if (!machine.counts(now, mark)) return;
    const state: CountingState = machine.state === StateCode.Closed ? 'closed' : 'half-open';
    let outcome: number;
    let fault: unknown;
    let faulted = false;
    try {
      outcome = this.classify(ok, value, call);
    } catch (error) {
      // A throwing predicate: count a failure (so a half-open permit is never lost), then make its error the outcome.
      outcome = Outcome.Failure;
      fault = error;
      faulted = true;
    }
    if (outcome !== Outcome.Ignored) {
      const durationMs = now - mark;
      if (machine.config.timed && durationMs > this.slowCallDurationMs) {
        outcome |= Outcome.Slow;
        if (this.events.has('slowCall'))
          this.events.emit('slowCall', { durationMs, failed: (outcome & Outcome.Failure) !== 0, state });
      }
      if (outcome & Outcome.Failure) {
        if (this.events.has('failure'))
          this.events.emit('failure', { error: faulted ? fault : value, fromResult: !faulted && ok, state });
      } else {
        const probe = this.successProbe;
        if (probe.tallying !== 0) probe.tally(0);
        if (probe.active) probe.emit(state === 'closed' ? SUCCESS_CLOSED : SUCCESS_HALF_OPEN);
      }
    }
    machine.record(now, outcome);
    if (faulted) throw fault;
  }

  private classify(ok: boolean, value: unknown, call: Call | undefined): number {
    if (ok) {
      const judge = this.isResultFailure;
      return judge?.(value) ? Outcome.Failure : Outcome.Success;
    }
    const error = value;
    // One brand read instead of three `is*Error` guards: this runs on every failure.
    const code = typeof error === 'object' && error !== null ? (error as Record<symbol, unknown>)[ERROR_BRAND] : undefined;
    if (code === 'ERR_WEIR_CIRCUIT_OPEN' || code === 'ERR_WEIR_BULKHEAD_FULL' || code === 'ERR_WEIR_RATE_LIMITED') {
      return this.countInnerRejections ? Outcome.Failure : Outcome.Ignored;
    }
    // The caller gave up: that says nothing about the dependency.
    if (call?.aborted && error === call.abortReason) return Outcome.Ignored;
    const judge = this.isFailure;
    return judge === undefined || judge(error) ? Outcome.Failure : Outcome.Ignored;
  }
}
