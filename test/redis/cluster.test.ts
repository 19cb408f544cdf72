/**
 * Redis Cluster (3 masters started by the test), with every client library's Cluster client: decisions on
 * user keys that cover all 16384 slots (with ioredis; a sample of them with the others), with every algorithm, including the sliding log's two keys per decision: never CROSSSLOT, never MOVED leaking
 * out, keys on every node, every key with a TTL.
 */
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RedisStoreEvents, redisStore } from '../../adapters/redis/index.js';
import { escapeKey } from '../../adapters/redis/keys.js';
import { gcra, type RateLimiter, slidingWindow, tokenBucket } from '../../src/index.js';
import { RedisCluster, redisAvailable } from '../helpers/redis-server.js';
import { CLUSTER_CLIENT_NAMES, closeAll, connectClusterWith } from './clients.js';
import { connectCluster, disconnectAll, freshPrefix } from './support.js';

/** CRC16/XMODEM, as Redis Cluster computes slots. */
function crc16(input: string): number {
  let crc = 0;
  for (const byte of Buffer.from(input, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
const slotOf = (userKey: string) => crc16(escapeKey(userKey)) % 16384;

/** One user key per slot (found by search), plus keys with characters that would break naive tagging. */
function keysForAllSlots(): string[] {
  const bySlot = new Array<string | undefined>(16384);
  let found = 0;
  for (let i = 0; found < 16384; i++) {
    const key = `user:${i}`;
    const slot = slotOf(key);
    if (bySlot[slot] === undefined) {
      bySlot[slot] = key;
      found++;
    }
  }
  return [...(bySlot as string[]), '', '{', '}', '{a}b', 'a{}b', '}{', '%', '\uD800'];
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

describe.skipIf(!redisAvailable).each(CLUSTER_CLIENT_NAMES)('Redis Cluster (%s)', (clientName) => {
  let cluster: RedisCluster;
  /** The tests' own view of the cluster. */
  let admin: Cluster;
  /** The store's client. */
  let client: object;
  const keys = keysForAllSlots();
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    admin = await connectCluster(cluster.startupNodes);
    client = (await connectClusterWith(clientName, cluster.startupNodes)).client;
  });
  afterAll(async () => {
    await closeAll();
    await disconnectAll();
    await cluster?.stop();
  });

  const makers: [string, (prefix: string) => { limiter: RateLimiter; fallbacks: RedisStoreEvents['fallback'][] }][] = [
    [
      'sliding log (2 keys per decision)',
      (prefix) => make(prefix, (store) => slidingWindow({ limit: 2, windowMs: 60_000, store })),
    ],
    ['token bucket', (prefix) => make(prefix, (store) => tokenBucket({ capacity: 2, refillPerSecond: 0.01, store }))],
    ['gcra', (prefix) => make(prefix, (store) => gcra({ burst: 2, ratePerSecond: 0.01, store }))],
    ['counter', (prefix) => make(prefix, (store) => slidingWindow({ limit: 2, windowMs: 60_000, mode: 'counter', store }))],
  ];
  function make(prefix: string, limiterOf: (store: ReturnType<typeof redisStore>) => RateLimiter) {
    const store = redisStore({ client, prefix, onError: 'deny', timeoutMs: 2000 });
    const fallbacks: RedisStoreEvents['fallback'][] = [];
    store.on('fallback', (e) => fallbacks.push(e));
    return { limiter: limiterOf(store), fallbacks };
  }

  for (const [name, build] of makers) {
    const all = name.startsWith('sliding log') && clientName === 'ioredis';
    test(`${name}: ${all ? 'every slot' : 'keys over all three nodes'}, no CROSSSLOT, limits per key`, async () => {
      const prefix = freshPrefix('cluster');
      const { limiter, fallbacks } = build(prefix);
      const sample = all ? keys : keys.filter((_, i) => i % 16 === 0 || i >= 16384);
      const allowed = new Map<string, number>();
      await pool(
        sample.flatMap((k) => [k, k, k]),
        64,
        async (key) => {
          const d = await limiter.take(key);
          if (d.allowed) allowed.set(key, (allowed.get(key) ?? 0) + 1);
        },
      );
      expect(fallbacks.map((f) => f.error)).toEqual([]);
      for (const key of sample) expect(allowed.get(key), key).toBe(2);
      // State landed on every master, and every key there expires.
      for (const node of admin.nodes('master')) {
        const found = await node.keys(`${prefix}*`);
        expect(found.length).toBeGreaterThan(0);
        for (const key of found.slice(0, 50)) expect(await node.pttl(key)).toBeGreaterThan(0);
      }
      await limiter.reset(sample[0] as string);
      expect((await limiter.take(sample[0])).allowed).toBe(true);
    });
  }
});
