/**
 * Rate limits for real products, on real servers (Express 5, Express 4, Fastify 5) with the memory store and
 * the Redis store: plans chosen from an API key header (tiers, each response reporting its own policy), a
 * login route that counts only failed logins (`countOnly`, refunds), and a flood of requests that match
 * no route. Limits refill slowly (one unit per 1000 s) so that real time (Redis's clock) changes nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { tokenBucket } from '../../src/index.js';
import { type AnyRequest, express4Harness, express5Harness, fastifyHarness, type Running, type Setup } from './harness.js';
import { get, members, storeCases } from './scenarios.js';

const SLOW = 0.001;

for (const harness of [express5Harness, express4Harness, fastifyHarness]) {
  for (const storeCase of storeCases().filter((c) => c.name !== 'async memory')) {
    describe.skipIf(!storeCase.available)(`${harness.name}, ${storeCase.name} store`, () => {
      let running: Running | undefined;
      const start = async (setup: Setup): Promise<string> => {
        running = await harness.start(setup);
        return running.url;
      };
      beforeAll(async () => storeCase.setup?.());
      afterAll(async () => storeCase.teardown?.());
      afterEach(async () => {
        await running?.close();
        running = undefined;
        // A scenario decided by the Redis store's onError would prove nothing about Redis.
        expect((storeCase as { fallbacks?: unknown[] }).fallbacks ?? []).toEqual([]);
      });

      test('plans from an API key header: each key gets its plan, and its own RateLimit-Policy', async () => {
        const limiter = tokenBucket({
          capacity: 2,
          refillPerSecond: SLOW,
          tiers: { pro: { capacity: 5, refillPerSecond: SLOW } },
          tierOf: (key) => (key.startsWith('key:pro-') ? 'pro' : undefined),
          store: storeCase.store(),
        });
        const url = await start({
          global: [{ limiter, name: 'api', key: (req: AnyRequest) => `key:${String(req.headers['x-api-key'])}` }],
        });
        const free = { 'x-api-key': 'free-1' };
        const pro = { 'x-api-key': 'pro-1' };
        const statuses = async (headers: Record<string, string>, n: number) => {
          const seen: number[] = [];
          for (let i = 0; i < n; i++) seen.push((await get(url, headers)).status);
          return seen;
        };
        expect(await statuses(free, 3)).toEqual([200, 200, 429]);
        const first = await get(url, pro);
        expect(members(first.headers.get('ratelimit-policy'))).toEqual([['api-pro', { q: 5, w: 5000 }]]);
        expect(members(first.headers.get('ratelimit'))[0]?.[1].r).toBe(4);
        expect(await statuses(pro, 5)).toEqual([200, 200, 200, 200, 429]);
        const refused = await get(url, free);
        expect(refused.status).toBe(429);
        expect(members(refused.headers.get('ratelimit-policy'))).toEqual([['api', { q: 2, w: 2000 }]]);
        expect(refused.headers.get('retry-after')).not.toBeNull();
      });

      test('a login route counting only 401s: successful logins cost nothing, failed ones are limited', async () => {
        const limiter = tokenBucket({ capacity: 3, refillPerSecond: SLOW, store: storeCase.store() });
        const url = await start({
          routes: { '/login': [{ limiter, name: 'login', countOnly: (res) => res.statusCode === 401 }] },
          status: (req) => (req.headers['x-password'] === 'right' ? 200 : 401),
        });
        const login = (password: string) => get(`${url}/login`, { 'x-password': password });
        for (let i = 0; i < 5; i++) {
          const ok = await login('right');
          expect(ok.status).toBe(200);
          // Charged when it arrived (its fields say so), refunded when it turned out to succeed.
          expect(members(ok.headers.get('ratelimit'))[0]?.[1].r).toBe(2);
        }
        const failed = [await login('wrong'), await login('wrong'), await login('wrong')];
        expect(failed.map((r) => r.status)).toEqual([401, 401, 401]);
        // The fields of a counted request are exact.
        expect(failed.map((r) => members(r.headers.get('ratelimit'))[0]?.[1].r)).toEqual([2, 1, 0]);
        expect((await login('wrong')).status).toBe(429);
        // The budget is spent: even the right password waits (brute force cannot probe past it).
        expect((await login('right')).status).toBe(429);
      });

      test('a flood of requests that match no route is limited (Fastify: limitNotFound)', async () => {
        const limiter = tokenBucket({ capacity: 3, refillPerSecond: SLOW, store: storeCase.store() });
        const url = await start({ global: [{ limiter, name: 'api' }], fastify: { limitNotFound: true } });
        const seen: number[] = [];
        for (let i = 0; i < 5; i++) seen.push((await get(`${url}/no-such-route-${i}`)).status);
        expect(seen).toEqual([404, 404, 404, 429, 429]);
        // Routes share the budget the flood spent (one key: the client's address).
        expect((await get(`${url}/a`)).status).toBe(429);
      });
    });
  }
}

describe('Fastify: requests that match no route are not limited unless asked', () => {
  let running: Running | undefined;
  afterEach(async () => running?.close());
  test('default: a 404 flood passes the plugin; limitNotFound: true without global limits is refused', async () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: SLOW });
    running = await fastifyHarness.start({ global: [{ limiter }] });
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await get(`${running.url}/nope`)).status);
    expect(seen).toEqual([404, 404, 404]);
    await running.close();
    running = undefined;
    await expect(fastifyHarness.start({ fastify: { limitNotFound: true } })).rejects.toThrow(
      /option "limitNotFound" is true but there is no global "rateLimit"/,
    );
  });
});

describe('live reconfiguration: the next response reports the new policy', () => {
  for (const harness of [express5Harness, fastifyHarness]) {
    test(harness.name, async () => {
      const limiter = tokenBucket({ capacity: 2, refillPerSecond: SLOW });
      const running = await harness.start({ global: [{ limiter }] });
      try {
        const before = await get(running.url);
        expect(members(before.headers.get('ratelimit-policy'))).toEqual([['2-in-2000s', { q: 2, w: 2000 }]]);
        limiter.reconfigure({ capacity: 10, refillPerSecond: SLOW });
        const after = await get(running.url);
        expect(after.status).toBe(200);
        expect(members(after.headers.get('ratelimit-policy'))).toEqual([['10-in-10000s', { q: 10, w: 10000 }]]);
        // The key keeps its usage: one unit taken before, one now.
        expect(members(after.headers.get('ratelimit'))[0]?.[1].r).toBe(8);
      } finally {
        await running.close();
      }
    });
  }
});
