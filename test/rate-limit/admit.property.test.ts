/**
 * `admitSync`, the memory store's verdict-only take, against `takeSync`: two tables of the
 * same limits on clocks moved alike must agree on every take (the units left when allowed, the whole
 * decision when refused) and so keep the same state. And the `rateLimit` policy decides the same over a
 * store that has only `takeSync` (a custom synchronous store) as over the memory store.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type BoundRateLimitStore,
  gcra,
  memoryStore,
  type RateLimiter,
  type RateLimitStore,
  rateLimit,
  slidingWindow,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

const KEYS = ['a', 'b', 'c'];

interface Op {
  advance: number;
  key: string;
  cost: number;
  /** Whether the take consumes (false: a peek). */
  consume: boolean;
}

const ops = fc.array(
  fc.record({
    advance: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }) },
    ),
    key: fc.constantFrom(...KEYS),
    cost: fc.integer({ min: 0, max: 6 }),
    consume: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  }),
  { minLength: 20, maxLength: 120 },
);

type Make = (clock: VirtualClock, store: RateLimitStore) => RateLimiter;
const LIMITERS: [string, Make][] = [
  ['token bucket', (clock, store) => tokenBucket({ capacity: 5, refillPerSecond: 3, clock, store, name: 'limits' })],
  ['gcra', (clock, store) => gcra({ burst: 4, ratePerSecond: 7, clock, store, name: 'limits' })],
  [
    'sliding window counter',
    (clock, store) => slidingWindow({ limit: 5, windowMs: 700, mode: 'counter', clock, store, name: 'limits' }),
  ],
  ['sliding window log', (clock, store) => slidingWindow({ limit: 5, windowMs: 700, clock, store, name: 'limits' })],
];

describe('admitSync agrees with takeSync', () => {
  for (const [name, make] of LIMITERS) {
    test(`${name}: the units left when allowed, the same decision when refused`, () => {
      const coverage = { allowed: 0, refused: 0 };
      fc.assert(
        fc.property(ops, (schedule: Op[]) => {
          const clock = new VirtualClock();
          // Tiny tables: keys are evicted and estimated too, on both sides alike.
          const admitting = make(clock, memoryStore({ maxKeys: 2 })).bound;
          const taking = make(clock, memoryStore({ maxKeys: 2 })).bound;
          for (const op of schedule) {
            clock.advance(op.advance);
            const admitted = admitting.admitSync!(op.key, op.cost, op.consume);
            const decision = taking.takeSync!(op.key, op.cost, op.consume);
            if (decision.allowed) {
              coverage.allowed++;
              expect(admitted).toBe(decision.remaining);
            } else {
              coverage.refused++;
              expect(admitted).toEqual(decision);
            }
          }
        }),
        { numRuns: 150 },
      );
      expect(coverage.allowed).toBeGreaterThan(1000);
      expect(coverage.refused).toBeGreaterThan(1000);
    });
  }
});

/** A synchronous store with `take` and `takeSync` only, as a custom store may be written. */
function takeSyncOnly(inner: RateLimitStore): RateLimitStore {
  return {
    bind(algorithm, clock): BoundRateLimitStore {
      const bound = inner.bind(algorithm, clock);
      return {
        take: (key, cost, consume, limits) => bound.take(key, cost, consume, limits),
        takeSync: bound.takeSync!,
        reset: (key) => bound.reset(key),
      };
    },
  };
}

describe('the rateLimit policy over a store without admitSync', () => {
  test('admits and refuses as over the memory store, with the same remaining in its events', async () => {
    const coverage = { allowed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(ops, async (schedule: Op[]) => {
        const clock = new VirtualClock();
        const sides = [memoryStore(), takeSyncOnly(memoryStore())].map((store) => {
          const policy = rateLimit(tokenBucket({ capacity: 5, refillPerSecond: 3, clock, store }), {
            key: (key: string) => key,
            cost: (_key: string, cost: number) => cost,
          });
          const seen: string[] = [];
          policy.on('allowed', ({ key, remaining }) => seen.push(`${key}:${remaining}`));
          policy.on('rejected', ({ key, retryAfterMs }) => seen.push(`${key}:wait ${retryAfterMs}`));
          return { call: policy(async (key: string, cost: number) => `${key}/${cost}`), seen };
        });
        for (const op of schedule) {
          clock.advance(op.advance);
          for (const side of sides) await side.call(op.key, op.cost).catch(() => 'refused');
        }
        expect(sides[1]?.seen).toEqual(sides[0]?.seen);
        expect(sides[0]?.seen.length).toBe(schedule.length);
        for (const event of sides[0]?.seen ?? []) coverage[event.includes('wait') ? 'refused' : 'allowed']++;
      }),
      { numRuns: 100 },
    );
    // The schedules reach both verdicts: the comparison compares something.
    expect(coverage.allowed).toBeGreaterThan(500);
    expect(coverage.refused).toBeGreaterThan(500);
  });
});
