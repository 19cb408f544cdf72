/**
 * Per-key limits (tiers), live reconfiguration and refunds in the memory store: each key obeys exactly its
 * own tier; a key changing tier, or a reconfigured limiter, never admits more than the new limits allow
 * from full; refunds never go beyond full.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { gcra, type RateLimiter, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import type { MemoryTable } from '../../src/rate-limit/memory.js';
import { PureStepModel } from './pure-step-model.js';

type Limits = Record<string, number>;
interface Family {
  name: string;
  limits: fc.Arbitrary<Limits>;
  make: (
    base: Limits,
    tiers: Record<string, Limits>,
    tierOf: (key: string) => string | undefined,
    clock: VirtualClock,
  ) => RateLimiter;
}

const families: Family[] = [
  {
    name: 'token bucket',
    limits: fc.record({ capacity: fc.integer({ min: 1, max: 8 }), refillPerSecond: fc.constantFrom(1, 2, 3, 10, 0.5, 1 / 3) }),
    make: (base, tiers, tierOf, clock) => tokenBucket({ ...base, tiers, tierOf, clock } as never),
  },
  {
    name: 'gcra',
    limits: fc.record({ burst: fc.integer({ min: 1, max: 8 }), ratePerSecond: fc.constantFrom(1, 2, 3, 10, 0.5, 1 / 3) }),
    make: (base, tiers, tierOf, clock) => gcra({ ...base, tiers, tierOf, clock } as never),
  },
  {
    name: 'log',
    limits: fc.record({ limit: fc.integer({ min: 1, max: 8 }), windowMs: fc.constantFrom(500, 1000, 1500) }),
    make: (base, tiers, tierOf, clock) => slidingWindow({ ...base, tiers, tierOf, clock } as never),
  },
  {
    name: 'counter',
    limits: fc.record({ limit: fc.integer({ min: 1, max: 8 }), windowMs: fc.constantFrom(500, 1000, 1500) }),
    make: (base, tiers, tierOf, clock) => slidingWindow({ ...base, mode: 'counter', tiers, tierOf, clock } as never),
  },
];

const op = fc.record({
  advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })),
  key: fc.constantFrom('free:1', 'free:2', 'pro:1', 'ent:1', 'none'),
  cost: fc.integer({ min: 0, max: 4 }),
  refund: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const tierOf = (key: string) => {
  const tier = key.split(':')[0];
  return tier === 'none' ? undefined : tier;
};

describe('per-key limits (tiers)', () => {
  for (const f of families) {
    test(`${f.name}: every key decides exactly as a limiter of its own tier alone (property)`, () => {
      fc.assert(
        fc.property(f.limits, f.limits, f.limits, f.limits, fc.array(op, { maxLength: 80 }), (base, free, pro, ent, ops) => {
          const clock = new VirtualClock();
          let tiered: RateLimiter;
          const alone = new Map<string, RateLimiter>();
          try {
            tiered = f.make(base, { free, pro, ent }, tierOf, clock);
            const byTier: Record<string, Limits> = { free, pro, ent, none: base };
            for (const key of ['free:1', 'free:2', 'pro:1', 'ent:1', 'none']) {
              alone.set(
                key,
                f.make(byTier[key.split(':')[0] as string] as Limits, {}, () => undefined, clock),
              );
            }
          } catch {
            fc.pre(false);
            return;
          }
          for (const o of ops) {
            clock.advance(o.advance);
            const one = alone.get(o.key) as RateLimiter;
            if (o.refund) {
              const got = (tiered.bound as MemoryTable).refundSync(o.key, o.cost, tiered.limitsFor(o.key));
              const want = (one.bound as MemoryTable).refundSync(o.key, o.cost);
              expect(got.remaining).toBe(want.remaining);
              expect(got.remaining).toBeLessThanOrEqual(got.limit);
              continue;
            }
            const { limits: _a, ...got } = tiered.takeSync!(o.key, o.cost);
            const { limits: _b, ...want } = one.takeSync!(o.key, o.cost);
            expect(got).toEqual(want);
          }
        }),
        { numRuns: 150 },
      );
    });

    test(`${f.name}: after a tier change or a reconfiguration a key never admits more than the new limits from full (property)`, () => {
      fc.assert(
        fc.property(
          f.limits,
          f.limits,
          fc.array(op, { maxLength: 40 }),
          fc.boolean(),
          fc.array(op, { maxLength: 40 }),
          (a, b, before, reconfigure, after) => {
            const clock = new VirtualClock();
            let tier = 'a';
            let limiter: RateLimiter;
            try {
              limiter = f.make(a, { a, b }, () => tier, clock);
              f.make(b, {}, () => undefined, clock);
            } catch {
              fc.pre(false);
              return;
            }
            for (const o of before) {
              clock.advance(o.advance);
              limiter.takeSync!(o.key, o.cost);
            }
            // Switch every key to other limits: a tier change, or the same tier reconfigured.
            if (reconfigure) limiter.reconfigure(b, 'a');
            else tier = 'b';
            // A fresh model on the store's own time (its origin is the limiter's creation, clock time 0).
            const model = new PureStepModel(limiter.limitsFor('x').config);
            for (const o of after) {
              clock.advance(o.advance);
              const got = limiter.takeSync!(o.key, o.cost);
              expect(got.limits).toBe(limiter.limitsFor(o.key));
              if (got.allowed && o.cost > 0) {
                const exact = model.step(o.key, o.cost, Math.round(clock.now() * 1000), true);
                expect(exact.allowed).toBe(true);
              }
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  test('a token bucket keeps its time until full across tiers whose rates share a refill unit (clamped to empty)', () => {
    const clock = new VirtualClock();
    let tier = 'free';
    const limiter = tokenBucket({
      capacity: 10,
      refillPerSecond: 1,
      tiers: { free: { capacity: 10, refillPerSecond: 1 }, pro: { capacity: 100, refillPerSecond: 10 } },
      tierOf: () => tier,
      clock,
    });
    const take = limiter.takeSync!;
    expect(take('k', 8).remaining).toBe(2); // 8 s until full at 1 per second
    tier = 'pro';
    const upgraded = take('k', 0);
    expect(upgraded.remaining).toBe(20); // still 8 s until full, at 10 per second
    expect(upgraded.resetAfterMs).toBe(8000);
    expect(upgraded.limits?.tier).toBe('pro');
    expect(take('k', 20).remaining).toBe(0); // now 10 s until full
    tier = 'free';
    const downgraded = take('k', 0);
    expect(downgraded.remaining).toBe(0);
    expect(downgraded.resetAfterMs).toBe(10_000); // clamped to empty: 10 s at 1 per second
  });

  test('tiers take the rate unit of the default limits when it is exact for them: the time until full carries over', () => {
    const clock = new VirtualClock();
    let tier: string | undefined;
    // 3 per second needs a unit of 3 per µs; 10 per second is exact in it too.
    const limiter = tokenBucket({
      capacity: 6,
      refillPerSecond: 3,
      tiers: { fast: { capacity: 20, refillPerSecond: 10 } },
      tierOf: () => tier,
      clock,
    });
    expect(limiter.takeSync!('k', 3)).toMatchObject({ remaining: 3, resetAfterMs: 1000 });
    tier = 'fast';
    expect(limiter.takeSync!('k', 0)).toMatchObject({ remaining: 10, resetAfterMs: 1000 });
  });

  test('a sliding log keeps the units it used in the window against the new limit', () => {
    const clock = new VirtualClock();
    let tier = 'free';
    const limiter = slidingWindow({
      limit: 10,
      windowMs: 60_000,
      tiers: { free: { limit: 10, windowMs: 60_000 }, pro: { limit: 100, windowMs: 60_000 } },
      tierOf: () => tier,
      clock,
    });
    limiter.takeSync!('k', 8);
    tier = 'pro';
    expect(limiter.takeSync!('k', 0).remaining).toBe(92);
    limiter.takeSync!('k', 50);
    tier = 'free';
    // 58 units in the window against a limit of 10: refused (even at cost 0) until they expire.
    expect(limiter.takeSync!('k', 0)).toMatchObject({ allowed: false, remaining: 0, limit: 10, retryAfterMs: 60_000 });
  });

  test('reconfigure replaces the default limits (or a tier) for live keys at their next decision', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1, clock, name: 'api' });
    expect(limiter.name).toBe('api');
    await limiter.take('k', 5);
    expect((await limiter.take('k')).allowed).toBe(false);
    limiter.reconfigure({ capacity: 10, refillPerSecond: 1 });
    expect(limiter.limit).toBe(10);
    const after = await limiter.take('k');
    expect(after).toMatchObject({ allowed: true, remaining: 4, limit: 10 });
    expect(() => limiter.reconfigure({ capacity: 0, refillPerSecond: 1 })).toThrow(/capacity/);
    expect(() => limiter.reconfigure({ capacity: 1, refillPerSecond: 1 }, 'pro')).toThrow(/tierOf/);
    expect(limiter.limit).toBe(10);
  });

  test('an unknown tier name is a RangeError at the decision, naming the limiter and the tier', async () => {
    const limiter = gcra({ ratePerSecond: 1, burst: 1, tiers: {}, tierOf: () => 'gold', name: 'login' });
    await expect(limiter.take('k')).rejects.toThrow(/login: tierOf\("k"\) returned an unknown tier "gold"/);
    expect(() => gcra({ ratePerSecond: 1, burst: 1, tiers: { a: { ratePerSecond: 1, burst: 1 } } })).toThrow(/tierOf/);
    expect(() => gcra({ ratePerSecond: 1, burst: 1, tiers: { a: { ratePerSecond: 1 } as never }, tierOf: () => 'a' })).toThrow(
      /gcra: option "tiers", tier "a": option "burst"/,
    );
  });

  test('refund gives back up to cost, never beyond full, in every algorithm', async () => {
    for (const limiter of [
      tokenBucket({ capacity: 5, refillPerSecond: 1, clock: new VirtualClock() }),
      gcra({ burst: 5, ratePerSecond: 1, clock: new VirtualClock() }),
      slidingWindow({ limit: 5, windowMs: 1000, clock: new VirtualClock() }),
      slidingWindow({ limit: 5, windowMs: 1000, mode: 'counter', clock: new VirtualClock() }),
    ]) {
      await limiter.take('k', 4);
      expect((await limiter.refund('k', 3)).remaining).toBe(4);
      expect((await limiter.refund('k', 100)).remaining).toBe(5);
      expect((await limiter.refund('fresh', 2)).remaining).toBe(5);
      expect((await limiter.take('k', 5)).allowed).toBe(true);
    }
  });
});
