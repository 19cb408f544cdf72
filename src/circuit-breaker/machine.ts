/**
 * The circuit breaker's state machine, without a clock, timers or events: every method takes `now`, and
 * transitions are reported through one callback. The policy (circuit-breaker.ts) is a thin shell that
 * reads the clock, classifies outcomes and emits events; tests drive this class directly with numbers.
 *
 * Generations. Every transition starts a fresh window, and a call only counts in the generation that
 * admitted it: calls still in flight when the breaker opens (or is reset, isolated...) are not counted
 * when they finish. Each admitted call gets a numeric mark; a transition moves `generationStart` past
 * every mark given so far, so `mark >= generationStart` means "admitted since the last transition". The
 * mark is an admission counter, or, when slow calls are measured, the admission time (nudged just past
 * the transition instant when a call is admitted at the very instant of a transition), so one number per
 * call carries both facts and nothing is allocated.
 */
import type { CountWindow, OutcomeWindow } from './window.js';
import { Outcome } from './window.js';

/** The breaker's states, as the machine stores them (an enum, for the reason given at `Directive` in core/pipeline.ts). */
export enum StateCode {
  Closed = 0,
  Open = 1,
  HalfOpen = 2,
  Isolated = 3,
  Disabled = 4,
}

export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';
export const STATE_NAMES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated', 'disabled'];

export type CircuitTransitionReason =
  /** closed → open, or half-open → open: the failure rate reached `failureRateThreshold`. */
  | 'failure-rate'
  /** closed → open, or half-open → open: the slow-call rate reached `slowCallRateThreshold`. */
  | 'slow-call-rate'
  /** closed → open: `consecutiveFailures` failures in a row. */
  | 'consecutive-failures'
  /** open → half-open: the open duration elapsed. */
  | 'open-elapsed'
  /** half-open → closed: every trial completed and the rates stayed under the thresholds. */
  | 'trials-passed'
  /** half-open → open: the trials did not all complete within `halfOpen.maxWaitMs`. */
  | 'half-open-timeout'
  /** → isolated, by `isolate()`. */
  | 'isolated'
  /** → disabled, by `disable()`. */
  | 'disabled'
  /** isolated/disabled → closed (or disabled), the last handle was released. */
  | 'released'
  /** → closed, by `reset()`. */
  | 'reset';

export interface MachineConfig {
  readonly minimumCalls: number;
  readonly failureRateThreshold: number;
  /** `Infinity` when the trigger is off. */
  readonly consecutiveFailures: number;
  /** `Infinity` when slow calls are not measured. */
  readonly slowCallRateThreshold: number;
  readonly permits: number;
  readonly maxWaitMs: number;
  /** Whether marks are admission times (slow calls are measured) rather than admission counts. */
  readonly timed: boolean;
  /** How long to stay open the `reopens`-th time in a row (0 for the first open after closed). */
  openDurationMs(reopens: number): number;
}

export type TransitionListener = (from: StateCode, to: StateCode, reason: CircuitTransitionReason) => void;

/**
 * The `now` a shell passes when it has not read its clock (closed, count window, slow calls not
 * measured: the outcome needs no time). The machine then asks its `readNow` only if it must stamp a trip.
 */
export const NOW_UNREAD = Number.NaN;

function noClock(): number {
  throw new Error('BreakerMachine: a transition needs the time, and no readNow was given');
}

/** Which threshold (if any) a closed breaker's window crosses. Pure. */
export function tripReason(
  calls: number,
  failures: number,
  slowCalls: number,
  consecutiveFailures: number,
  config: MachineConfig,
): CircuitTransitionReason | undefined {
  if (consecutiveFailures >= config.consecutiveFailures) return 'consecutive-failures';
  if (calls < config.minimumCalls) return undefined;
  if (failures / calls >= config.failureRateThreshold) return 'failure-rate';
  if (slowCalls / calls >= config.slowCallRateThreshold) return 'slow-call-rate';
  return undefined;
}

/** What completed half-open trials decide: the same thresholds as in closed. Pure. */
export function trialVerdict(
  trials: number,
  failures: number,
  slowCalls: number,
  config: MachineConfig,
): 'failure-rate' | 'slow-call-rate' | 'trials-passed' {
  if (failures / trials >= config.failureRateThreshold) return 'failure-rate';
  if (slowCalls / trials >= config.slowCallRateThreshold) return 'slow-call-rate';
  return 'trials-passed';
}

/** The smallest double greater than `x`. */
function nextUp(x: number): number {
  return x + Math.max(Math.abs(x) * Number.EPSILON, Number.MIN_VALUE);
}

export class BreakerMachine {
  state: StateCode = StateCode.Closed;
  /** While open: when it turns half-open. */
  openUntil = 0;
  /** How many times in a row the breaker re-opened from half-open (drives the open-duration backoff). */
  reopens = 0;
  consecutiveFailures = 0;
  trialsInFlight = 0;
  trialsDone = 0;
  trialFailures = 0;
  trialSlowCalls = 0;
  /** Deadline of the current half-open trials: first trial admitted + maxWaitMs. */
  trialDeadline = Number.POSITIVE_INFINITY;
  isolationHolds = 0;
  disableHolds = 0;
  generationStart = Number.NEGATIVE_INFINITY;
  private seq = 0;

  constructor(
    readonly config: MachineConfig,
    readonly window: OutcomeWindow,
    private readonly notify: TransitionListener,
    /** Reads the time when `record` was given {@link NOW_UNREAD} and the outcome trips the breaker. */
    private readonly readNow: () => number = noClock,
  ) {}

  /** Applies the transitions that time alone causes (open → half-open, half-open timeout → open). */
  sync(now: number): void {
    for (;;) {
      const state = this.state;
      if (state === StateCode.Open) {
        if (now < this.openUntil) return;
        this.moveTo(StateCode.HalfOpen, this.openUntil, now, 'open-elapsed');
      } else if (state === StateCode.HalfOpen) {
        if (now < this.trialDeadline) return;
        this.moveTo(StateCode.Open, this.trialDeadline, now, 'half-open-timeout');
      } else {
        return;
      }
    }
  }

  /**
   * `admit` in its commonest case, small enough for V8 to inline into the executor: closed, without
   * slow-call measurement (no clock needed). Undefined means "ask `admit`", never a rejection.
   */
  quickAdmit(): number | undefined {
    return this.state === StateCode.Closed && !this.config.timed ? this.seq++ : undefined;
  }

  /**
   * `record(NOW_UNREAD, Outcome.Success)` for a call the caller checked is counted in closed state (see
   * `counts`), in few bytes for the same reason as `quickAdmit`.
   */
  recordClosedSuccess(): void {
    // Only a count window comes here: a time window needs the time, and its breaker never takes this path.
    const window = this.window as CountWindow;
    // The steady state, in few bytes: a full window of plain successes. One more changes no total, and the
    // ring may keep its head, since every slot the next outcomes replace holds a success all the same. And
    // `consecutiveFailures` is already 0: the last outcome recorded was not a failure.
    if (window.failures + window.slowCalls === 0 && window.calls === window.size) return;
    this.recordSuccessInto(window);
  }

  private recordSuccessInto(window: CountWindow): void {
    window.recordSuccess();
    this.consecutiveFailures = 0;
    // Every threshold is above 0: with no failure and no slow call in the window, a success crosses none.
    if (window.failures !== 0 || window.slowCalls !== 0) this.tripAfterSuccess();
  }

  private tripAfterSuccess(): void {
    const window = this.window;
    const reason = tripReason(window.calls, window.failures, window.slowCalls, 0, this.config);
    if (reason !== undefined) this.trip(this.readNow(), reason);
  }

  /** Admits a call and returns its mark, or returns undefined to reject it. */
  admit(now: number): number | undefined {
    let state = this.state;
    if (state === StateCode.Closed) return this.mark(now);
    if (state === StateCode.Disabled) return Number.NEGATIVE_INFINITY; // never counted
    this.sync(now);
    state = this.state;
    if (state === StateCode.Closed) return this.mark(now);
    if (state !== StateCode.HalfOpen || this.trialsInFlight + this.trialsDone >= this.config.permits) return undefined;
    if (this.trialDeadline === Number.POSITIVE_INFINITY) this.trialDeadline = now + this.config.maxWaitMs;
    this.trialsInFlight++;
    return this.mark(now);
  }

  private mark(now: number): number {
    if (!this.config.timed) return this.seq++;
    return Math.max(now, this.generationStart);
  }

  /** How long a call rejected now should wait: until half-open, until the trials' deadline, or forever. */
  retryAfterMs(now: number): number {
    if (this.state === StateCode.Open) return this.openUntil - now;
    if (this.state === StateCode.HalfOpen) return Math.max(0, this.trialDeadline - now);
    return Number.POSITIVE_INFINITY;
  }

  /**
   * Whether a call with `mark` that finishes at `now` counts: it must have been admitted in the current
   * generation, in a state that counts (closed or half-open).
   */
  counts(now: number, mark: number): boolean {
    if (this.state === StateCode.HalfOpen) this.sync(now);
    return mark >= this.generationStart && (this.state === StateCode.Closed || this.state === StateCode.HalfOpen);
  }

  /**
   * Records the outcome of a call for which `counts` just returned true, and applies what it decides.
   * In closed state with a count window, `now` may be {@link NOW_UNREAD}: the time is read only to trip.
   */
  record(now: number, outcome: number): void {
    if (this.state !== StateCode.Closed) {
      this.recordTrial(now, outcome);
      return;
    }
    const reason = this.recordClosed(outcome, now);
    if (reason !== undefined) this.trip(Number.isNaN(now) ? this.readNow() : now, reason);
  }

  /**
   * Closed: adds an outcome to the window and says whether a threshold is crossed, without transitioning,
   * so that the shell reads the clock only when it must (to stamp the open state). A count window
   * ignores the time, so 0 is passed for it; a time window needs the real `now`.
   */
  recordClosed(outcome: number, now = 0): CircuitTransitionReason | undefined {
    if (outcome === Outcome.Ignored) return undefined;
    const window = this.window;
    window.record(now, outcome);
    this.consecutiveFailures = outcome & Outcome.Failure ? this.consecutiveFailures + 1 : 0;
    return tripReason(window.calls, window.failures, window.slowCalls, this.consecutiveFailures, this.config);
  }

  /** closed → open. */
  trip(now: number, reason: CircuitTransitionReason): void {
    this.moveTo(StateCode.Open, now, now, reason);
  }

  /** Half-open: an ignored trial gives its permit back; the last trial decides. */
  recordTrial(now: number, outcome: number): void {
    this.trialsInFlight--;
    if (outcome === Outcome.Ignored) return;
    this.trialsDone++;
    this.trialFailures += outcome & Outcome.Failure;
    this.trialSlowCalls += (outcome & Outcome.Slow) >> 1;
    const config = this.config;
    if (this.trialsDone < config.permits) return;
    const verdict = trialVerdict(this.trialsDone, this.trialFailures, this.trialSlowCalls, config);
    this.moveTo(verdict === 'trials-passed' ? StateCode.Closed : StateCode.Open, now, now, verdict);
  }

  // Manual transitions apply the due time-driven ones first, so `stateChange` events always chain.
  isolate(now: number): void {
    this.sync(now);
    if (this.isolationHolds++ === 0) this.moveTo(StateCode.Isolated, now, now, 'isolated');
  }

  releaseIsolation(now: number): void {
    this.sync(now);
    if (--this.isolationHolds === 0)
      this.moveTo(this.disableHolds > 0 ? StateCode.Disabled : StateCode.Closed, now, now, 'released');
  }

  disable(now: number): void {
    this.sync(now);
    if (this.disableHolds++ === 0 && this.isolationHolds === 0) this.moveTo(StateCode.Disabled, now, now, 'disabled');
  }

  releaseDisable(now: number): void {
    this.sync(now);
    if (--this.disableHolds === 0 && this.isolationHolds === 0) this.moveTo(StateCode.Closed, now, now, 'released');
  }

  /** Back to closed with a fresh window, forgetting holds and the backoff; quiet when already closed. */
  reset(now: number): void {
    this.sync(now);
    this.isolationHolds = this.disableHolds = 0;
    this.reopens = 0;
    if (this.state === StateCode.Closed) this.startGeneration(now, now);
    else this.moveTo(StateCode.Closed, now, now, 'reset');
  }

  /** Restores a state at construction (no event): see `CircuitBreakerSnapshot`. */
  restore(state: StateCode, reopens: number, openUntil: number, now: number): void {
    this.reopens = reopens;
    this.isolationHolds = state === StateCode.Isolated ? 1 : 0;
    this.disableHolds = state === StateCode.Disabled ? 1 : 0;
    this.state = state;
    this.startGeneration(now, now);
    if (state === StateCode.Open) this.openUntil = openUntil;
  }

  /** `at` is when the transition logically happened (earlier than `now` when it was due while nobody looked). */
  private moveTo(to: StateCode, at: number, now: number, reason: CircuitTransitionReason): void {
    const from = this.state;
    if (to === StateCode.Open) {
      if (from === StateCode.HalfOpen) this.reopens++;
      this.openUntil = at + this.config.openDurationMs(this.reopens);
    } else if (to === StateCode.Closed) {
      this.reopens = 0;
    }
    this.state = to;
    this.startGeneration(at, now);
    this.notify(from, to, reason);
  }

  private startGeneration(at: number, now: number): void {
    this.generationStart = this.config.timed ? nextUp(Math.max(now, this.generationStart)) : this.seq;
    this.window.clear(at);
    this.consecutiveFailures = 0;
    this.trialsInFlight = this.trialsDone = this.trialFailures = this.trialSlowCalls = 0;
    this.trialDeadline = Number.POSITIVE_INFINITY;
  }
}
