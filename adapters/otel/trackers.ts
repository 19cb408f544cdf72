import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api';
import type { BulkheadEvents, BulkheadPolicy } from '../../src/bulkhead/bulkhead.js';
import type { CircuitBreakerEvents, CircuitBreakerPolicy } from '../../src/circuit-breaker/circuit-breaker.js';
import type { CircuitState } from '../../src/circuit-breaker/machine.js';
import type { Clock } from '../../src/core/clock.js';
import { isAbortError } from '../../src/core/errors.js';
import type { EventTally, TallySampler } from '../../src/core/events.js';
import { type AnyPolicy, TALLY } from '../../src/core/policy.js';
import type { FallbackEvents } from '../../src/fallback/fallback.js';
import type { RateLimitEvents, RateLimitPolicy } from '../../src/rate-limit/policy.js';
import type { RetryEvents } from '../../src/retry/retry.js';
import type { TimeoutEvents } from '../../src/timeout/timeout.js';
import {
  ATTR_BREAKER_PREVIOUS_STATE,
  ATTR_BREAKER_REASON,
  ATTR_BREAKER_STATE,
  ATTR_ERROR_TYPE,
  ATTR_GIVE_UP_REASON,
  ATTR_LIMIT_NAME,
  ATTR_LIMIT_RESULT,
  ATTR_OUTCOME,
  ATTR_POLICY_NAME,
  ATTR_POLICY_TYPE,
  ATTR_REJECTION_REASON,
  type Outcome,
  RESULT_ERROR_TYPE,
} from './conventions.js';
import type { Instruments } from './instruments.js';
import { ErrorTypes, Tally } from './tally.js';

type Unsubscribe = () => void;
type On<E> = <K extends keyof E & string>(event: K, listener: (payload: E[K]) => void) => Unsubscribe;

/** One instrumented policy (or store): listeners that count, and what it reports at collection time. */
export interface Tracker {
  observe(result: BatchObservableResult): void;
  stop(): void;
}

const BREAKER_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated', 'disabled'];

/** A count whose attribute set is fixed (a hot outcome: one field increment per event). */
class Count {
  n = 0;
  constructor(readonly attributes: Attributes) {}
}

/** Observes `n` (when not 0) on `instrument` with `attributes`. */
function observeCount(result: BatchObservableResult, instrument: Observable, n: number, attributes: Attributes): void {
  if (n !== 0) result.observe(instrument, n, attributes);
}

/** What every policy tracker shares: its base attributes, the calls-by-outcome tally, error types. */
abstract class PolicyTracker implements Tracker {
  protected readonly base: Attributes;
  /** Calls by outcome (and error type, rejection reason). */
  protected readonly calls: Tally;
  protected readonly errors = new ErrorTypes();
  protected readonly unsubscribes: Unsubscribe[] = [];

  constructor(
    protected readonly instruments: Instruments,
    readonly name: string,
    readonly type: string,
  ) {
    this.base = { [ATTR_POLICY_NAME]: name, [ATTR_POLICY_TYPE]: type };
    this.calls = new Tally(this.base);
  }

  protected count(outcome: Outcome, errorType?: string, reason?: string): void {
    const key = reason === undefined ? `${outcome}|${errorType ?? ''}` : `${outcome}|${errorType ?? ''}|${reason}`;
    this.calls.add(key, () => {
      const attributes: Attributes = { [ATTR_OUTCOME]: outcome };
      if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType;
      if (reason !== undefined) attributes[ATTR_REJECTION_REASON] = reason;
      return attributes;
    });
  }

  /** The outcome of a call that ended with `error`: `aborted` when the caller's signal ended it. */
  protected failed(error: unknown, fromResult = false): void {
    if (fromResult) this.count('failure', RESULT_ERROR_TYPE);
    else if (isAbortError(error)) this.count('aborted', this.errors.of(error));
    else this.count('failure', this.errors.of(error));
  }

  /**
   * A tally of `event` on `policy`, stopped with this tracker: the policy counts its hot event (a success,
   * an admission) in two numbers, with no payload built and no listener called, which keeps an
   * instrumented policy near the cost of a plain one.
   */
  protected tally(policy: AnyPolicy, event: string, sampler?: TallySampler): EventTally {
    const take = (policy as unknown as { [TALLY]: (event: string, sampler?: TallySampler) => EventTally })[TALLY];
    const tally = take(event, sampler);
    this.unsubscribes.push(() => tally.stop());
    return tally;
  }

  observe(result: BatchObservableResult): void {
    this.calls.observe(result, this.instruments.calls);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }
}

export class BreakerTracker extends PolicyTracker {
  private readonly successAttributes: Attributes = { ...this.base, [ATTR_OUTCOME]: 'success' };
  private readonly successes: EventTally;
  private readonly slowCalls = new Count(this.base);
  private readonly transitions = new Tally(this.base);
  private readonly timeIn = new Map<CircuitState, number>();
  private readonly stateAttributes: readonly Attributes[];
  private current: CircuitState;
  private since: number;

  constructor(
    instruments: Instruments,
    name: string,
    private readonly policy: CircuitBreakerPolicy,
    private readonly clock: Clock,
  ) {
    super(instruments, name, 'circuit-breaker');
    this.stateAttributes = BREAKER_STATES.map((state) => ({ ...this.base, [ATTR_BREAKER_STATE]: state }));
    const on = policy.on as On<CircuitBreakerEvents>;
    this.current = policy.state;
    this.since = clock.now();
    this.successes = this.tally(policy, 'success');
    this.unsubscribes.push(
      on('failure', (event) => this.failed(event.error, event.fromResult)),
      on('rejected', (event) => this.count('rejected', 'CircuitOpenError', event.state)),
      on('slowCall', () => {
        this.slowCalls.n++;
      }),
      on('stateChange', (event) => {
        const now = this.clock.now();
        this.timeIn.set(event.from, (this.timeIn.get(event.from) ?? 0) + (now - this.since));
        this.since = now;
        this.current = event.to;
        this.transitions.add(`${event.from}|${event.to}|${event.reason}`, () => ({
          [ATTR_BREAKER_STATE]: event.to,
          [ATTR_BREAKER_PREVIOUS_STATE]: event.from,
          [ATTR_BREAKER_REASON]: event.reason,
        }));
      }),
    );
  }

  override observe(result: BatchObservableResult): void {
    // Reading the state applies a due open → half-open change, whose event updates the tallies first.
    const state = this.policy.state;
    const { instruments } = this;
    const now = this.clock.now();
    for (let i = 0; i < BREAKER_STATES.length; i++) {
      const each = BREAKER_STATES[i] as CircuitState;
      const attributes = this.stateAttributes[i] as Attributes;
      result.observe(instruments.breakerState, each === state ? 1 : 0, attributes);
      const spent = (this.timeIn.get(each) ?? 0) + (each === this.current ? now - this.since : 0);
      result.observe(instruments.breakerTime, spent / 1000, attributes);
    }
    this.transitions.observe(result, instruments.breakerTransitions);
    observeCount(result, instruments.breakerSlowCalls, this.slowCalls.n, this.slowCalls.attributes);
    observeCount(result, instruments.calls, this.successes.count, this.successAttributes);
    super.observe(result);
  }
}

export class RetryTracker extends PolicyTracker {
  private readonly successAttributes: Attributes = { ...this.base, [ATTR_OUTCOME]: 'success' };
  /** Successful calls; the sum of the tally's weights is their retries. */
  private readonly successes: EventTally;
  private readonly attemptsFailed: Count;
  private readonly retries = new Tally(this.base);
  private readonly giveUps = new Tally(this.base);
  private readonly delayAttributes: Attributes;

  constructor(instruments: Instruments, name: string, policy: AnyPolicy) {
    super(instruments, name, 'retry');
    this.attemptsFailed = new Count({ ...this.base, [ATTR_OUTCOME]: 'failure' });
    this.delayAttributes = this.base;
    this.successes = this.tally(policy, 'success');
    const on = policy.on as On<RetryEvents>;
    this.unsubscribes.push(
      on('failure', (event) => {
        this.attemptsFailed.n += event.attempts;
        if (event.ok) this.failed(undefined, true);
        else this.failed(event.error);
      }),
      on('retry', (event) => {
        const type = event.ok ? RESULT_ERROR_TYPE : this.errors.of(event.error);
        this.retries.add(type, () => ({ [ATTR_ERROR_TYPE]: type }));
        this.instruments.retryDelay.record(event.delayMs / 1000, this.delayAttributes);
      }),
      on('giveUp', (event) => this.giveUps.add(event.reason, () => ({ [ATTR_GIVE_UP_REASON]: event.reason }))),
    );
  }

  override observe(result: BatchObservableResult): void {
    const { instruments, successes } = this;
    const succeeded = successes.count;
    observeCount(result, instruments.calls, succeeded, this.successAttributes);
    // Attempts of successful calls: one each, plus the retries before each success.
    observeCount(result, instruments.retryAttempts, succeeded + successes.sum, this.successAttributes);
    observeCount(result, instruments.retryAttempts, this.attemptsFailed.n, this.attemptsFailed.attributes);
    this.retries.observe(result, instruments.retries);
    this.giveUps.observe(result, instruments.retryGiveUps);
    super.observe(result);
  }
}

export class BulkheadTracker extends PolicyTracker {
  private readonly admittedAttributes: Attributes;
  /** Calls and permits that got a slot; non-zero weights are their queue waits, in ms. */
  private readonly admitted: EventTally;

  constructor(
    instruments: Instruments,
    name: string,
    private readonly policy: BulkheadPolicy,
  ) {
    super(instruments, name, 'bulkhead');
    this.admittedAttributes = { ...this.base, [ATTR_OUTCOME]: 'admitted' };
    this.admitted = this.tally(policy, 'acquired', (waitedMs) => {
      if (waitedMs > 0) this.instruments.bulkheadTimeInQueue.record(waitedMs / 1000, this.base);
    });
    const on = policy.on as On<BulkheadEvents>;
    this.unsubscribes.push(
      on('rejected', (event) => {
        if (event.reason === 'aborted') this.count('aborted', 'AbortError');
        else this.count('rejected', 'BulkheadFullError', event.reason);
      }),
    );
  }

  override observe(result: BatchObservableResult): void {
    const { instruments, policy, base } = this;
    result.observe(instruments.bulkheadRunning, policy.running, base);
    result.observe(instruments.bulkheadQueued, policy.queued, base);
    result.observe(instruments.bulkheadLimit, policy.limit, base);
    observeCount(result, instruments.calls, this.admitted.count, this.admittedAttributes);
    super.observe(result);
  }
}

export class RateLimitTracker extends PolicyTracker {
  private readonly limitBase: Attributes;
  /** Refused decisions, by reason. */
  private readonly requests: Tally;
  /**
   * Allowed decisions: on `weir.rate_limiting.requests` with result `acquired` (as the HTTP adapters report
   * theirs), and on `weir.policy.calls` with outcome `admitted` (as a bulkhead reports its own).
   */
  private readonly allowed: EventTally;
  private readonly acquiredAttributes: Attributes;
  private readonly admittedAttributes: Attributes;

  constructor(instruments: Instruments, name: string, policy: RateLimitPolicy) {
    super(instruments, name, 'rate-limit');
    const limiterName = (policy.limiter as { name?: unknown }).name;
    this.limitBase = { ...this.base, [ATTR_LIMIT_NAME]: typeof limiterName === 'string' ? limiterName : name };
    this.requests = new Tally(this.limitBase);
    this.acquiredAttributes = { ...this.limitBase, [ATTR_LIMIT_RESULT]: 'acquired' };
    this.admittedAttributes = { ...this.base, [ATTR_OUTCOME]: 'admitted' };
    this.allowed = this.tally(policy, 'allowed');
    const on = policy.on as On<RateLimitEvents>;
    this.unsubscribes.push(
      on('rejected', (event) => {
        this.count('rejected', 'RateLimitedError', event.reason);
        this.requests.add(event.reason, () => ({ [ATTR_LIMIT_RESULT]: 'rejected', [ATTR_REJECTION_REASON]: event.reason }));
      }),
      on('waiting', (event) => this.instruments.rateLimitTimeInQueue.record(event.waitMs / 1000, this.limitBase)),
    );
  }

  override observe(result: BatchObservableResult): void {
    const { instruments } = this;
    const allowed = this.allowed.count;
    observeCount(result, instruments.rateLimitRequests, allowed, this.acquiredAttributes);
    this.requests.observe(result, instruments.rateLimitRequests);
    observeCount(result, instruments.calls, allowed, this.admittedAttributes);
    super.observe(result);
  }
}

export class TimeoutTracker extends PolicyTracker {
  constructor(instruments: Instruments, name: string, on: On<TimeoutEvents>) {
    super(instruments, name, 'timeout');
    this.unsubscribes.push(on('timeout', () => this.count('timeout', 'TimeoutError')));
  }
}

export class FallbackTracker extends PolicyTracker {
  constructor(instruments: Instruments, name: string, on: On<FallbackEvents>) {
    super(instruments, name, 'fallback');
    this.unsubscribes.push(on('fallback', (event) => this.count('fallback', this.errors.of(event.error))));
  }
}
