/** The windows against brute force: the counts (hence the rates) over the same calls must be equal. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CountWindow, Outcome, TimeWindow } from '../../src/circuit-breaker/window.js';

type Op =
  | { kind: 'record'; dt: number; outcome: number; quick: boolean }
  | { kind: 'clear'; dt: number }
  | { kind: 'read'; dt: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      dt: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 30, noNaN: true })),
      outcome: fc.integer({ min: 0, max: 3 }),
      // A success recorded with CountWindow's recordSuccess (the breaker's quick path) instead of record.
      quick: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), dt: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), dt: fc.integer({ min: 0, max: 300 }) }) },
);

function counts(list: { outcome: number }[]): [number, number, number] {
  return [
    list.length,
    list.filter((r) => r.outcome & Outcome.Failure).length,
    list.filter((r) => r.outcome & Outcome.Slow).length,
  ];
}

describe('CountWindow', () => {
  test('counts equal brute force over the last `size` calls since the last clear (successes by record or recordSuccess)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(opArb, { maxLength: 200 }), (size, ops) => {
        const window = new CountWindow(size);
        let calls: { outcome: number }[] = [];
        for (const op of ops) {
          if (op.kind === 'clear') {
            window.clear(0);
            calls = [];
          } else if (op.kind === 'record') {
            if (op.quick && op.outcome === Outcome.Success) window.recordSuccess();
            else window.record(0, op.outcome);
            calls.push({ outcome: op.outcome });
          }
          expect([window.calls, window.failures, window.slowCalls]).toEqual(counts(calls.slice(-size)));
        }
      }),
    );
  });
});

describe('TimeWindow', () => {
  test('counts equal brute force over the calls whose bucket is among the last `buckets`', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: -500, max: 500 }),
        fc.array(opArb, { maxLength: 200 }),
        (durationMs, buckets, start, ops) => {
          const window = new TimeWindow(durationMs, buckets);
          const bucketMs = durationMs / buckets;
          let now = start;
          let calls: { t: number; outcome: number }[] = [];
          for (const op of ops) {
            now += op.dt;
            if (op.kind === 'clear') {
              window.clear(now);
              calls = [];
            } else if (op.kind === 'read') {
              window.advance(now);
            } else {
              window.record(now, op.outcome);
              calls.push({ t: now, outcome: op.outcome });
            }
            const head = Math.floor(now / bucketMs);
            const inWindow = calls.filter((c) => Math.floor(c.t / bucketMs) > head - buckets);
            expect([window.calls, window.failures, window.slowCalls]).toEqual(counts(inWindow));
          }
        },
      ),
    );
  });

  test('an idle gap clears everything that fell out of the window, however many buckets it spans', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 1000 }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        (durationMs, buckets, failures, gap) => {
          const window = new TimeWindow(durationMs, buckets);
          for (let i = 0; i < failures; i++) window.record(0, Outcome.Failure);
          window.record(gap, 0);
          const stale = Math.floor(gap / (durationMs / buckets)) >= buckets;
          expect(window.calls).toBe(stale ? 1 : failures + 1);
          expect(window.failures).toBe(stale ? 0 : failures);
        },
      ),
    );
  });

  test('after a gap of exactly one bucket, only the oldest bucket is evicted', () => {
    const window = new TimeWindow(100, 4); // 25 ms buckets
    window.record(0, Outcome.Failure); // bucket 0
    window.record(30, Outcome.Failure); // bucket 1
    window.record(99, 0); // bucket 3
    expect([window.calls, window.failures]).toEqual([3, 2]);
    window.advance(100); // bucket 4 replaces bucket 0
    expect([window.calls, window.failures]).toEqual([2, 1]);
    window.advance(10_000);
    expect([window.calls, window.failures]).toEqual([0, 0]);
  });
});
