import type { Attributes, BatchObservableResult } from '@opentelemetry/api';
import type { BulkheadEvents, BulkheadPolicy } from '../../src/bulkhead/bulkhead.js';
import type { CircuitBreakerEvents, CircuitBreakerPolicy } from '../../src/circuit-breaker/circuit-breaker.js';
import type { CircuitState } from '../../src/circuit-breaker/machine.js';
import type { Clock } from '../../src/core/clock.js';
import { isAbortError } from '../../src/core/errors.js';
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

  protected counted(count: Count, result: BatchObservableResult): void {
    if (count.n !== 0) result.observe(this.instruments.calls, count.n, count.attributes);
  }

  observe(result: BatchObservableResult): void {
    this.calls.observe(result, this.instruments.calls);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }

  protected successCount(): Count {
    return new Count({ ...this.base, [ATTR_OUTCOME]: 'success' });
  }
}

export class BreakerTracker extends PolicyTracker {
  private readonly successes = this.successCount();
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
    this.unsubscribes.push(
      on('success', () => {
        this.successes.n++;
      }),
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
    if (this.slowCalls.n !== 0) result.observe(instruments.breakerSlowCalls, this.slowCalls.n, this.slowCalls.attributes);
    this.counted(this.successes, result);
    super.observe(result);
  }
}

export class RetryTracker extends PolicyTracker {
  private readonly successes = this.successCount();
  private readonly attemptsOk: Count;
  private readonly attemptsFailed: Count;
  private readonly retries = new Tally(this.base);
  private readonly giveUps = new Tally(this.base);
  private readonly delayAttributes: Attributes;

  constructor(instruments: Instruments, name: string, on: On<RetryEvents>) {
    super(instruments, name, 'retry');
    this.attemptsOk = new Count({ ...this.base, [ATTR_OUTCOME]: 'success' });
    this.attemptsFailed = new Count({ ...this.base, [ATTR_OUTCOME]: 'failure' });
    this.delayAttributes = this.base;
    this.unsubscribes.push(
      on('success', (event) => {
        this.successes.n++;
        this.attemptsOk.n += event.attempts;
      }),
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
    const { instruments } = this;
    this.counted(this.successes, result);
    if (this.attemptsOk.n !== 0) result.observe(instruments.retryAttempts, this.attemptsOk.n, this.attemptsOk.attributes);
    if (this.attemptsFailed.n !== 0)
      result.observe(instruments.retryAttempts, this.attemptsFailed.n, this.attemptsFailed.attributes);
    this.retries.observe(result, instruments.retries);
    this.giveUps.observe(result, instruments.retryGiveUps);
    super.observe(result);
  }
}

export class BulkheadTracker extends PolicyTracker {
  private readonly admitted: Count;

  constructor(
    instruments: Instruments,
    name: string,
    private readonly policy: BulkheadPolicy,
  ) {
    super(instruments, name, 'bulkhead');
    this.admitted = new Count({ ...this.base, [ATTR_OUTCOME]: 'admitted' });
    const on = policy.on as On<BulkheadEvents>;
    this.unsubscribes.push(
      on('acquired', (event) => {
        this.admitted.n++;
        if (event.waitedMs > 0) this.instruments.bulkheadTimeInQueue.record(event.waitedMs / 1000, this.base);
      }),
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
    this.counted(this.admitted, result);
    super.observe(result);
  }
}

export class RateLimitTracker extends PolicyTracker {
  private readonly limitBase: Attributes;
  /** Refused decisions, by reason. */
  private readonly requests: Tally;
  /** Allowed decisions: `weir.rate_limiting.result` `acquired`, as the HTTP adapters report theirs. */
  private readonly acquired: Count;
  /** Admitted calls on `weir.policy.calls` (outcome `admitted`, as a bulkhead reports its own). */
  private readonly admitted: Count;

  constructor(instruments: Instruments, name: string, policy: RateLimitPolicy) {
    super(instruments, name, 'rate-limit');
    const limiterName = (policy.limiter as { name?: unknown }).name;
    this.limitBase = { ...this.base, [ATTR_LIMIT_NAME]: typeof limiterName === 'string' ? limiterName : name };
    this.requests = new Tally(this.limitBase);
    this.acquired = new Count({ ...this.limitBase, [ATTR_LIMIT_RESULT]: 'acquired' });
    this.admitted = new Count({ ...this.base, [ATTR_OUTCOME]: 'admitted' });
    const on = policy.on as On<RateLimitEvents>;
    this.unsubscribes.push(
      on('allowed', () => {
        this.acquired.n++;
        this.admitted.n++;
      }),
      on('rejected', (event) => {
        this.count('rejected', 'RateLimitedError', event.reason);
        this.requests.add(event.reason, () => ({ [ATTR_LIMIT_RESULT]: 'rejected', [ATTR_REJECTION_REASON]: event.reason }));
      }),
      on('waiting', (event) => this.instruments.rateLimitTimeInQueue.record(event.waitMs / 1000, this.limitBase)),
    );
  }

  override observe(result: BatchObservableResult): void {
    const { instruments, acquired } = this;
    if (acquired.n !== 0) result.observe(instruments.rateLimitRequests, acquired.n, acquired.attributes);
    this.requests.observe(result, instruments.rateLimitRequests);
    this.counted(this.admitted, result);
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
