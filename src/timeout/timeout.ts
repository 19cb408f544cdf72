/**
 * `timeout(ms)`: at the deadline the context's signal aborts with a `TimeoutError`. Aggressive (default):
 * the call also rejects with that `TimeoutError` at once, without waiting for the function. Cooperative:
 * the call waits for the function, which should stop when its signal aborts; if it then rejects, the call
 * rejects with `TimeoutError` (its `cause` is the function's error), and if it still resolves, the value is
 * returned.
 *
 * No timer per call: each timeout policy keeps its pending calls in one list ordered by deadline (one
 * duration and a monotonic clock make appending keep the order), removes a call in O(1) when it settles,
 * and keeps at most one clock timer armed, for the earliest deadline it knows of.
 */
import type { Clock } from '../core/clock.js';
import { type DeadlineEntry, DeadlineQueue } from '../core/deadlines.js';
import { TimeoutError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { policyName } from '../core/names.js';
import {
  type Call,
  Directive,
  race,
  type SignalScope,
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
} from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { neverAborted, unwatchAbort, watchAbort } from '../core/signal.js';
import { parseTimeoutOptions } from './options.js';

export interface TimeoutOptions {
  /** Milliseconds from entering the policy to the deadline. */
  ms: number;
  /** `false` (default): reject at the deadline. `true`: abort the signal and wait for the function. */
  cooperative?: boolean;
  clock?: Clock;
  /** Names the policy in its events and messages (default `timeout-<n>`). */
  name?: string;
}

export interface TimeoutEvents {
  /** The deadline passed before the call settled. */
  timeout: { timeoutMs: number };
}

export interface TimeoutPolicy extends Policy<TimeoutEvents> {
  readonly timeoutMs: number;
  readonly cooperative: boolean;
  /** Calls currently running under this timeout. */
  readonly pending: number;
}

/**
 * One call's deadline, and the signal scope it opens (its signal is created only if somebody reads it).
 * It declares the queue's entry fields itself instead of extending `DeadlineEntry`: a derived class's
 * constructor (the `super()` call) is not inlined into `enter` and costs tens of ns per call.
 */
class Deadline implements DeadlineEntry, SignalScope {
  prev: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  at = Number.POSITIVE_INFINITY;
  queued = false;
  expired: TimeoutError | undefined = undefined;
  /** A solo call's interrupt (it has no call record): rejects the await of its function. */
  interrupt: ((reason: unknown) => void) | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  private linked: AbortSignal | undefined = undefined;
  /** The call left this scope: a signal first read from now on no longer follows the enclosing one. */
  private disposed = false;
  constructor(
    public call: Call | undefined,
    readonly parentScope: SignalScope | undefined,
    private readonly root: AbortSignal | undefined,
  ) {}

  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      const parent = this.parentScope === undefined ? (this.root ?? neverAborted) : this.parentScope.signal;
      if (this.expired !== undefined) controller.abort(this.expired);
      else if (parent.aborted) controller.abort(parent.reason);
      else if (parent !== neverAborted && !this.disposed) {
        watchAbort(parent, this);
        this.linked = parent;
      }
    }
    return controller.signal;
  }

  get aborted(): boolean {
    if (this.expired !== undefined) return true;
    return this.parentScope === undefined ? this.root?.aborted === true : this.parentScope.aborted;
  }

  get reason(): unknown {
    if (this.controller?.signal.aborted) return this.controller.signal.reason;
    if (this.expired !== undefined) return this.expired;
    return this.parentScope === undefined ? this.root?.reason : this.parentScope.reason;
  }

  expire(error: TimeoutError): void {
    this.expired = error;
    this.controller?.abort(error);
  }

  /** The enclosing signal aborted: pass the abort (and its reason) inward. */
  handleEvent(): void {
    this.controller?.abort(this.linked?.reason);
  }

  dispose(): void {
    this.disposed = true;
    if (this.linked !== undefined) {
      unwatchAbort(this.linked, this);
      this.linked = undefined;
    }
  }
}

class TimeoutStage implements Stage {
  readonly kind = StageKind.Timeout;
  readonly deadlines: DeadlineQueue<Deadline>;

  constructor(
    readonly ms: number,
    readonly cooperative: boolean,
    private readonly clock: Clock,
    private readonly events: Emitter<TimeoutEvents>,
    readonly name: string,
  ) {
    // `keep`: calls come and go one at a time far more often than the timer fires.
    this.deadlines = new DeadlineQueue<Deadline>(clock, (deadline) => this.expire(deadline), 'keep');
  }

  enter(call: Call, slot: number): undefined {
    const deadline = new Deadline(call, call.scope, call.outer);
    call.scope = deadline;
    call.slots[slot] = deadline;
    if (!this.cooperative) call.interruptible++;
    this.deadlines.add(deadline, this.clock.now() + this.ms);
    return undefined;
  }

  /** The pipeline's solo path: `enter`, the function (raced with the deadline unless cooperative) and `exit` in place. */
  async solo(
    _stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    const deadline = new Deadline(undefined, undefined, undefined);
    this.deadlines.add(deadline, this.clock.now() + this.ms);
    let ok = true;
    let value: unknown;
    try {
      const result = invoke(fn, thisArg, args, deadline);
      value = this.cooperative ? await result : await race(deadline, result);
    } catch (error) {
      ok = false;
      value = error;
    }
    deadline.dispose();
    const expired = deadline.expired;
    if (expired === undefined) this.deadlines.remove(deadline);
    else if (!this.cooperative) {
      ok = false;
      value = expired;
    } else if (!ok) value = value === expired ? expired : TimeoutError.fast(this.ms, value, this.name);
    if (ok) return value;
    throw value;
  }

  exit(call: Call, slot: number): Directive {
    const deadline = call.slots[slot] as Deadline;
    call.slots[slot] = undefined;
    call.scope = deadline.parentScope;
    deadline.dispose();
    if (!this.cooperative) call.interruptible--;
    if (deadline.expired === undefined) {
      this.deadlines.remove(deadline);
      deadline.call = undefined;
    } else this.expiredOutcome(call, deadline.expired);
    return Directive.Continue;
  }

  /** Out of line (the executor inlines `exit`): the outcome of a call whose deadline passed first. */
  private expiredOutcome(call: Call, expired: TimeoutError): void {
    if (!this.cooperative) {
      // The deadline passed before the call settled: the outcome is the timeout, whatever came later.
      call.fail(expired);
    } else if (!call.ok) {
      call.value = call.value === expired ? expired : TimeoutError.fast(this.ms, call.value, this.name);
    }
  }

  private expire(deadline: Deadline): void {
    const call = deadline.call;
    deadline.call = undefined;
    const error = TimeoutError.fast(this.ms, undefined, this.name);
    deadline.expire(error);
    if (call !== undefined) call.deadlinePassed = true;
    if (!this.cooperative) {
      if (call !== undefined) call.interrupt?.(error);
      else deadline.interrupt?.(error);
    }
    this.events.emit('timeout', { timeoutMs: this.ms });
  }
}

/** Rejects with `TimeoutError` (and aborts the context's signal) when a call outlives `ms`. */
export function timeout(msOrOptions: number | TimeoutOptions): TimeoutPolicy {
  const options: TimeoutOptions = typeof msOrOptions === 'number' ? { ms: msOrOptions } : msOrOptions;
  const { ms, cooperative, clock } = parseTimeoutOptions(options);
  const name = policyName('timeout', options.name);
  const events = new Emitter<TimeoutEvents>(new Set(['timeout']));
  const stage = new TimeoutStage(ms, cooperative, clock, events, name);
  return createPolicy<TimeoutEvents, never, Omit<TimeoutPolicy, keyof Policy<TimeoutEvents>> & { readonly name: string }>(
    [stage],
    events,
    {
      name,
      timeoutMs: ms,
      cooperative,
      get pending() {
        return stage.deadlines.size;
      },
    },
  );
}
