import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { retryBudget, VirtualClock } from '../../src/index.js';
import { BudgetWindow, SLICES } from '../../src/retry/budget.js';

type Event = { at: number; kind: 'call' | 'retry' };

/** The budget recomputed from scratch over every event ever seen: the reference the window must match. */
class ReferenceBudget {
  readonly events: Event[] = [];
  constructor(
    readonly ttlMs: number,
    readonly minRetriesPerSec: number,
    readonly percent: number,
  ) {}
  private inWindow(at: number, now: number): boolean {
    const w = this.ttlMs / SLICES;
    return Math.floor(at / w) > Math.floor(now / w) - SLICES;
  }
  balance(now: number): number {
    let calls = 0;
    let retries = 0;
    for (const e of this.events) {
      if (!this.inWindow(e.at, now)) continue;
      if (e.kind === 'call') calls++;
      else retries++;
    }
    return (this.minRetriesPerSec * this.ttlMs) / 1000 + this.percent * calls - retries;
  }
  deposit(now: number): void {
    this.events.push({ at: now, kind: 'call' });
  }
  tryWithdraw(now: number): boolean {
    if (this.balance(now) < 1) return false;
    this.events.push({ at: now, kind: 'retry' });
    return true;
  }
}

const config = fc.record({
  ttlMs: fc.integer({ min: 10, max: 20_000 }),
  minRetriesPerSec: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 50, noNaN: true })),
  percent: fc.oneof(fc.constant(0), fc.constant(0.2), fc.double({ min: 0, max: 1, noNaN: true })),
  start: fc.integer({ min: -50_000, max: 50_000 }),
});

const step = fc.oneof(
  fc.record({ op: fc.constant('call' as const), dt: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({ op: fc.constant('retry' as const), dt: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({ op: fc.constant('burst' as const), dt: fc.constant(0), n: fc.integer({ min: 1, max: 40 }) }),
);

describe('BudgetWindow (pure decision logic)', () => {
  test('matches a reference that recounts every event (model-based property)', () => {
    fc.assert(
      fc.property(config, fc.array(step, { maxLength: 120 }), (c, steps) => {
        const window = new BudgetWindow(c.ttlMs, c.minRetriesPerSec, c.percent, c.start);
        const model = new ReferenceBudget(c.ttlMs, c.minRetriesPerSec, c.percent);
        let now = c.start;
        for (const s of steps) {
          now += s.dt;
          if (s.op === 'call') {
            window.deposit(now);
            model.deposit(now);
          } else if (s.op === 'retry') {
            expect(window.tryWithdraw(now)).toBe(model.tryWithdraw(now));
          } else {
            for (let i = 0; i < s.n; i++) expect(window.tryWithdraw(now)).toBe(model.tryWithdraw(now));
          }
          expect(window.balance(now)).toBeCloseTo(model.balance(now), 6);
        }
      }),
    );
  });

  test('retries never exceed percent × calls of the last ttl plus the reserve, over any window (property)', () => {
    fc.assert(
      fc.property(config, fc.array(step, { maxLength: 150 }), (c, steps) => {
        const window = new BudgetWindow(c.ttlMs, c.minRetriesPerSec, c.percent, c.start);
        const log: Event[] = [];
        let now = c.start;
        for (const s of steps) {
          now += s.dt;
          if (s.op === 'call') {
            window.deposit(now);
            log.push({ at: now, kind: 'call' });
          } else {
            const n = s.op === 'burst' ? s.n : 1;
            for (let i = 0; i < n; i++) if (window.tryWithdraw(now)) log.push({ at: now, kind: 'retry' });
          }
        }
        // For every interval [a, b] no longer than the window's guaranteed span, ending at an event:
        const span = (c.ttlMs * (SLICES - 1)) / SLICES;
        const reserve = (c.minRetriesPerSec * c.ttlMs) / 1000;
        for (const end of log) {
          const b = end.at;
          const calls = log.filter((e) => e.kind === 'call' && e.at > b - c.ttlMs && e.at <= b).length;
          for (const startEvent of log) {
            const a = startEvent.at;
            if (a > b || b - a > span) continue;
            const retries = log.filter((e) => e.kind === 'retry' && e.at >= a && e.at <= b).length;
            expect(retries).toBeLessThanOrEqual(c.percent * calls + reserve + 1e-9);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  test('Finagle defaults: 100 retries of reserve, then 20 % of calls', () => {
    const w = new BudgetWindow(10_000, 10, 0.2, 0);
    let granted = 0;
    while (w.tryWithdraw(0)) granted++;
    expect(granted).toBe(100);
    for (let i = 0; i < 50; i++) w.deposit(1);
    granted = 0;
    while (w.tryWithdraw(1)) granted++;
    expect(granted).toBe(10);
    // Ten seconds later everything has expired: the reserve is back.
    expect(w.balance(10_001)).toBe(100);
  });
});

describe('retryBudget', () => {
  test('uses its clock and exposes its settings', () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ ttlMs: 1_000, minRetriesPerSec: 2, percentCanRetry: 0.5, clock });
    expect([budget.ttlMs, budget.minRetriesPerSec, budget.percentCanRetry, budget.balance]).toEqual([1_000, 2, 0.5, 2]);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    clock.advance(1_000);
    expect(budget.balance).toBe(2);
  });

  test('rejects bad options', () => {
    expect(() => retryBudget({ ttlMs: 0 })).toThrow(/retryBudget: option "ttlMs" must be a finite number > 0, got 0/);
    expect(() => retryBudget({ ttlMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => retryBudget({ minRetriesPerSec: -1 })).toThrow(/"minRetriesPerSec"/);
    expect(() => retryBudget({ percentCanRetry: Number.NaN })).toThrow(/"percentCanRetry"/);
    expect(() => retryBudget({ percentCanRetry: -0.1 })).toThrow(RangeError);
    expect(() => retryBudget({ clock: {} as never })).toThrow(/option "clock"/);
    expect(() => retryBudget({ ratio: 0.1 } as never)).toThrow(/unknown option "ratio"/);
  });
});
