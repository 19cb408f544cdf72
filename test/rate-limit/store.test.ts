import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { gcra, memoryStore, type RateLimiter, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import type { MemoryTable } from '../../src/rate-limit/memory.js';
import { PureStepModel } from './pure-step-model.js';

const table = (limiter: RateLimiter) => limiter.bound as MemoryTable;

type Real = { limiter: RateLimiter; clock: VirtualClock };
type Cmd = fc.Command<PureStepModel, Real>;

const KEYS = ['a', 'b', 'c', 'd', 'e'];

function commands(): fc.Arbitrary<Iterable<Cmd>> {
  const key = fc.constantFrom(...KEYS);
  const take = fc.record({ key, cost: fc.integer({ min: 0, max: 4 }), consume: fc.boolean() }).map(
    ({ key, cost, consume }): Cmd => ({
      check: () => true,
      run(model, real) {
        const now = Math.round((real.clock.now() - 1000) * 1000);
        const want = model.step(key, cost, now, consume);
        const got = table(real.limiter).decide(key, cost, consume);
        expect({ allowed: got.allowed, remaining: got.remaining, waitUs: got.waitUs }).toEqual({
          allowed: want.allowed,
          remaining: want.remaining,
          waitUs: want.waitUs,
        });
      },
      toString: () => `take(${key}, ${cost}, ${consume})`,
    }),
  );
  const advance = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 5000 })).map(
    (ms): Cmd => ({
      check: () => true,
      run(_model, real) {
        real.clock.advance(ms);
      },
      toString: () => `advance(${ms})`,
    }),
  );
  const reset = key.map(
    (k): Cmd => ({
      check: () => true,
      run(model, real) {
        model.reset(k);
        void real.limiter.reset(k);
      },
      toString: () => `reset(${k})`,
    }),
  );
  return fc.commands([take, take, take, advance, advance, reset], { maxCommands: 120 });
}

describe('memory store', () => {
  const makers: [string, (clock: VirtualClock) => RateLimiter][] = [
    ['token bucket', (clock) => tokenBucket({ capacity: 4, refillPerSecond: 3, clock, store: memoryStore({ maxKeys: 1000 }) })],
    ['gcra', (clock) => gcra({ ratePerSecond: 2, burst: 3, clock, store: memoryStore({ maxKeys: 1000 }) })],
    ['log', (clock) => slidingWindow({ limit: 4, windowMs: 700, clock, store: memoryStore({ maxKeys: 1000 }) })],
    [
      'counter',
      (clock) => slidingWindow({ limit: 4, windowMs: 700, mode: 'counter', clock, store: memoryStore({ maxKeys: 1000 }) }),
    ],
  ];
  for (const [name, make] of makers) {
    test(`${name}: a thin shell over the pure step (model-based; rotations by idle time change no decision)`, () => {
      fc.assert(
        fc.property(commands(), (cmds) => {
          const clock = new VirtualClock({ start: 1000 });
          const limiter = make(clock);
          fc.modelRun(() => ({ model: new PureStepModel(limiter.algorithm.config), real: { limiter, clock } }), cmds);
          expect(table(limiter).evictions).toBe(0);
        }),
        { numRuns: 150 },
      );
    });
  }

  test('refused takes, peeks and zero-cost takes create no key', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    await limiter.peek('p');
    await limiter.take('z', 0);
    await limiter.take('never', 2);
    expect(table(limiter).size).toBe(0);
    await limiter.take('x');
    expect(table(limiter).size).toBe(1);
  });

  test('idle keys expire without timers: after two refill periods the store is empty', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 10, clock });
    for (let i = 0; i < 100; i++) await limiter.take(`k${i}`);
    expect(table(limiter).size).toBe(100);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    await limiter.take('other');
    clock.advance(1000);
    await limiter.peek('other');
    // The 100 keys rotated out after two periods of 1 s; 'other' (written 1 s ago) is in the previous generation.
    expect(table(limiter).size).toBe(1);
  });

  test('size eviction keeps at most maxKeys and at least the last maxKeys / 2 keys', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.001, clock, store: memoryStore({ maxKeys: 100 }) });
    for (let i = 0; i < 1000; i++) {
      await limiter.take(`k${i}`);
      expect(table(limiter).size).toBeLessThanOrEqual(100);
    }
    // The last 50 keys are still remembered (empty buckets).
    for (let i = 950; i < 1000; i++) expect((await limiter.take(`k${i}`)).allowed).toBe(false);
    expect(table(limiter).evictions).toBeGreaterThan(0);
  });

  test('1 000 000 distinct keys stay within maxKeys and bounded memory', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const measure = (maxKeys: number, keys: number) => {
      const clock = new VirtualClock();
      gc();
      // Slabs are ArrayBuffers: count external memory as well as the heap.
      const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      const before = used();
      const limiter = tokenBucket({ capacity: 10, refillPerSecond: 1, clock, store: memoryStore({ maxKeys }) });
      const take = limiter.takeSync!;
      let max = 0;
      for (let i = 0; i < keys; i++) {
        take(`user:${i}`);
        if ((i & 0xffff) === 0) max = Math.max(max, table(limiter).size);
      }
      max = Math.max(max, table(limiter).size);
      gc();
      const bytes = used() - before;
      return { limiter, max, bytes };
    };
    const bounded = measure(100_000, 1_000_000);
    expect(bounded.max).toBeLessThanOrEqual(100_000);
    // Generous: 100 000 keys (with their strings) in well under 64 MB.
    expect(bounded.bytes).toBeLessThan(64 * 2 ** 20);
    const all = measure(2_000_000, 1_000_000);
    expect(table(all.limiter).size).toBe(1_000_000);
    const perKey = all.bytes / 1_000_000;
    expect(perKey).toBeLessThan(400);
    console.log(`memory store: ${perKey.toFixed(0)} bytes per key at 1M keys (token bucket, keys "user:<n>")`);
  });
});
