/**
 * Fair waiting for the `rateLimit` policy: the calls waiting for one key form a first-come first-served
 * queue, and only the queue's head takes from the limiter. While a key has waiters, a new call for it
 * joins the tail instead of taking, so a later arrival can never take the capacity an earlier waiter is
 * waiting for.
 *
 * - The head takes; if refused, it sleeps the exact `retryAfterMs` (one timer per waiting key, not per
 *   waiter) and takes again. A head whose turn cannot come before its deadline is refused at once.
 * - Each waiter behind a head has its deadline (entry + `maxWaitMs`) on one deadline queue (one timer for
 *   all of them): past it, it leaves with a `RateLimitedError`. A head checks its own before each sleep. An abort removes it at once, with the signal's
 *   reason. A head that leaves wakes the next one, which takes at once.
 * - The queue is bounded (`maxQueue` waiters across all keys): a call that finds it full is refused.
 * - A take that a waiter no longer wants (it left while the store was answering) is refunded when the
 *   store can refund, so no capacity is spent by a call that never runs.
 */
import type { Clock } from '../core/clock.js';
import { DeadlineEntry, DeadlineQueue } from '../core/deadlines.js';
import type { RateLimitedError } from '../core/errors.js';
import { ignore, unwatchAbort, watchAbort } from '../core/signal.js';
import type { RateLimiter } from './limiter.js';
import type { RateLimitDecision } from './store.js';

/** What the queue reports to its policy (events, errors). */
export interface WaitHost {
  waiting(key: string, cost: number, waitMs: number): void;
  /** A waiter was admitted by `decision`. */
  allowed(key: string, cost: number, remaining: number): void;
  refusal(key: string, cost: number, decision: RateLimitDecision): RateLimitedError;
}

class Waiter extends DeadlineEntry {
  /** Neighbours in its key's line (the deadline queue links `prev`/`next`). */
  after: Waiter | undefined = undefined;
  before: Waiter | undefined = undefined;
  settled = false;
  resolve!: () => void;
  reject!: (reason: unknown) => void;
  constructor(
    readonly line: Line,
    readonly cost: number,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    private readonly queues: WaitQueues,
  ) {
    super();
  }
  handleEvent(): void {
    this.queues.leave(this, (this.signal as AbortSignal).reason);
  }
}

/** The waiters of one key, oldest first, and the head's sleep. */
class Line {
  head: Waiter | undefined = undefined;
  tail: Waiter | undefined = undefined;
  sleeping: unknown = undefined;
  wake: (() => void) | undefined = undefined;
  /** The last wait the head was told, for refusals of waiters that never reached the head. */
  lastRetryAfterMs = 0;
  constructor(readonly key: string) {}
}

export class WaitQueues {
  private readonly lines = new Map<string, Line>();
  /** Every waiter by deadline: one timer for all of them. */
  private readonly deadlines: DeadlineQueue<Waiter>;
  /** Waiters across all keys. */
  size = 0;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly clock: Clock,
    private readonly maxQueue: number,
    private readonly host: WaitHost,
  ) {
    this.deadlines = new DeadlineQueue<Waiter>(clock, (waiter) =>
      this.leave(waiter, host.refusal(waiter.line.key, waiter.cost, this.estimate(waiter.line))),
    );
  }

  /** Whether `key` has waiters (a new call for it must queue behind them). */
  has(key: string): boolean {
    return this.lines.has(key);
  }

  /**
   * Queues a call for `key` until it is admitted, refused, or aborted. `firstWaitMs` is the wait the
   * caller's own refused take reported (undefined when the call never took: it joins a non-empty queue).
   */
  join(
    key: string,
    cost: number,
    deadline: number,
    signal: AbortSignal | undefined,
    refused: RateLimitDecision | undefined,
  ): Promise<void> {
    let line = this.lines.get(key);
    if (this.size >= this.maxQueue) {
      const decision = refused ?? this.estimate(line);
      return Promise.reject(this.host.refusal(key, cost, decision));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const fresh = line === undefined;
    if (line === undefined) {
      line = new Line(key);
      this.lines.set(key, line);
    }
    const waiter = new Waiter(line, cost, deadline, signal, this);
    const promise = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    if (line.tail === undefined) line.head = waiter;
    else {
      line.tail.after = waiter;
      waiter.before = line.tail;
    }
    line.tail = waiter;
    this.size++;
    if (signal !== undefined) watchAbort(signal, waiter);
    // The head needs no deadline entry: it checks its deadline before each sleep, so it wakes in time.
    if (line.head !== waiter) this.deadlines.add(waiter, deadline);
    if (fresh) {
      const firstWaitMs = refused === undefined ? undefined : Math.max(1, refused.retryAfterMs);
      if (firstWaitMs !== undefined) {
        line.lastRetryAfterMs = firstWaitMs;
        this.host.waiting(key, cost, firstWaitMs);
      }
      void this.serve(line, firstWaitMs);
    }
    return promise;
  }

  private estimate(line: Line | undefined): RateLimitDecision {
    const limit = this.limiter.limit;
    const retryAfterMs = line?.lastRetryAfterMs ?? 0;
    return { allowed: false, limit, remaining: 0, retryAfterMs, resetAfterMs: retryAfterMs, reason: 'limit' };
  }

  /** Removes a waiter (abort, deadline, or served) and settles it with `reason` unless served. */
  leave(waiter: Waiter, reason: unknown): void {
    if (waiter.settled) return;
    const line = waiter.line;
    const wasHead = line.head === waiter;
    this.unlink(waiter);
    waiter.reject(reason);
    // The head left while sleeping: the next one takes at once.
    if (wasHead && line.wake !== undefined) {
      this.clock.clearTimer(line.sleeping);
      const wake = line.wake;
      line.wake = undefined;
      wake();
    }
  }

  private unlink(waiter: Waiter): void {
    waiter.settled = true;
    this.size--;
    this.deadlines.remove(waiter);
    if (waiter.signal !== undefined) unwatchAbort(waiter.signal, waiter);
    const line = waiter.line;
    if (waiter.before === undefined) {
      line.head = waiter.after;
      if (line.head !== undefined) this.deadlines.remove(line.head);
    } else waiter.before.after = waiter.after;
    if (waiter.after === undefined) line.tail = waiter.before;
    else waiter.after.before = waiter.before;
  }

  /** The loop that serves one key's line, head first, until it is empty. */
  private async serve(line: Line, firstWaitMs: number | undefined): Promise<void> {
    try {
      if (firstWaitMs !== undefined) await this.sleep(line, firstWaitMs);
      for (let waiter = line.head; waiter !== undefined; waiter = line.head) {
        let decision: RateLimitDecision;
        try {
          decision = await this.take(line.key, waiter.cost);
        } catch (error) {
          if (!waiter.settled) {
            this.unlink(waiter);
            waiter.reject(error);
          }
          continue;
        }
        if (waiter.settled) {
          // It left while the store answered: give back what it would have used.
          if (decision.allowed) this.giveBack(line.key, waiter.cost);
          continue;
        }
        if (decision.allowed) {
          this.unlink(waiter);
          this.host.allowed(line.key, waiter.cost, decision.remaining);
          waiter.resolve();
          continue;
        }
        const waitMs = Math.max(1, decision.retryAfterMs);
        line.lastRetryAfterMs = waitMs;
        if (decision.reason !== 'limit' || this.clock.now() + waitMs > waiter.deadline) {
          this.unlink(waiter);
          waiter.reject(this.host.refusal(line.key, waiter.cost, decision));
          continue;
        }
        this.host.waiting(line.key, waiter.cost, waitMs);
        await this.sleep(line, waitMs);
      }
    } finally {
      this.lines.delete(line.key);
    }
  }

  private take(key: string, cost: number): Promise<RateLimitDecision> {
    const limiter = this.limiter;
    const sync = limiter.bound.takeSync;
    const limits = limiter.limitsFor(key);
    if (sync !== undefined) return Promise.resolve(sync(key, cost, true, limits));
    return limiter.bound.take(key, cost, true, limits);
  }

  private giveBack(key: string, cost: number): void {
    const bound = this.limiter.bound;
    if (typeof bound.refund === 'function') bound.refund(key, cost, this.limiter.limitsFor(key)).then(undefined, ignore);
  }

  private sleep(line: Line, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      line.wake = resolve;
      line.sleeping = this.clock.setTimer(
        () => {
          line.wake = undefined;
          resolve();
        },
        ms,
        true,
      );
    });
  }
}
