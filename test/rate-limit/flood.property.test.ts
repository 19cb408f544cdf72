/**
 * The memory store under floods of unique keys: its size bound never becomes a bypass. Whatever the
 * schedule, every take the store admits is one the exact algorithm (the pure steps over a map that forgets
 * nothing) admits too, given the same admitted history; so evicting a key never raises its budget.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { gcra, memoryStore, type RateLimiter, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import type { MemoryTable } from '../../src/rate-limit/memory.js';
import { cellsOf } from '../../src/rate-limit/sketch.js';
import { PureStepModel } from './pure-step-model.js';

const table = (limiter: RateLimiter) => limiter.bound as MemoryTable;

type Make = (clock: VirtualClock, maxKeys: number) => RateLimiter;
const makers: [string, Make][] = [
  ['token bucket', (clock, maxKeys) => tokenBucket({ capacity: 3, refillPerSecond: 2, clock, store: memoryStore({ maxKeys }) })],
  ['gcra', (clock, maxKeys) => gcra({ ratePerSecond: 2, burst: 3, clock, store: memoryStore({ maxKeys }) })],
  ['log', (clock, maxKeys) => slidingWindow({ limit: 3, windowMs: 1500, clock, store: memoryStore({ maxKeys }) })],
  [
    'counter',
    (clock, maxKeys) => slidingWindow({ limit: 3, windowMs: 1500, mode: 'counter', clock, store: memoryStore({ maxKeys }) }),
  ],
];

type Op =
  | { kind: 'take'; key: string; cost: number }
  | { kind: 'flood'; count: number; cost: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'refund'; key: string; cost: number };

const victim = fc.constantFrom('v1', 'v2', 'v3');
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('take' as const), key: victim, cost: fc.integer({ min: 0, max: 3 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('flood' as const),
        count: fc.integer({ min: 1, max: 80 }),
        cost: fc.integer({ min: 1, max: 3 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1200 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('refund' as const), key: victim, cost: fc.integer({ min: 1, max: 2 }) }),
    },
  ),
  { minLength: 5, maxLength: 60 },
);

describe('memory store under floods of unique keys', () => {
  for (const [name, make] of makers) {
    test(`${name}: every admitted take is one the exact algorithm admits (property)`, () => {
      let evictions = 0;
      fc.assert(
        fc.property(fc.integer({ min: 4, max: 40 }), ops, (maxKeys, schedule) => {
          const clock = new VirtualClock({ start: 1000 });
          const limiter = make(clock, maxKeys);
          const model = new PureStepModel(limiter.algorithm.config);
          const now = () => Math.round((clock.now() - 1000) * 1000);
          let unique = 0;
          const take = (key: string, cost: number) => {
            const got = table(limiter).decide(key, cost, true);
            if (got.allowed && cost > 0) {
              // The exact algorithm, fed only what the store admitted, must admit it too.
              const exact = model.step(key, cost, now(), true);
              expect(exact.allowed, `${key} admitted ${cost} beyond the algorithm`).toBe(true);
            }
          };
          for (const op of schedule) {
            if (op.kind === 'take') take(op.key, op.cost);
            else if (op.kind === 'flood') for (let i = 0; i < op.count; i++) take(`flood:${unique++}`, op.cost);
            else if (op.kind === 'advance') clock.advance(op.ms);
            else {
              // A refund gives back at most what the exact state can take back.
              table(limiter).giveBack(op.key, op.cost);
              model.refund(op.key, op.cost, now());
            }
          }
          evictions += table(limiter).evictions;
        }),
        { numRuns: 200 },
      );
      // The floods must really evict keys that held usage, or the property would prove little.
      expect(evictions).toBeGreaterThan(100);
    });
  }

  for (const [name, make] of makers) {
    test(`${name}: an exhausted key stays refused after maxKeys other keys pass`, () => {
      const clock = new VirtualClock();
      const limiter = make(clock, 1000);
      const take = limiter.takeSync!;
      for (let i = 0; i < 3; i++) expect(take('victim').allowed).toBe(true);
      expect(take('victim').allowed).toBe(false);
      for (let i = 0; i < 5000; i++) take(`other:${i}`);
      expect(table(limiter).size).toBeLessThanOrEqual(1000);
      expect(table(limiter).evictions).toBeGreaterThan(0);
      // Evicted, but its usage is in the sketch: still refused until it refills.
      const again = take('victim');
      expect(again.allowed).toBe(false);
      expect(again.remaining).toBe(0);
    });
  }

  test('after one quiet refill period the sketch forgets: keys never seen start full', () => {
    const clock = new VirtualClock();
    const limiter = makers[0]![1](clock, 16);
    const take = limiter.takeSync!;
    for (let i = 0; i < 200; i++) for (let j = 0; j < 3; j++) take(`flood:${i}`);
    // Under the flood, a new key may be estimated as used (the price of never giving usage back)...
    clock.advance(1500); // the bucket's full refill period: 3 tokens at 2 per second
    // ...but not once every folded state is full again.
    expect(take('fresh').remaining).toBe(2);
    expect(take('flood:0').remaining).toBe(2);
  });

  test('a key whose two cells hold no other key keeps its own exact state', () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1e-3, clock, store: memoryStore({ maxKeys: 64 }) });
    const take = limiter.takeSync!;
    take('a', 2);
    // 64 keys map to 16 columns: pick flood keys that share no cell with 'a'.
    const [a0, a1] = cellsOf('a', 16);
    let n = 0;
    for (let i = 0; n < 200; i++) {
      const [c0, c1] = cellsOf(`f${i}`, 16);
      if (c0 === a0 || c1 === a1) continue;
      take(`f${i}`);
      n++;
    }
    expect(table(limiter).evictions).toBeGreaterThan(0);
    expect(take('a', 0).remaining).toBe(3);
  });
});
