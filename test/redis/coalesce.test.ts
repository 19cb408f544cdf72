/**
 * Coalescing (`coalesce: true`): the takes of one event-loop turn go to Redis as one batch script call
 * that decides each in arrival order, atomically. A differential property test holds the batch script to
 * one single-decision call per take at the same Redis time, for every algorithm; end to end, a coalescing
 * store admits exactly the budget under concurrency with fewer script calls than decisions, on every client.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { redisStore } from '../../adapters/redis/index.js';
import { LuaScript } from '../../adapters/redis/script-client.js';
import { batchScript, takeCall } from '../../adapters/redis/scripts.js';
import { luaScriptOf } from '../../adapters/redis/store.js';
import { gcra, type RateLimiter, slidingWindow, tokenBucket } from '../../src/index.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { CLIENT_NAMES, closeAll, connectWith } from './clients.js';
import { connect, disconnectAll, freshPrefix, redisOf } from './support.js';

describe.skipIf(!redisAvailable)('coalescing', () => {
  let redis: RedisProcess;
  let admin: Redis;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    admin = await connect(redis.port);
  });
  afterAll(async () => {
    await closeAll();
    await disconnectAll();
    await redis?.stop();
  });

  const makers: [string, (store: ReturnType<typeof redisStore>) => RateLimiter][] = [
    ['token bucket', (store) => tokenBucket({ capacity: 5, refillPerSecond: 2, store })],
    ['gcra', (store) => gcra({ burst: 5, ratePerSecond: 2, store })],
    ['sliding counter', (store) => slidingWindow({ limit: 5, windowMs: 2000, mode: 'counter', store })],
    ['sliding log', (store) => slidingWindow({ limit: 5, windowMs: 2000, store })],
  ];

  for (const [name, make] of makers) {
    test(`${name}: one batch call decides exactly as one call per take, in order, at the same time`, async () => {
      const bound = redisOf(make(redisStore({ client: admin, prefix: 'unused:', onError: 'deny' }))).bound;
      const client = bound.client;
      const algorithm = bound.algorithm;
      const batch = new LuaScript(batchScript(algorithm.config.kind), -1);
      const take = fc.record({
        key: fc.constantFrom('a', 'b', 'c'),
        cost: fc.integer({ min: 0, max: 4 }),
        consume: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(take, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 1, max: 1500 }),
          async (turns, stepMs) => {
            const single = freshPrefix('single');
            const batched = freshPrefix('batched');
            let nowUs = 1_000_000;
            for (const turn of turns) {
              const expected: unknown[] = [];
              for (const t of turn) {
                const call = takeCall(algorithm, single, t.key, t.cost, t.consume, nowUs, bound.origin);
                expected.push(await client.run(luaScriptOf(call), call.keys, call.args));
              }
              const keys: string[] = [];
              const args: Buffer[] = [];
              for (const t of turn) {
                const call = takeCall(algorithm, batched, t.key, t.cost, t.consume, nowUs, bound.origin);
                keys.push(...call.keys);
                args.push(...call.args);
              }
              // One slot per decision, in order, each the single call's reply.
              expect(await client.run(batch, keys, args)).toEqual(expected);
              nowUs += stepMs * 1000;
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  test('any maxBatch: a coalescing store decides exactly as one call per take (allowed, remaining), turn by turn', async () => {
    const take = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), cost: fc.integer({ min: 0, max: 3 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(take, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 20 }),
        async (turns, maxBatch) => {
          const options = { client: admin, onError: 'deny', timeoutMs: 2000 } as const;
          const coalesced = tokenBucket({
            capacity: 6,
            refillPerSecond: 1e-3,
            store: redisStore({ ...options, prefix: freshPrefix('mb'), coalesce: true, maxBatch }),
          });
          const single = tokenBucket({
            capacity: 6,
            refillPerSecond: 1e-3,
            store: redisStore({ ...options, prefix: freshPrefix('one') }),
          });
          const brief = (d: { allowed: boolean; remaining: number }) => [d.allowed, d.remaining];
          for (const turn of turns) {
            const [a, b] = await Promise.all([
              Promise.all(turn.map((t) => coalesced.take(t.key, t.cost))),
              Promise.all(turn.map((t) => single.take(t.key, t.cost))),
            ]);
            expect(a.map(brief)).toEqual(b.map(brief));
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  test('maxBatch bounds the decisions per call; a bad value is a RangeError naming it', async () => {
    const calls = async (maxBatch: number) => {
      const store = redisStore({ client: admin, prefix: freshPrefix('mbc'), onError: 'deny', coalesce: true, maxBatch });
      const limiter = tokenBucket({ capacity: 100, refillPerSecond: 1, store });
      await limiter.take('warm'); // loads the take script; the batch script loads on its first call
      await Promise.all(Array.from({ length: 3 }, (_, i) => limiter.take(`warm${i}`)));
      await admin.config('RESETSTAT');
      await Promise.all(Array.from({ length: 70 }, (_, i) => limiter.take(`k${i}`)));
      const stats = await admin.info('commandstats');
      return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    };
    // The turn's first take goes out at once; the other 69 in batches of at most maxBatch.
    expect(await calls(7)).toBe(1 + 10);
    expect(await calls(1000)).toBe(1 + 1);
    for (const bad of [0, 1.5, 1001, -1, Number.NaN, '8']) {
      expect(() => redisStore({ client: admin, prefix: 'p:', onError: 'deny', coalesce: true, maxBatch: bad as number })).toThrow(
        expect.objectContaining({ name: 'RangeError', message: expect.stringContaining('"maxBatch"') }),
      );
    }
  });

  for (const clientName of CLIENT_NAMES) {
    test(`${clientName}: 200 concurrent takes admit exactly the budget, in fewer script calls than decisions; SCRIPT FLUSH heals`, async () => {
      const { client } = await connectWith(clientName, redis.port);
      const store = redisStore({ client, prefix: freshPrefix('co'), onError: 'deny', coalesce: true, timeoutMs: 2000 });
      const fallbacks: unknown[] = [];
      store.on('fallback', (e) => fallbacks.push(e));
      const limiter = tokenBucket({ capacity: 50, refillPerSecond: 1e-3, store });
      await admin.config('RESETSTAT');
      const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => limiter.take(i % 2 === 0 ? 'hot' : `cold${i}`)));
      const stats = await admin.info('commandstats');
      const calls = [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
      expect(fallbacks).toEqual([]);
      expect(decisions.filter((d, i) => i % 2 === 0 && d.allowed)).toHaveLength(50);
      expect(decisions.filter((_, i) => i % 2 === 1).every((d) => d.allowed)).toBe(true);
      // The turn's first take at once, then at most maxBatch (default 16) decisions per call: 1 + 13 calls,
      // plus the scripts' loads.
      expect(calls).toBeGreaterThanOrEqual(1 + Math.ceil(199 / 16));
      expect(calls).toBeLessThan(20);
      // The server loses the scripts (a restart, a failover): a batch is sent once more, with EVAL.
      await admin.script('FLUSH');
      const again = await Promise.all(Array.from({ length: 20 }, (_, i) => limiter.take(`after${i}`)));
      expect(fallbacks).toEqual([]);
      expect(again.every((d) => d.allowed)).toBe(true);
    });
  }
});
