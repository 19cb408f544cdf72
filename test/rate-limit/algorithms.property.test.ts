import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { gcra, type RateLimiter, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import { IdealBucket, IdealCounter, IdealLog, type RefDecision } from './reference.js';

/** One step of a schedule: move the clock, then take `cost` for `key`. */
interface Op {
  advance: number;
  key: string;
  cost: number;
}

const KEYS = ['a', 'b', 'c'];

function schedule(maxCost: number, maxAdvance: number): fc.Arbitrary<Op[]> {
  const advance = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 20 }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: maxAdvance }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: maxAdvance * 5 }) },
  );
  const op = fc.record({ advance, key: fc.constantFrom(...KEYS), cost: fc.integer({ min: 0, max: maxCost }) });
  return fc.array(op, { minLength: 1, maxLength: 80 });
}

function run(
  limiter: RateLimiter,
  clock: VirtualClock,
  ops: Op[],
  reference: { take(k: string, c: number, t: number): RefDecision },
) {
  const admitted: { key: string; at: number; cost: number }[] = [];
  for (const op of ops) {
    clock.advance(op.advance);
    const now = clock.now();
    const got = limiter.takeSync!(op.key, op.cost);
    const want = reference.take(op.key, op.cost, now);
    expect({ allowed: got.allowed, retryAfterMs: got.retryAfterMs }).toEqual({
      allowed: want.allowed,
      retryAfterMs: want.allowed ? 0 : want.never ? Number.POSITIVE_INFINITY : want.retryAfterMs,
    });
    expect(got.reason).toBe(want.allowed ? undefined : want.never ? 'cost-exceeds-limit' : 'limit');
    if (want.remaining >= 0) expect(got.remaining).toBe(want.remaining);
    if (got.allowed && op.cost > 0) admitted.push({ key: op.key, at: now, cost: op.cost });
  }
  return admitted;
}

/** Largest total cost admitted for one key in any interval [t_i, t_i + span] (span may depend on nothing). */
function maxInWindow(admitted: { key: string; at: number; cost: number }[], inside: (from: number, at: number) => boolean) {
  let worst = 0;
  for (const first of admitted) {
    let sum = 0;
    for (const e of admitted) if (e.key === first.key && inside(first.at, e.at)) sum += e.cost;
    worst = Math.max(worst, sum);
  }
  return worst;
}

// Rates n/d per second with n <= 32 are represented exactly (see normalizeRate).
const rate = fc.record({ num: fc.integer({ min: 1, max: 32 }), den: fc.integer({ min: 1, max: 12 }) });

describe('token bucket', () => {
  test('admits exactly what the ideal continuous bucket admits, and never more than capacity + rate × elapsed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), rate, schedule(11, 1500), (capacity, { num, den }, ops) => {
        const clock = new VirtualClock({ start: 1000 });
        const limiter = tokenBucket({ capacity, refillPerSecond: num / den, clock });
        const admitted = run(limiter, clock, ops, new IdealBucket(capacity, num, den));
        // Over any interval [t_i, t_j]: admitted <= capacity + rate × (t_j - t_i).
        for (const a of admitted) {
          for (const b of admitted) {
            if (a.key !== b.key || b.at < a.at) continue;
            const sum = admitted.filter((e) => e.key === a.key && e.at >= a.at && e.at <= b.at).reduce((s, e) => s + e.cost, 0);
            expect(sum * den * 1000).toBeLessThanOrEqual(capacity * den * 1000 + num * (b.at - a.at));
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('stays exact over a long run of fractional refills (no drift)', () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 100 / 60, clock });
    const ideal = new IdealBucket(1, 100, 60);
    // 200 000 takes 7 ms apart: about 9 000 admitted; every decision matches the rational bucket.
    for (let i = 0; i < 200_000; i++) {
      clock.advance(7);
      const got = limiter.takeSync!('k');
      const want = ideal.take('k', 1, clock.now());
      if (got.allowed !== want.allowed || got.retryAfterMs !== want.retryAfterMs) {
        expect({ i, got }).toEqual({ i, want });
      }
    }
  });
});

describe('sliding window log', () => {
  test('matches the exact window and never admits more than limit in any window of windowMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 400 }), schedule(9, 300), (limit, windowMs, ops) => {
        const clock = new VirtualClock();
        const limiter = slidingWindow({ limit, windowMs, mode: 'log', clock });
        const admitted = run(limiter, clock, ops, new IdealLog(limit, windowMs));
        expect(maxInWindow(admitted, (from, at) => at >= from && at < from + windowMs)).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sliding window counter', () => {
  test('matches the two-window estimate and stays within its bound: <= limit per aligned window, <= 2 × limit - 1 in any window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 400 }), schedule(9, 300), (limit, windowMs, ops) => {
        const clock = new VirtualClock();
        const limiter = slidingWindow({ limit, windowMs, mode: 'counter', clock });
        const admitted = run(limiter, clock, ops, new IdealCounter(limit, windowMs));
        const aligned = maxInWindow(admitted, (from, at) => Math.floor(at / windowMs) === Math.floor(from / windowMs));
        expect(aligned).toBeLessThanOrEqual(limit);
        expect(maxInWindow(admitted, (from, at) => at >= from && at < from + windowMs)).toBeLessThanOrEqual(2 * limit - 1);
      }),
      { numRuns: 200 },
    );
  });

  test('the bound is reached: a burst at the end of one window and one at the start of the next', () => {
    const clock = new VirtualClock();
    const limiter = slidingWindow({ limit: 10, windowMs: 1000, mode: 'counter', clock });
    clock.advance(999);
    let admitted = 0;
    for (let i = 0; i < 10; i++) admitted += limiter.takeSync!('k').allowed ? 1 : 0;
    clock.advance(1);
    // prev = 10 weighs 10 × 1000/1000: nothing fits at the edge; later the weight falls.
    expect(limiter.takeSync!('k').allowed).toBe(false);
    clock.advance(950);
    for (let i = 0; i < 20; i++) admitted += limiter.takeSync!('k').allowed ? 1 : 0;
    // 10 at 999 ms plus 9 at 1950 ms: 19 in 952 ms, within 2 × 10 - 1.
    expect(admitted).toBe(19);
  });
});

describe('gcra', () => {
  test('decides exactly like the token bucket of the same rate and burst', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), rate, schedule(11, 1500), (burst, { num, den }, ops) => {
        const clockA = new VirtualClock({ start: 5 });
        const clockB = new VirtualClock({ start: 5 });
        const a = gcra({ ratePerSecond: num / den, burst, clock: clockA });
        const b = tokenBucket({ capacity: burst, refillPerSecond: num / den, clock: clockB });
        for (const op of ops) {
          clockA.advance(op.advance);
          clockB.advance(op.advance);
          // Every field but `limits`, which names each limiter's own algorithm.
          const { limits: _a, ...fromGcra } = a.takeSync!(op.key, op.cost);
          const { limits: _b, ...fromBucket } = b.takeSync!(op.key, op.cost);
          expect(fromGcra).toEqual(fromBucket);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('retryAfterMs is exact for every algorithm', () => {
  const makers: [string, (clock: VirtualClock) => RateLimiter][] = [
    ['tokenBucket', (clock) => tokenBucket({ capacity: 5, refillPerSecond: 3, clock })],
    ['tokenBucket 1/7 per s', (clock) => tokenBucket({ capacity: 2, refillPerSecond: 1 / 7, clock })],
    ['gcra', (clock) => gcra({ ratePerSecond: 7, burst: 4, clock })],
    ['slidingWindow log', (clock) => slidingWindow({ limit: 5, windowMs: 333, mode: 'log', clock })],
    ['slidingWindow counter', (clock) => slidingWindow({ limit: 5, windowMs: 333, mode: 'counter', clock })],
  ];
  for (const [name, make] of makers) {
    test(`${name}: waiting retryAfterMs admits the same take; 1 ms less does not`, () => {
      fc.assert(
        fc.property(schedule(5, 400), fc.integer({ min: 1, max: 5 }), (ops, cost) => {
          const clock = new VirtualClock();
          const limiter = make(clock);
          for (const op of ops) {
            clock.advance(op.advance);
            limiter.takeSync!('k', op.cost);
          }
          const first = limiter.takeSync!('k', cost);
          if (first.allowed) return;
          if (cost > limiter.limit) {
            expect(first).toMatchObject({ reason: 'cost-exceeds-limit', retryAfterMs: Number.POSITIVE_INFINITY });
            return;
          }
          expect(first.retryAfterMs).toBeGreaterThan(0);
          clock.advance(first.retryAfterMs - 1);
          const early = limiter.takeSync!('k', cost);
          expect(early.allowed).toBe(false);
          expect(early.retryAfterMs).toBe(1);
          clock.advance(1);
          expect(limiter.takeSync!('k', cost).allowed).toBe(true);
        }),
        { numRuns: 150 },
      );
    });
  }
});
