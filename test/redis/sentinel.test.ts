/**
 * Sentinel: a real redis-sentinel watching a master and a replica, and a client that finds the master
 * through it (ioredis and iovalkey with the `sentinels` option). A `SENTINEL FAILOVER` in the middle of
 * traffic: no decision waits longer than timeoutMs (plus scheduling slack), onError decides during the
 * switch, and decisions return to Redis (the new master) after it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RedisStoreEvents, redisStore } from '../../adapters/redis/index.js';
import { tokenBucket } from '../../src/index.js';
import { MASTER_NAME, RedisSentinel, sentinelAvailable } from '../helpers/redis-sentinel.js';
import { redisAvailable } from '../helpers/redis-server.js';

const TIMEOUT_MS = 100;
const SLACK_MS = 900;

/** The settings docs/redis.md recommends for Sentinel. */
const SENTINEL_OPTIONS = {
  name: MASTER_NAME,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => 50,
  sentinelRetryStrategy: () => 50,
  // The demoted master answers writes with READONLY until the client moves: reconnect at once.
  reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
  failoverDetector: true,
};

for (const library of ['ioredis', 'iovalkey'] as const) {
  describe.skipIf(!redisAvailable || !sentinelAvailable)(`Sentinel (${library})`, () => {
    let sentinel: RedisSentinel;
    let client: { status: string; disconnect(): void; on(event: string, listener: () => void): unknown };
    beforeAll(async () => {
      sentinel = await RedisSentinel.start();
      const options = { sentinels: sentinel.sentinels, ...SENTINEL_OPTIONS };
      client =
        library === 'ioredis' ? new (await import('ioredis')).Redis(options) : new (await import('iovalkey')).Redis(options);
      client.on('error', () => {});
      const deadline = Date.now() + 15_000;
      while (client.status !== 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }, 60_000);
    afterAll(async () => {
      client?.disconnect();
      await sentinel?.stop();
    });

    for (const mode of ['allow', 'deny'] as const) {
      test(`SENTINEL FAILOVER mid-traffic (onError '${mode}'): no hang, onError decides during the switch, Redis after`, async () => {
        const store = redisStore({
          client,
          prefix: `sentinel:${mode}:`,
          onError: mode,
          timeoutMs: TIMEOUT_MS,
          suspendForMs: 200,
        });
        const limiter = tokenBucket({ capacity: 1e9, refillPerSecond: 1, store });
        const fallbacks: RedisStoreEvents['fallback'][] = [];
        store.on('fallback', (e) => fallbacks.push(e));
        expect((await limiter.take('warm')).allowed).toBe(true);
        let running = true;
        let slowest = 0;
        let decided = 0;
        const loops = Array.from({ length: 16 }, async (_, i) => {
          while (running) {
            const start = performance.now();
            await limiter.take(`k${i % 4}`);
            slowest = Math.max(slowest, performance.now() - start);
            decided++;
            await new Promise((resolve) => setImmediate(resolve));
          }
        });
        const oldMaster = await sentinel.masterPort();
        let newMaster = oldMaster;
        try {
          await new Promise((r) => setTimeout(r, 100));
          newMaster = await sentinel.failover();
          // Traffic until decisions come from Redis again.
          const deadline = performance.now() + 20_000;
          for (;;) {
            const before = fallbacks.length;
            await new Promise((r) => setTimeout(r, 300));
            if (fallbacks.length === before) break;
            if (performance.now() > deadline) throw new Error('decisions never returned to Redis');
          }
        } finally {
          running = false;
          await Promise.all(loops);
        }
        expect(newMaster).not.toBe(oldMaster);
        expect(decided).toBeGreaterThan(100);
        expect(slowest).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        for (const f of fallbacks) expect(['not-ready', 'error', 'timeout', 'suspended']).toContain(f.cause);
        // Redis decides again, on the new master.
        const before = fallbacks.length;
        expect((await limiter.take('after')).allowed).toBe(true);
        expect(fallbacks.length).toBe(before);
        const { Redis } = await import('ioredis');
        const direct = new Redis(newMaster, '127.0.0.1');
        try {
          expect(await direct.exists(store.keysOf('after')[0] as string)).toBe(1);
        } finally {
          direct.disconnect();
        }
      }, 60_000);
    }
  });
}
