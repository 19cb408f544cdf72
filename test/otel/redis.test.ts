import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrument } from '../../adapters/otel/index.js';
import { type RedisStoreEvents, redisStore } from '../../adapters/redis/index.js';
import { tokenBucket } from '../../src/index.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { connect, disconnectAll } from '../redis/support.js';
import { points, sdk } from './harness.js';

describe.skipIf(!redisAvailable)('weir/otel: a Redis store on a real redis-server', () => {
  let redis: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = await connect(redis.port);
  });
  afterAll(async () => {
    await disconnectAll();
    await redis?.stop();
  });

  it('counts fallbacks by cause and action, recoveries, suspensions and answer times, exactly as the store reports them', async () => {
    const { meterProvider, collect } = sdk();
    const store = redisStore({ client, prefix: `otel-${process.pid}:`, onError: 'allow', timeoutMs: 100, suspendForMs: 100 });
    const limiter = tokenBucket({ capacity: 100, refillPerSecond: 1, store });
    const seen: RedisStoreEvents['fallback'][] = [];
    let recoveries = 0;
    const suspensions: RedisStoreEvents['suspended'][] = [];
    let replies = 0;
    store.on('fallback', (event) => seen.push(event));
    store.on('recovered', () => recoveries++);
    store.on('suspended', (event) => suspensions.push(event));
    store.on('reply', ({ ms }) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      replies++;
    });
    const telemetry = instrument(store, { meterProvider });
    try {
      expect((await limiter.take('k')).allowed).toBe(true);
      redis.pause();
      try {
        await Promise.all([limiter.take('k'), limiter.take('k'), limiter.take('k')]);
        await limiter.take('k'); // suspended: falls back at once
      } finally {
        redis.resume();
      }
      while (recoveries === 0) {
        await new Promise((resolve) => setTimeout(resolve, 25)); // real Redis: wait out the suspension
        await limiter.take('k');
      }
      const metrics = await collect();
      const expected = new Map<string, number>();
      for (const event of seen) expected.set(event.cause, (expected.get(event.cause) ?? 0) + 1);
      expect(expected.get('timeout')).toBe(3);
      expect(expected.get('suspended')).toBeGreaterThanOrEqual(1);
      expect(points(metrics, 'weir.redis.fallbacks')).toEqual(
        [...expected]
          .map(([cause, value]) => ({
            attributes: {
              'weir.redis.fallback.action': 'allow',
              'weir.redis.fallback.cause': cause,
              'weir.redis.store': `otel-${process.pid}:`,
            },
            value,
          }))
          .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes))),
      );
      expect(points(metrics, 'weir.redis.recoveries')).toEqual([
        { attributes: { 'weir.redis.store': `otel-${process.pid}:` }, value: recoveries },
      ]);
      // The three timeouts in a row (suspendAfter defaults to 3) suspended the store, once or more.
      expect(suspensions.length).toBeGreaterThanOrEqual(1);
      expect(suspensions[0]).toEqual({ failures: 3, forMs: 100, node: undefined });
      expect(points(metrics, 'weir.redis.suspensions')).toEqual([
        { attributes: { 'weir.redis.store': `otel-${process.pid}:` }, value: suspensions.length },
      ]);
      expect(replies).toBeGreaterThanOrEqual(2); // the first take and the one that recovered
      expect(points(metrics, 'weir.redis.decision.duration')).toEqual([
        { attributes: { 'weir.redis.store': `otel-${process.pid}:` }, value: replies },
      ]);
    } finally {
      telemetry.stop();
    }
  });
});
