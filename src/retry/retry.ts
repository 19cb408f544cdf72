/**
 * `retry(options)`: runs the function again after a failure, up to `maxAttempts` calls in all, waiting a
 * backoff (full-jitter exponential by default) that a `Retry-After` hint may lengthen. Only the stages
 * inside the retry run again; the sleep between attempts is abortable and leaves no timer behind.
 *
 * Per call, `enter` stores a number in the slot (the start time, or 0); the state object is created only
 * at the first failure, so the success path allocates nothing.
 */
import { type Clock, nextTurn } from '../core/clock.js';
import {
  isAbortError,
  isBulkheadFullError,
  isCircuitOpenError,
  isNonRetryable,
  isRateLimitedError,
  isWeirError,
  RetryExhaustedError,
  type RetryGiveUpReason,
} from '../core/errors.js';
import { Emitter, type EventProbe } from '../core/events.js';
import { policyName } from '../core/names.js';
import {
  type Call,
  Directive,
  resume,
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
  settledCall,
} from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { sleep } from '../core/signal.js';
import { checkOptions, show } from '../core/validate.js';
import type { Backoff, BackoffFunction, RetryOutcome } from './backoff.js';
import type { RetryBudgetLike } from './budget.js';
import { parseRetryConfig, RETRY_OPTIONS, type RetryConfig, type WeirRejection } from './options.js';

export type { WeirRejection };

import { retryAfterHint } from './retry-after.js';

export interface RetryOptions {
  /** Calls in all, the first included (default 3): `maxAttempts: 3` makes at most 3 calls. `Infinity` is allowed. */
  maxAttempts?: number;
  /** `exponentialBackoff()` (default, full jitter), `constantBackoff(ms)`, a number of ms, or `(attempt, outcome) => ms`. */
  backoff?: Backoff | BackoffFunction | number;
  /** Which errors to retry (default: all of them). Never consulted for the errors `retry` never retries. */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /** Which results count as failures to retry, e.g. `(r) => r.status >= 500` (default: none). */
  retryOnResult?: (value: any, attempt: number) => boolean;
  /** Which of weir's rejections to retry: `true` for all, or a list (default: none). */
  retryRejections?: boolean | readonly WeirRejection[];
  /** Follow delay hints (`retryAfterMs`, `Retry-After`) (default true). */
  honorRetryAfter?: boolean;
  /** The most a hint may add to the wait (default 60 000 ms; `Infinity` trusts the server). */
  maxDelayMs?: number;
  /** A time budget from entering the policy: no attempt starts at or after it (default: none). */
  maxElapsedMs?: number;
  /** A budget shared by many calls (see `retryBudget`): when it is exhausted, the failure is returned at once. */
  budget?: RetryBudgetLike;
  /** When retries run out on a result failure: return the last result (default) or throw `RetryExhaustedError`. */
  exhaustedResult?: 'return' | 'throw';
  clock?: Clock;
  /** Names the policy in its events and messages (default `retry-<n>`). */
  name?: string;
}

/** Why a retryable failure was not retried. */
export type GiveUpReason = RetryGiveUpReason;

export interface RetryEvents {
  /** Attempt `attempt` failed and the next starts after `delayMs`. Emitted before the wait. */
  retry: { readonly attempt: number; readonly delayMs: number } & RetryOutcome;
  /** A retryable failure will not be retried: attempts, time or budget ran out. */
  giveUp: { readonly attempts: number; readonly reason: GiveUpReason } & RetryOutcome;
  /** The call succeeded after `attempts` calls. */
  success: { readonly attempts: number };
  /** The call ended in failure after `attempts` calls (an error, or a result `retryOnResult` rejected). */
  failure: { readonly attempts: number } & RetryOutcome;
}

export interface RetryPolicy extends Policy<RetryEvents> {
  readonly maxAttempts: number;
  readonly budget: RetryBudgetLike | undefined;
}

/** The next turn of the event loop, or a rejection with the abort reason if the call was aborted meanwhile. */
function afterTurn(clock: Clock, call: Call): Promise<void> {
  return nextTurn(clock).then(() => {
    if (call.aborted) throw call.abortReason;
  });
}

/** Per-call state, created at the first failure. */
class RetryState {
  attempt = 1;
  previousMs: number | undefined = undefined;
  constructor(readonly start: number) {}
}

function outcomeOf(call: Call): RetryOutcome {
  return call.ok ? { ok: true, value: call.value } : { ok: false, error: call.value };
}

function checkVerdict(name: string, verdict: unknown): boolean {
  if (typeof verdict !== 'boolean') {
    throw new TypeError(`retry: "${name}" must return a boolean (synchronously), got ${show(verdict)}`);
  }
  return verdict;
}

/** The payload of every first-attempt success (the common case): one frozen object, no allocation per call. */
const FIRST_ATTEMPT: RetryEvents['success'] = Object.freeze({ attempts: 1 });

class RetryStage implements Stage {
  readonly kind = StageKind.Retry;
  private readonly timed: boolean;
  /** `events.has('success')` without a lookup by name: it is asked on every successful call. */
  private readonly successProbe: EventProbe<RetryEvents['success']>;

  constructor(
    private readonly config: RetryConfig,
    private readonly events: Emitter<RetryEvents>,
  ) {
    this.timed = config.maxElapsedMs !== undefined;
    this.successProbe = events.probe('success', true);
  }

  enter(call: Call, slot: number): undefined {
    call.attempt = 1;
    call.slots[slot] = this.timed ? this.config.clock.now() : 0;
    this.config.budget?.deposit();
    return undefined;
  }

  /**
   * The pipeline's solo path: the first attempt runs in place; a success without `retryOnResult` ends
   * here, and any other outcome goes on through `exit` (retries included) on a call record built then.
   * Not async itself (see the bulkhead's): a throwing clock still rejects the returned promise.
   */
  solo(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    let start = 0;
    try {
      const config = this.config;
      if (this.timed) start = config.clock.now();
      config.budget?.deposit();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.firstAttempt(stages, fn, thisArg, args, invoke, start);
  }

  private async firstAttempt(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
    start: number,
  ): Promise<unknown> {
    let value: unknown;
    try {
      value = await invoke(fn, thisArg, args);
    } catch (error) {
      return resume(stages, settledCall(fn, thisArg, args, invoke, false, error, start));
    }
    if (this.config.retryOnResult !== undefined)
      return resume(stages, settledCall(fn, thisArg, args, invoke, true, value, start));
    const probe = this.successProbe;
    if (probe.tallying !== 0 || probe.active) this.succeeded(1);
    return value;
  }

  exit(call: Call, slot: number): Directive {
    // A success with no result predicate, in few bytes (see the breaker's enter): everything else out of line.
    if (!call.ok || this.config.retryOnResult !== undefined) return this.settle(call, slot);
    const state = call.slots[slot];
    const probe = this.successProbe;
    if (probe.tallying !== 0 || probe.active) this.succeeded(typeof state === 'number' ? 1 : (state as RetryState).attempt);
    return Directive.Continue;
  }

  private succeeded(attempt: number): void {
    const probe = this.successProbe;
    // The tally's weight: the retries before this success.
    if (probe.tallying !== 0) probe.tally(attempt - 1);
    if (probe.active) probe.emit(attempt === 1 ? FIRST_ATTEMPT : { attempts: attempt });
  }

  private settle(call: Call, slot: number): Directive {
    const state = call.slots[slot];
    const attempt = typeof state === 'number' ? 1 : (state as RetryState).attempt;
    if (call.ok) {
      const onResult = this.config.retryOnResult;
      if (onResult === undefined || !checkVerdict('retryOnResult', onResult(call.value, attempt))) {
        this.succeeded(attempt);
        return Directive.Continue;
      }
    } else if (call.aborted || !this.retryable(call.value, attempt)) {
      return this.fail(call, attempt);
    }
    return this.failed(call, slot, attempt, state);
  }

  /** The errors `retry` never retries come first; `retryOn` decides among the rest. */
  private retryable(error: unknown, attempt: number): boolean {
    if (isAbortError(error) || isNonRetryable(error)) return false;
    if (isWeirError(error)) {
      const config = this.config;
      if (isCircuitOpenError(error) && !config.circuitOpen) return false;
      if (isBulkheadFullError(error) && !config.bulkheadFull) return false;
      // An infinite wait means the cost can never pass: retrying cannot help.
      if (isRateLimitedError(error) && (!config.rateLimited || error.retryAfterMs === Number.POSITIVE_INFINITY)) return false;
    }
    const retryOn = this.config.retryOn;
    return retryOn === undefined || checkVerdict('retryOn', retryOn(error, attempt));
  }

  /** A retryable failure: retry it if attempts, time and budget allow. */
  private failed(call: Call, slot: number, attempt: number, slotValue: unknown): Directive {
    const config = this.config;
    if (call.aborted) return this.fail(call, attempt);
    if (attempt >= config.maxAttempts) return this.giveUp(call, attempt, 'attempts');
    const clock = config.clock;
    const state = typeof slotValue === 'number' ? new RetryState(slotValue) : (slotValue as RetryState);
    const outcome = outcomeOf(call);
    let delay = config.backoff.delay(attempt, state.previousMs, clock.random(), outcome);
    if (typeof delay !== 'number' || !(delay >= 0) || delay === Number.POSITIVE_INFINITY) {
      throw new RangeError(`retry: the backoff returned ${show(delay)} after attempt ${attempt}; expected a finite number >= 0`, {
        cause: call.value,
      });
    }
    state.previousMs = delay;
    if (config.honorRetryAfter) {
      const hint = retryAfterHint(call.value, clock.wallNow());
      if (hint !== undefined) {
        if (hint === Number.POSITIVE_INFINITY) return this.giveUp(call, attempt, 'retryAfter');
        const capped = Math.min(hint, config.maxDelayMs);
        if (capped > delay) delay = capped;
      }
    }
    const maxElapsedMs = config.maxElapsedMs;
    if (maxElapsedMs !== undefined && clock.now() + delay - state.start >= maxElapsedMs) {
      return this.giveUp(call, attempt, 'elapsed');
    }
    if (config.budget !== undefined && !config.budget.tryWithdraw()) return this.giveUp(call, attempt, 'budget');
    const next = attempt + 1;
    state.attempt = next;
    call.slots[slot] = state;
    call.attempt = next;
    const events = this.events;
    if (events.has('retry')) events.emit('retry', { attempt, delayMs: delay, ...outcome });
    // Even a zero delay lets the event loop turn: instant failures must not starve timers and I/O (an
    // outer timeout, the caller's abort), which end the wait.
    const wait = delay > 0 ? sleep(clock, delay, call.signal) : afterTurn(clock, call);
    call.pending = events.has('failure') ? wait.catch((reason: unknown) => this.abortedWait(reason, attempt)) : wait;
    return Directive.Retry;
  }

  /** An abort ended the wait before attempt `attempt + 1`: the call fails with the abort reason. */
  private abortedWait(reason: unknown, attempt: number): never {
    this.events.emit('failure', { attempts: attempt, ok: false, error: reason });
    throw reason;
  }

  private giveUp(call: Call, attempt: number, reason: GiveUpReason): Directive {
    const events = this.events;
    if (events.has('giveUp')) events.emit('giveUp', { attempts: attempt, reason, ...outcomeOf(call) });
    if (call.ok && this.config.throwOnExhausted) {
      const error = new RetryExhaustedError(attempt, call.value, reason);
      call.fail(error);
    }
    return this.fail(call, attempt);
  }

  private fail(call: Call, attempt: number): Directive {
    if (this.events.has('failure')) this.events.emit('failure', { attempts: attempt, ...outcomeOf(call) });
    return Directive.Continue;
  }
}

/** Retries failed calls with backoff; see {@link RetryOptions}. */
export function retry(options: RetryOptions = {}): RetryPolicy {
  const where = 'retry';
  checkOptions(where, options, RETRY_OPTIONS);
  const name = policyName(where, options.name);
  const config = parseRetryConfig(where, options as Record<string, unknown>);
  const maxAttempts = config.maxAttempts;
  const events = new Emitter<RetryEvents>(new Set(['retry', 'giveUp', 'success', 'failure']));
  return createPolicy<RetryEvents, never, Omit<RetryPolicy, keyof Policy<RetryEvents>> & { readonly name: string }>(
    [new RetryStage(config, events)],
    events,
    {
      name,
      maxAttempts,
      budget: config.budget,
    },
  );
}
