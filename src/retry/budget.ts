/**
 * A retry budget shared by many calls (Finagle's `RetryBudget`, Linkerd and Envoy budgets): retries are
 * allowed only while, over the last `ttlMs`, `retries <= percentCanRetry × calls + minRetriesPerSec × ttl`.
 * Under an outage every call fails, and per-call retries would multiply the load by `maxAttempts`; a budget
 * caps the extra load at `percentCanRetry` (20 % by default) plus a small floor for quiet clients.
 *
 * The window is kept as `SLICES` time slices of `ttlMs / SLICES` each (the current one included), holding
 * call and retry counts: O(1) memory and time, like Finagle's windowed adder. Counts expire slice by slice,
 * so the window the decision sees spans between `ttlMs × (SLICES−1)/SLICES` and `ttlMs`.
 *
 * {@link BudgetWindow} is the pure decision logic (every method takes `now`); {@link retryBudget} wraps it
 * with a clock.
 */
import type { Clock } from '../core/clock.js';
import { defineGetters } from '../core/getters.js';
import { parseRetryBudgetOptions } from './options.js';

export const SLICES = 10;

/** Ring position of a slice index (indices may be negative: a virtual clock may start below 0). */
function slotOf(index: number): number {
  return ((index % SLICES) + SLICES) % SLICES;
}

export interface RetryBudgetOptions {
  /** How long a call or a retry counts (default 10 000 ms). */
  ttlMs?: number;
  /** Retries allowed regardless of traffic, per second of `ttlMs` (default 10). */
  minRetriesPerSec?: number;
  /** Retries allowed per call, >= 0 (default 0.2, i.e. 20 % extra load). */
  percentCanRetry?: number;
  clock?: Clock;
}

/** What `retry` needs from a budget; implement it to plug in another scheme (e.g. gRPC retry throttling). */
export interface RetryBudgetLike {
  /** Records one call (its first attempt). */
  deposit(): void;
  /** Takes one retry; `false` when the budget is exhausted, and then the caller must not retry. */
  tryWithdraw(): boolean;
}

export interface RetryBudget extends RetryBudgetLike {
  readonly ttlMs: number;
  readonly minRetriesPerSec: number;
  readonly percentCanRetry: number;
  /** Retries that would be allowed now (may be fractional). */
  readonly balance: number;
}

/** The sliding window of call and retry counts. Pure: time comes in as `now`. */
export class BudgetWindow {
  private readonly calls = new Float64Array(SLICES);
  private readonly retries = new Float64Array(SLICES);
  private callSum = 0;
  private retrySum = 0;
  /** Index (floor(now / sliceMs)) of the newest slice. */
  private head: number;
  readonly sliceMs: number;
  /** Retries always available within a window: `minRetriesPerSec × ttl`. */
  readonly reserve: number;

  constructor(
    readonly ttlMs: number,
    minRetriesPerSec: number,
    readonly percentCanRetry: number,
    now: number,
  ) {
    this.sliceMs = ttlMs / SLICES;
    this.reserve = (minRetriesPerSec * ttlMs) / 1000;
    this.head = Math.floor(now / this.sliceMs);
  }

  /** Drops the slices that have left the window at `now`. */
  private roll(now: number): void {
    const index = Math.floor(now / this.sliceMs);
    if (index <= this.head) return; // monotonic clock: never goes back; same slice: nothing to drop
    const steps = Math.min(index - this.head, SLICES);
    for (let i = 1; i <= steps; i++) {
      const slot = slotOf(this.head + i);
      this.callSum -= this.calls[slot] as number;
      this.retrySum -= this.retries[slot] as number;
      this.calls[slot] = 0;
      this.retries[slot] = 0;
    }
    this.head = index;
  }

  deposit(now: number): void {
    this.roll(now);
    const slot = slotOf(this.head);
    this.calls[slot] = (this.calls[slot] as number) + 1;
    this.callSum++;
  }

  balance(now: number): number {
    this.roll(now);
    return this.reserve + this.percentCanRetry * this.callSum - this.retrySum;
  }

  tryWithdraw(now: number): boolean {
    if (this.balance(now) < 1) return false;
    const slot = slotOf(this.head);
    this.retries[slot] = (this.retries[slot] as number) + 1;
    this.retrySum++;
    return true;
  }
}

/**
 * A retry budget to share between retry policies (pass it as their `budget` option): one budget can guard
 * a whole client. Defaults are Finagle's: 10 s window, 10 retries per second, 20 % of calls.
 */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const { ttlMs, minRetriesPerSec, percentCanRetry, clock } = parseRetryBudgetOptions(
    options as Record<string, unknown> | undefined,
  );
  const window = new BudgetWindow(ttlMs, minRetriesPerSec, percentCanRetry, clock.now());
  const budget = {
    ttlMs,
    minRetriesPerSec,
    percentCanRetry,
    deposit: () => window.deposit(clock.now()),
    tryWithdraw: () => window.tryWithdraw(clock.now()),
  };
  // Through defineGetters: an accessor written in the literal would put every budget after the first in
  // dictionary mode, a slow lookup at every `deposit()`.
  return Object.freeze(defineGetters(budget, { balance: () => window.balance(clock.now()) })) as RetryBudget;
}
