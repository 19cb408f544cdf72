/**
 * `rateLimit(limiter, options)`: admits a call when the limiter allows its cost for its key. By default a
 * refused call rejects at once with `RateLimitedError` (its `retryAfterMs` is exact); with
 * `wait: { maxWaitMs }` it waits (abortably, on the limiter's clock) when the wait fits within `maxWaitMs`
 * of entering the policy, then takes again, and rejects when it does not fit.
 *
 * With the memory store an allowed call stays on the synchronous fast path (no promise, no timer).
 */
import type { Clock } from '../core/clock.js';
import { RateLimitedError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { type Call, CONTINUE, type Directive, STAGE_RATE_LIMIT, type Stage } from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { sleep, untilAborted } from '../core/signal.js';
import { checkClock, checkFunction, checkMs, checkOptions, show } from '../core/validate.js';
import { checkCost, checkRateLimiter, DEFAULT_KEY, type RateLimiter } from './limiter.js';
import type { RateLimitDecision, RateLimitDecisionReason } from './store.js';

/** A rate limit's key: a fixed string, or a function of the call's arguments that returns it. */
export type KeyOption = string | ((...args: any[]) => string);
/** A call's cost: a fixed number of units, or a function of the call's arguments that returns it. */
export type CostOption = number | ((...args: any[]) => number);

export interface RateLimitOptions {
  /** The key, or a function of the call's arguments that returns it (default `'default'`). */
  key?: KeyOption;
  /** The cost, or a function of the call's arguments that returns it (default 1). */
  cost?: CostOption;
  /** Wait for capacity instead of rejecting, when the wait is at most `maxWaitMs`. */
  wait?: { maxWaitMs: number };
  /** The clock to wait on (default: the limiter's). */
  clock?: Clock;
}

export interface RateLimitEvents {
  /** A call was refused. */
  rejected: { key: string; cost: number; retryAfterMs: number; reason: RateLimitDecisionReason };
  /** A call is waiting `waitMs` for capacity. */
  waiting: { key: string; cost: number; waitMs: number };
}

export interface RateLimitPolicy extends Policy<RateLimitEvents> {
  readonly limiter: RateLimiter;
}

const OPTIONS = ['key', 'cost', 'wait', 'clock'] as const;

function keyOf(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`rateLimit: the key function must return a string, got ${show(key)}`);
  return key;
}

function costOf(cost: unknown): number {
  if (cost === undefined) throw new RangeError('rateLimit: the cost function must return an integer >= 0, got undefined');
  return checkCost('rateLimit: the cost function', cost);
}

class RateLimitStage implements Stage {
  readonly kind = STAGE_RATE_LIMIT;
  constructor(
    private readonly limiter: RateLimiter,
    private readonly key: KeyOption,
    private readonly cost: CostOption,
    private readonly maxWaitMs: number,
    private readonly clock: Clock,
    private readonly events: Emitter<RateLimitEvents>,
  ) {}

  enter(call: Call): unknown {
    const key = typeof this.key === 'string' ? this.key : keyOf(this.applyTo(this.key, call));
    const cost = typeof this.cost === 'number' ? this.cost : costOf(this.applyTo(this.cost, call));
    const sync = this.limiter.bound.takeSync;
    if (sync !== undefined) {
      const decision = sync(key, cost, true, this.limiter.limitsFor(key));
      return decision.allowed ? undefined : this.refused(call, key, cost, decision, this.clock.now());
    }
    return this.takeAsync(call, key, cost);
  }

  exit(): Directive {
    return CONTINUE;
  }

  private take(key: string, cost: number): Promise<RateLimitDecision> {
    return this.limiter.bound.take(key, cost, true, this.limiter.limitsFor(key));
  }

  private applyTo(fn: Function, call: Call): unknown {
    return call.args === undefined ? fn() : fn.apply(call.thisArg, call.args);
  }

  private async takeAsync(call: Call, key: string, cost: number): Promise<void> {
    // A store's round trip cannot be cancelled, but the call can stop waiting for it at once.
    const decision = await untilAborted(this.take(key, cost), call.signal);
    if (decision.allowed) return;
    const outcome = this.refused(call, key, cost, decision, this.clock.now());
    if (outcome instanceof Promise) return outcome;
    throw outcome;
  }

  /** The error to reject with, or the wait (a promise) when waiting is on and the wait fits. */
  private refused(call: Call, key: string, cost: number, decision: RateLimitDecision, start: number): unknown {
    if (decision.reason === 'limit' && decision.retryAfterMs <= this.maxWaitMs) {
      return this.waitFor(call, key, cost, decision.retryAfterMs, start + this.maxWaitMs);
    }
    return this.reject(key, cost, decision);
  }

  private reject(key: string, cost: number, decision: RateLimitDecision): RateLimitedError {
    const reason = decision.reason === 'cost-exceeds-limit' ? 'cost-exceeds-limit' : 'limit';
    if (this.events.has('rejected')) this.events.emit('rejected', { key, cost, retryAfterMs: decision.retryAfterMs, reason });
    return RateLimitedError.fast(decision.retryAfterMs, reason, decision.limit, decision.remaining);
  }

  /**
   * Sleeps, then takes again. Waiters are not queued: they wake when their wait ends and take like anyone
   * else, and one that loses the race waits again while the deadline allows (so a take never consumes
   * capacity before it is admitted).
   */
  private async waitFor(call: Call, key: string, cost: number, waitMs: number, deadline: number): Promise<void> {
    const signal = call.signal;
    for (;;) {
      if (this.events.has('waiting')) this.events.emit('waiting', { key, cost, waitMs });
      await sleep(this.clock, waitMs, signal);
      const decision = await untilAborted(this.take(key, cost), signal);
      if (decision.allowed) return;
      const now = this.clock.now();
      // A timer may fire a hair early: a retry of 0 would spin, so wait at least 1 ms.
      waitMs = Math.max(1, decision.retryAfterMs);
      if (decision.reason !== 'limit' || now + waitMs > deadline) throw this.reject(key, cost, decision);
    }
  }
}

/** Admits calls within `limiter`'s limit for their key; rejects (or waits, with `wait`) otherwise. */
export function rateLimit(limiter: RateLimiter, options: RateLimitOptions = {}): RateLimitPolicy {
  const where = 'rateLimit';
  checkRateLimiter(where, 'the first argument', limiter);
  checkOptions(where, options, OPTIONS);
  const key: KeyOption =
    options.key === undefined
      ? DEFAULT_KEY
      : typeof options.key === 'string'
        ? options.key
        : typeof options.key === 'function'
          ? (options.key as (...args: any[]) => string)
          : (() => {
              throw new TypeError(`${where}: option "key" must be a string or a function, got ${show(options.key)}`);
            })();
  let cost: CostOption = 1;
  if (typeof options.cost === 'number') {
    cost = checkCost(where, options.cost);
    if (cost > limiter.limit) {
      throw new RangeError(
        `${where}: option "cost" (${cost}) exceeds the limiter's limit (${limiter.limit}): no call could pass`,
      );
    }
  } else if (options.cost !== undefined) cost = checkFunction<(...args: any[]) => number>(where, 'cost', options.cost);
  let maxWaitMs = -1;
  if (options.wait !== undefined) {
    checkOptions(`${where}: option "wait"`, options.wait, ['maxWaitMs']);
    maxWaitMs = checkMs(where, 'wait.maxWaitMs', (options.wait as { maxWaitMs?: unknown }).maxWaitMs);
  }
  const clock = options.clock === undefined ? limiter.clock : checkClock(where, options.clock);
  const events = new Emitter<RateLimitEvents>(new Set(['rejected', 'waiting']));
  const stage = new RateLimitStage(limiter, key, cost, maxWaitMs, clock, events);
  return createPolicy<RateLimitEvents, never, { readonly limiter: RateLimiter }>([stage], events, { limiter });
}
