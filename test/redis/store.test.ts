/** The Redis store on Redis's own clock: TTLs, the limiter API, the policy, the blocked-key cache, bad input. */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { escapeKey, redisStore } from '../../adapters/redis/index.js';
import {
  gcra,
  isRateLimitedError,
  MAX_STORED_KEY_LENGTH,
  type RateLimiter,
  rateLimit,
  slidingWindow,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { CLIENT_NAMES, closeAll, connectWith } from './clients.js';
import { connect, disconnectAll, freshPrefix, redisOf } from './support.js';

/** Every key under `prefix` with its PTTL (-1: no expiry). */
async function ttls(client: Redis, prefix: string): Promise<Map<string, number>> {
  const keys = await client.keys(`${prefix}*`);
  const out = new Map<string, number>();
  for (const key of keys) out.set(key, await client.pttl(key));
  return out;
}

describe('escapeKey', () => {
  test('never empty, never a "}", and injective (distinct keys stay distinct)', () => {
    const keys = ['', '%', '%25', '{', '}', '%7B', '%7D', 'a{b}c', '\uD800', '\uDC00', '%uD800', '😀', 'plain'];
    const escaped = keys.map(escapeKey);
    for (const e of escaped) {
      expect(e.length).toBeGreaterThan(0);
      expect(e).not.toMatch(/[{}]/);
      expect(e).not.toMatch(/\p{Surrogate}/u);
    }
    expect(new Set(escaped).size).toBe(keys.length);
    expect(escapeKey('plain')).toBe('plain');
    expect(escapeKey('😀')).toBe('😀');
  });
});

describe.skipIf(!redisAvailable)('ioredis with enableAutoPipelining', () => {
  test("decisions bypass ioredis's auto-pipeline queue (one pipeline in flight at a time would serialize them)", async () => {
    const redis = await RedisProcess.start();
    try {
      const connected = await connectWith('ioredis auto-pipelining', redis.port);
      const client = connected.client as Redis;
      const limiter = tokenBucket({
        capacity: 100,
        refillPerSecond: 1,
        store: redisStore({ client, prefix: 'ap:', onError: 'deny' }),
      });
      const pending = Array.from({ length: 64 }, (_, i) => limiter.take(`k${i}`));
      expect(client.autoPipelineQueueSize).toBe(0);
      const decisions = await Promise.all(pending);
      expect(decisions.every((d) => d.allowed)).toBe(true);
      // The client's own commands still auto-pipeline.
      const own = Array.from({ length: 8 }, (_, i) => client.get(`other${i}`));
      expect(client.autoPipelineQueueSize).toBe(8);
      await Promise.all(own);
    } finally {
      await closeAll();
      await redis.stop();
    }
  });
});

describe.skipIf(!redisAvailable).each(CLIENT_NAMES)('redisStore on Redis time (%s)', (clientName) => {
  let redis: RedisProcess;
  /** The tests' own view of the server. */
  let admin: Redis;
  /** The store's client, of the library under test. */
  let client: object;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    admin = await connect(redis.port);
    client = (await connectWith(clientName, redis.port)).client;
  });
  afterAll(async () => {
    await closeAll();
    await disconnectAll();
    await redis?.stop();
  });

  const makers: [string, (prefix: string, windowMs: number) => RateLimiter][] = [
    [
      'token bucket',
      (prefix, ms) =>
        tokenBucket({ capacity: 3, refillPerSecond: 3000 / ms, store: redisStore({ client, prefix, onError: 'deny' }) }),
    ],
    [
      'gcra',
      (prefix, ms) => gcra({ burst: 3, ratePerSecond: 3000 / ms, store: redisStore({ client, prefix, onError: 'deny' }) }),
    ],
    [
      'counter',
      (prefix, ms) =>
        slidingWindow({ limit: 3, windowMs: ms, mode: 'counter', store: redisStore({ client, prefix, onError: 'deny' }) }),
    ],
    ['log', (prefix, ms) => slidingWindow({ limit: 3, windowMs: ms, store: redisStore({ client, prefix, onError: 'deny' }) })],
  ];

  for (const [name, make] of makers) {
    test(`${name}: every key gets a TTL of at most resetAfterMs, for windows of an hour down to 1 µs`, async () => {
      for (const windowMs of [3_600_000, 1000, 5, 0.001]) {
        const prefix = freshPrefix(`ttl-${name}`);
        const limiter = make(prefix, windowMs);
        let maxReset = 0;
        for (let i = 0; i < 5; i++) {
          const d = await limiter.take(`k${i % 2}`);
          maxReset = Math.max(maxReset, d.resetAfterMs);
        }
        for (const [key, pttl] of await ttls(admin, prefix)) {
          expect(pttl, key).not.toBe(-1);
          expect(pttl, key).toBeLessThanOrEqual(Math.max(1, maxReset));
        }
      }
    });

    test(`${name}: limits on Redis's clock, refused takes and peeks write nothing, reset empties`, async () => {
      const prefix = freshPrefix(`api-${name}`);
      const limiter = make(prefix, 3_600_000);
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.take('u'));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions[3]).toMatchObject({ limit: 3, remaining: 0, reason: 'limit' });
      expect(decisions[3]?.retryAfterMs).toBeGreaterThan(0);
      expect((await limiter.take('u', 4)).reason).toBe('cost-exceeds-limit');
      expect(await admin.keys(`${prefix}*`)).toHaveLength(name === 'log' ? 2 : 1);
      await limiter.peek('p');
      await limiter.take('z', 0);
      await limiter.take('never', 4);
      expect(await admin.keys(`${prefix}*`)).toHaveLength(name === 'log' ? 2 : 1);
      await limiter.reset('u');
      expect(await admin.keys(`${prefix}*`)).toHaveLength(0);
      expect((await limiter.take('u', 3)).allowed).toBe(true);
    });
  }

  test('idle keys vanish when their state is back to full', async () => {
    const prefix = freshPrefix('vanish');
    const limiter = slidingWindow({
      limit: 2,
      windowMs: 300,
      store: redisStore({ client, prefix, onError: 'deny', timeoutMs: 1000 }),
    });
    for (let i = 0; i < 10; i++) await limiter.take(`k${i}`);
    expect((await admin.keys(`${prefix}*`)).length).toBe(20);
    const deadline = Date.now() + 5000;
    while ((await admin.keys(`${prefix}*`)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await admin.keys(`${prefix}*`)).toHaveLength(0);
  });

  test('the rateLimit policy runs on the Redis store (async path) and rejects with RateLimitedError', async () => {
    const limiter = gcra({
      burst: 2,
      ratePerSecond: 0.001,
      store: redisStore({ client, prefix: freshPrefix('policy'), onError: 'deny' }),
    });
    expect(limiter.takeSync).toBeUndefined();
    const guarded = rateLimit(limiter, { key: (id: string) => id })(async (id: string) => `ok ${id}`);
    expect(await guarded('a')).toBe('ok a');
    expect(await guarded('a')).toBe('ok a');
    const error = await guarded('a').catch((e: unknown) => e);
    expect(isRateLimitedError(error)).toBe(true);
    expect(await guarded('b')).toBe('ok b');
  });

  test('peek reports the decision and the current remaining without consuming', async () => {
    const limiter = tokenBucket({
      capacity: 3,
      refillPerSecond: 0.001,
      store: redisStore({ client, prefix: freshPrefix('peek'), onError: 'deny' }),
    });
    await limiter.take('k', 2);
    const peek = await limiter.peek('k', 2);
    expect(peek).toMatchObject({ allowed: false, remaining: 1, reason: 'limit' });
    expect((await limiter.take('k', 1)).allowed).toBe(true);
  });

  test('blocked-key cache: a flood on a blocked key costs no round trip, and is bounded', async () => {
    const clock = new VirtualClock();
    const store = redisStore({ client, prefix: freshPrefix('cache'), onError: 'deny', blockedCacheSize: 2 });
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.001, store, clock });
    expect((await limiter.take('hot')).allowed).toBe(true);
    const refused = await limiter.take('hot');
    expect(refused.allowed).toBe(false);
    const before = Number((await admin.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
    for (let i = 0; i < 100; i++) {
      const d = await limiter.take('hot');
      expect(d).toMatchObject({ allowed: false, reason: 'limit', remaining: 0 });
      expect(d.retryAfterMs).toBeLessThanOrEqual(refused.retryAfterMs);
    }
    const after = Number((await admin.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
    expect(after - before).toBeLessThanOrEqual(1); // the INFO call itself
    // Another cost is not served from the cache; neither are other keys. The cache holds at most 2 keys.
    expect((await limiter.take('hot', 0)).allowed).toBe(true);
    for (const k of ['x', 'y', 'z']) {
      await limiter.take(k);
      await limiter.take(k);
    }
    expect(redisOf(limiter).blockedKeys?.size).toBe(2);
    // reset clears the key's entry at once.
    await limiter.reset('z');
    expect((await limiter.take('z')).allowed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a store serves one limiter; keysOf names its Redis keys', () => {
    const store = redisStore({ client, prefix: 'rl:', onError: 'allow' });
    expect(() => store.keysOf('a')).toThrow(/bound/);
    slidingWindow({ limit: 1, windowMs: 1000, store });
    expect(store.keysOf('a{b}')).toEqual(['rl:{a%7Bb%7D}', 'rl:{a%7Bb%7D}:n']);
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: 1, store })).toThrow(/already serves a limiter/);
  });

  test('bad input: clear errors at construction', () => {
    const ok = { client, prefix: 'p:', onError: 'deny' as const };
    expect(() => redisStore(undefined as never)).toThrow(TypeError);
    expect(() => redisStore({ ...ok, client: undefined as never })).toThrow(/"client" is required/);
    expect(() => redisStore({ ...ok, client: {} as never })).toThrow(/ioredis Redis or Cluster/);
    expect(() => redisStore({ ...ok, client: { sendCommand() {} } as never })).toThrow(/ioredis Redis or Cluster/);
    expect(() => redisStore({ ...ok, prefix: '' })).toThrow(/must not be empty/);
    expect(() => redisStore({ ...ok, prefix: 3 as never })).toThrow(/must be a string/);
    expect(() => redisStore({ ...ok, prefix: 'a{b' })).toThrow(/hash tags/);
    expect(() => redisStore({ ...ok, prefix: 'a}b' })).toThrow(/hash tags/);
    expect(() => redisStore({ ...ok, onError: undefined as never })).toThrow(/"onError" is required/);
    expect(() => redisStore({ ...ok, onError: 'open' as never })).toThrow(/'allow', 'deny' or a limiter/);
    expect(() => redisStore({ ...ok, onError: {} as never })).toThrow(/'allow', 'deny' or a limiter/);
    expect(() => redisStore({ ...ok, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => redisStore({ ...ok, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
    expect(() => redisStore({ ...ok, blockedCacheSize: -1 })).toThrow(/blockedCacheSize/);
    expect(() => redisStore({ ...ok, timeOriginSeconds: 1.5 })).toThrow(/timeOriginSeconds/);
    expect(() => redisStore({ ...ok, prefixx: 'x' } as never)).toThrow(/unknown option "prefixx"/);
    // GCRA needs its time in ticks below 2^53: an origin too far back is refused at construction.
    expect(() => gcra({ burst: 1, ratePerSecond: 0.37, store: redisStore({ ...ok, timeOriginSeconds: 0 }) })).toThrow(
      /timeOriginSeconds/,
    );
  });

  test('odd keys at the call: non-strings are refused, every string works', async () => {
    const limiter = tokenBucket({
      capacity: 1,
      refillPerSecond: 1,
      store: redisStore({ client, prefix: freshPrefix('odd'), onError: 'deny' }),
    });
    await expect(limiter.take(42 as never)).rejects.toThrow(TypeError);
    await expect(limiter.take('k', -1)).rejects.toThrow(RangeError);
    for (const key of ['', '{', '}', '{}', '}{', 'a'.repeat(10_000), '\u0000\r\n', '\uD800']) {
      expect((await limiter.take(key)).allowed).toBe(true);
    }
  });

  test('key bytes are bounded: a huge key is stored under its digest form, distinct keys stay distinct', async () => {
    const prefix = freshPrefix('long');
    const store = redisStore({ client, prefix, onError: 'deny' });
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.001, store });
    const a = `${'x'.repeat(500_000)}a`;
    const b = `${'x'.repeat(500_000)}b`;
    expect((await limiter.take(a)).allowed).toBe(true);
    expect((await limiter.take(a)).allowed).toBe(false);
    expect((await limiter.take(b)).allowed).toBe(true);
    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key.length).toBeLessThanOrEqual(prefix.length + 2 + 3 * MAX_STORED_KEY_LENGTH);
    expect(store.keysOf(a)[0]?.length).toBeLessThan(400);
  });
});
