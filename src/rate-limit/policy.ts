/**
 * `rateLimit(limiter, options)`: admits a call when the limiter allows its cost for its key. By default a
 * refused call rejects at once with `RateLimitedError` (its `retryAfterMs` is exact); with
 * `wait: { maxWaitMs, maxQueue }` it waits, first-come first-served per key (waiters.ts), when the wait
 * fits within `maxWaitMs` of entering the policy, and rejects when it does not or the queue is full.
 *
 * With `countOnly`, a call is charged when it enters (so concurrent calls cannot overshoot) and refunded
 * when it ends unless its outcome is one that counts (e.g. only failures: brute-force protection).
 *
 * With the memory store an allowed call stays on the synchronous fast path (no promise, no timer).
 */
import type { Clock } from '../core/clock.js';
import { RateLimitedError } from '../core/errors.js';
import { Emitter, type EventProbe } from '../core/events.js';
import { policyName } from '../core/names.js';
import {
  type Call,
  callSolo,
  Directive,
  rejectNextTurn,
  runInPipeline,
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
} from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { ignore, untilAborted } from '../core/signal.js';
import { checkClock, checkCount, checkDuration, checkFunction, checkOptions, show } from '../core/validate.js';
import { checkCost, checkRateLimiter, DEFAULT_KEY, type RateLimiter } from './limiter.js';
import type { BoundRateLimitStore, RateLimitAlgorithm, RateLimitDecision, RateLimitDecisionReason } from './store.js';
import { type WaitHost, WaitQueues } from './waiters.js';

/** A rate limit's key: a fixed string, or a function of the call's arguments that returns it. */
export type KeyOption = string | ((...args: any[]) => string);
/** A call's cost: a fixed number of units, or a function of the call's arguments that returns it. */
export type CostOption = number | ((...args: any[]) => number);

/** How a call ended, for `countOnly`. */
export type RateLimitOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export interface RateLimitOptions {
  /** The key, or a function of the call's arguments that returns it (default `'default'`). */
  key?: KeyOption;
  /** The cost, or a function of the call's arguments that returns it (default 1). */
  cost?: CostOption;
  /**
   * Wait for capacity instead of rejecting, when the wait is at most `maxWaitMs`; waiters of one key are
   * served in arrival order, at most `maxQueue` of them at once across keys (default 1024).
   */
  wait?: { maxWaitMs: number; maxQueue?: number };
  /**
   * Which calls keep their charge: `'failures'` (a call that throws or rejects), or a predicate of the
   * outcome. The others are refunded when they end. Default: every admitted call counts.
   */
  countOnly?: 'failures' | ((outcome: RateLimitOutcome) => boolean);
  /** The clock to wait on (default: the limiter's). */
  clock?: Clock;
  /** The policy's name (default: the limiter's). */
  name?: string;
}

export interface RateLimitEvents {
  /** A call was admitted (at once, or after waiting). `remaining` is what the key has left; `name` is the limiter's. */
  allowed: { key: string; cost: number; remaining: number; name: string };
  /** A call was refused. `name` is the limiter's. */
  rejected: { key: string; cost: number; retryAfterMs: number; reason: RateLimitDecisionReason; name: string };
  /** A call is waiting `waitMs` for capacity. */
  waiting: { key: string; cost: number; waitMs: number; name: string };
}

export interface RateLimitPolicy extends Policy<RateLimitEvents> {
  readonly limiter: RateLimiter;
  readonly name: string;
}

const OPTIONS = ['key', 'cost', 'wait', 'countOnly', 'clock', 'name'] as const;
const DEFAULT_MAX_QUEUE = 1024;

function keyOf(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`rateLimit: the key function must return a string, got ${show(key)}`);
  return key;
}

function costOf(cost: unknown): number {
  if (cost === undefined) throw new RangeError('rateLimit: the cost function must return an integer >= 0, got undefined');
  return checkCost('rateLimit: the cost function', cost);
}

/** A key or cost function applied to the call's arguments (none in `execute`). */
function applyTo(fn: Function, thisArg: unknown, args: readonly unknown[] | undefined): unknown {
  return args === undefined ? fn() : fn.apply(thisArg, args);
}

/** A binding that answers synchronously with the units left when allowed, or the refused decision. */
type SyncAdmitter = Required<Pick<BoundRateLimitStore, 'admitSync'>>;

/** `admitSync` for a store that has only `takeSync` (a custom synchronous store may). */
class AdmitThroughTake implements SyncAdmitter {
  constructor(private readonly take: NonNullable<BoundRateLimitStore['takeSync']>) {}
  admitSync(key: string, cost: number, consume: boolean, limits?: RateLimitAlgorithm): number | RateLimitDecision {
    const decision = this.take(key, cost, consume, limits);
    return decision.allowed ? decision.remaining : decision;
  }
}

/** What admits synchronously for `bound`: itself, or its `takeSync` adapted; undefined for an async store. */
function syncAdmitterOf(bound: BoundRateLimitStore): SyncAdmitter | undefined {
  if (typeof bound.admitSync === 'function') return bound as SyncAdmitter;
  return bound.takeSync === undefined ? undefined : new AdmitThroughTake(bound.takeSync);
}

/** What an admitted call was charged, kept in its slot until it ends (only with `countOnly`). */
class Charge {
  constructor(
    readonly key: string,
    readonly cost: number,
  ) {}
}

class RateLimitStage implements Stage, WaitHost {
  readonly kind = StageKind.RateLimit;
  readonly queues: WaitQueues | undefined;
  /** `events.has('allowed')` without a lookup by name: it is asked on every admitted call. */
  private readonly allowedProbe: EventProbe<RateLimitEvents['allowed']>;
  /** What admits synchronously, when the store can. */
  private readonly admitter: SyncAdmitter | undefined;
  /** {@link admitter} when the solo path applies (no waiting, no `countOnly`), else undefined. */
  private readonly soloAdmitter: SyncAdmitter | undefined;
  constructor(
    private readonly limiter: RateLimiter,
    private readonly key: KeyOption,
    private readonly cost: CostOption,
    private readonly maxWaitMs: number,
    maxQueue: number,
    private readonly countOnly: ((outcome: RateLimitOutcome) => boolean) | undefined,
    private readonly clock: Clock,
    private readonly events: Emitter<RateLimitEvents>,
    readonly policyName: string,
  ) {
    this.queues = maxWaitMs < 0 ? undefined : new WaitQueues(limiter, clock, maxQueue, this);
    this.allowedProbe = events.probe('allowed', true);
    this.admitter = syncAdmitterOf(limiter.bound);
    this.soloAdmitter = this.queues === undefined && countOnly === undefined ? this.admitter : undefined;
  }

  /**
   * The pipeline's solo path, for a limiter with a synchronous store and neither waiting nor `countOnly`
   * (whose `exit` does nothing): take, then run the function in place. Not async itself (see the
   * bulkhead's): a throwing key, cost or store still rejects the returned promise.
   */
  solo(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    const admitter = this.soloAdmitter;
    if (admitter === undefined) return runInPipeline(stages, fn, thisArg, args, invoke);
    // A fixed key and cost (the common case) go straight to the take; functions of the arguments out of line.
    if (typeof this.key === 'string' && typeof this.cost === 'number') {
      return this.takeSolo(admitter, this.key, this.cost, fn, thisArg, args, invoke);
    }
    return this.soloComputed(admitter, fn, thisArg, args, invoke);
  }

  private soloComputed(
    admitter: SyncAdmitter,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    let key: string;
    let cost: number;
    try {
      key = typeof this.key === 'string' ? this.key : keyOf(applyTo(this.key, thisArg, args));
      cost = typeof this.cost === 'number' ? this.cost : costOf(applyTo(this.cost, thisArg, args));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.takeSolo(admitter, key, cost, fn, thisArg, args, invoke);
  }

  private takeSolo(
    admitter: SyncAdmitter,
    key: string,
    cost: number,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    let admitted: number | RateLimitDecision;
    try {
      admitted = admitter.admitSync(key, cost, true, this.limiter.limitsFor(key));
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof admitted !== 'number') return rejectNextTurn(this.refusal(key, cost, admitted));
    this.allowed(key, cost, admitted);
    return callSolo(fn, thisArg, args, invoke);
  }

  enter(call: Call, slot: number): unknown {
    // Written out, as in soloComputed, not through a shared method: in a composition that method costs V8's
    // inlining budget (about 100 instructions more per six-policy call, measured).
    const key = typeof this.key === 'string' ? this.key : keyOf(applyTo(this.key, call.thisArg, call.args));
    const cost = typeof this.cost === 'number' ? this.cost : costOf(applyTo(this.cost, call.thisArg, call.args));
    if (this.countOnly !== undefined) call.slots[slot] = new Charge(key, cost);
    const queues = this.queues;
    // Waiters for this key go first: a new call queues behind them instead of taking.
    if (queues !== undefined && queues.size > 0 && queues.has(key)) {
      return queues.join(key, cost, this.clock.now() + this.maxWaitMs, call.signal, undefined);
    }
    const admitter = this.admitter;
    if (admitter !== undefined) {
      const admitted = admitter.admitSync(key, cost, true, this.limiter.limitsFor(key));
      if (typeof admitted !== 'number') return this.refused(call, key, cost, admitted, this.clock.now());
      this.allowed(key, cost, admitted);
      return undefined;
    }
    return this.takeAsync(call, key, cost);
  }

  exit(call: Call, slot: number): Directive {
    const countOnly = this.countOnly;
    if (countOnly === undefined) return Directive.Continue;
    const charge = call.slots[slot] as Charge | undefined;
    call.slots[slot] = undefined;
    if (charge === undefined || charge.cost === 0) return Directive.Continue;
    const outcome: RateLimitOutcome = call.ok ? { ok: true, value: call.value } : { ok: false, error: call.value };
    if (!countOnly(outcome)) this.giveBack(charge.key, charge.cost);
    return Directive.Continue;
  }

  private giveBack(key: string, cost: number): void {
    const bound = this.limiter.bound;
    const limits = this.limiter.limitsFor(key);
    if (bound.refundSync !== undefined) bound.refundSync(key, cost, limits);
    else if (typeof bound.refund === 'function') bound.refund(key, cost, limits).then(undefined, ignore);
  }

  private async takeAsync(call: Call, key: string, cost: number): Promise<void> {
    // A store's round trip cannot be cancelled, but the call can stop waiting for it at once.
    const decision = await untilAborted(this.limiter.bound.take(key, cost, true, this.limiter.limitsFor(key)), call.signal);
    if (decision.allowed) {
      this.allowed(key, cost, decision.remaining);
      return;
    }
    const outcome = this.refused(call, key, cost, decision, this.clock.now());
    if (outcome instanceof Promise) return outcome;
    throw outcome;
  }

  /** The error to reject with, or the wait (a promise) when waiting is on and the wait fits. */
  private refused(call: Call, key: string, cost: number, decision: RateLimitDecision, start: number): unknown {
    const queues = this.queues;
    if (queues !== undefined && decision.reason === 'limit' && decision.retryAfterMs <= this.maxWaitMs) {
      return queues.join(key, cost, start + this.maxWaitMs, call.signal, decision);
    }
    return this.refusal(key, cost, decision);
  }

  refusal(key: string, cost: number, decision: RateLimitDecision): RateLimitedError {
    const reason = decision.reason === 'cost-exceeds-limit' ? 'cost-exceeds-limit' : 'limit';
    const name = this.limiter.name;
    if (this.events.has('rejected')) {
      this.events.emit('rejected', { key, cost, retryAfterMs: decision.retryAfterMs, reason, name });
    }
    return RateLimitedError.fast(decision.retryAfterMs, reason, decision.limit, decision.remaining, name);
  }

  allowed(key: string, cost: number, remaining: number): void {
    const probe = this.allowedProbe;
    if (probe.tallying !== 0) probe.tally(0);
    if (probe.active) this.emitAllowed(probe, key, cost, remaining);
  }

  /** Out of line: the payload's literal would take a good part of V8's inlining budget on every admitted call's path. */
  private emitAllowed(probe: EventProbe<RateLimitEvents['allowed']>, key: string, cost: number, remaining: number): void {
    probe.emit({ key, cost, remaining, name: this.limiter.name });
  }

  waiting(key: string, cost: number, waitMs: number): void {
    if (this.events.has('waiting')) this.events.emit('waiting', { key, cost, waitMs, name: this.limiter.name });
  }
}

function checkKeyOption(where: string, key: unknown): KeyOption {
  if (key === undefined) return DEFAULT_KEY;
  if (typeof key === 'string' || typeof key === 'function') return key as KeyOption;
  throw new TypeError(`${where}: option "key" must be a string or a function, got ${show(key)}`);
}

function checkCountOnly(where: string, value: unknown): ((outcome: RateLimitOutcome) => boolean) | undefined {
  if (value === undefined) return undefined;
  if (value === 'failures') return (outcome) => !outcome.ok;
  if (typeof value === 'function') return value as (outcome: RateLimitOutcome) => boolean;
  throw new TypeError(`${where}: option "countOnly" must be 'failures' or a function of the outcome, got ${show(value)}`);
}

/** The `wait` option: `maxWaitMs` -1 when calls never wait (no `wait`). */
export function parseWait(where: string, value: unknown): { maxWaitMs: number; maxQueue: number } {
  if (value === undefined) return { maxWaitMs: -1, maxQueue: DEFAULT_MAX_QUEUE };
  checkOptions(`${where}: option "wait"`, value, ['maxWaitMs', 'maxQueue']);
  const wait = value as { maxWaitMs?: unknown; maxQueue?: unknown };
  return {
    maxWaitMs: checkDuration(where, 'wait.maxWaitMs', wait.maxWaitMs),
    maxQueue:
      wait.maxQueue === undefined ? DEFAULT_MAX_QUEUE : checkCount(where, 'wait.maxQueue', wait.maxQueue, 1, { max: 2 ** 30 }),
  };
}

/** Admits calls within `limiter`'s limit for their key; rejects (or waits, with `wait`) otherwise. */
export function rateLimit(limiter: RateLimiter, options: RateLimitOptions = {}): RateLimitPolicy {
  const where = 'rateLimit';
  checkRateLimiter(where, 'the first argument', limiter);
  checkOptions(where, options, OPTIONS);
  const key = checkKeyOption(where, options.key);
  let cost: CostOption = 1;
  if (typeof options.cost === 'number') {
    cost = checkCost(where, options.cost);
    if (cost > limiter.limit) {
      throw new RangeError(
        `${where}: option "cost" (${cost}) exceeds the limiter's limit (${limiter.limit}): no call could pass`,
      );
    }
  } else if (options.cost !== undefined) cost = checkFunction<(...args: any[]) => number>(where, 'cost', options.cost);
  const { maxWaitMs, maxQueue } = parseWait(where, options.wait);
  const countOnly = checkCountOnly(where, options.countOnly);
  const clock = options.clock === undefined ? limiter.clock : checkClock(where, options.clock);
  const name = options.name === undefined ? limiter.name : policyName('rate-limit', options.name);
  const events = new Emitter<RateLimitEvents>(new Set(['allowed', 'rejected', 'waiting']));
  const stage = new RateLimitStage(limiter, key, cost, maxWaitMs, maxQueue, countOnly, clock, events, name);
  return createPolicy<RateLimitEvents, never, { readonly limiter: RateLimiter; readonly name: string }>([stage], events, {
    limiter,
    name,
  });
}
