import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  redisClients,
  redisExample,
  redisNodeSentinel,
  redisOtherClients,
  redisSamples,
  redisSentinelClient,
} from '../../docs/examples/redis.js';
import { MASTER_NAME, RedisSentinel, sentinelAvailable } from '../helpers/redis-sentinel.js';
import { RedisCluster, RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { connect, disconnectAll } from './support.js';

describe.skipIf(!redisAvailable)('docs/examples/redis.ts', () => {
  let redis: RedisProcess;
  let cluster: RedisCluster;
  let client: Redis;
  beforeAll(async () => {
    [redis, cluster] = await Promise.all([RedisProcess.start(), RedisCluster.start()]);
    client = await connect(redis.port);
  });
  afterAll(async () => {
    await disconnectAll();
    await Promise.all([redis?.stop(), cluster?.stop()]);
  });

  test('runs and prints what docs/redis.md says', async () => {
    const lines = await redisExample(client);
    expect(lines.slice(0, 3)).toEqual(['served key-1', 'served key-1', 'served key-1']);
    expect(lines[3]).toMatch(/^key-1 limited: retry after ([1-9]\d?|100) ms$/);
    expect(lines.slice(4)).toEqual(['key-2: allowed=true remaining=1 limit=3', 'redis keys: example:api:{key-1}']);
    expect(await client.pttl('example:api:{key-1}')).toBeGreaterThan(0);
  });

  test('with Redis paused, the local limiter decides and each fallback is reported', async () => {
    redis.pause();
    try {
      const lines = await redisExample(client, 'example:paused:').catch((e: Error) => [e.message]);
      expect(lines.slice(0, 5)).toEqual([
        'fallback (timeout) for key-1',
        'served key-1',
        'fallback (timeout) for key-1',
        'served key-1',
        'fallback (timeout) for key-1',
      ]);
      expect(lines[5]).toMatch(/^key-1 limited: retry after \d+ ms$/);
    } finally {
      redis.resume();
    }
  });

  test('the first sample of docs/redis.md runs (#intro): a burst of 20 per key, shared in Redis', async () => {
    expect(await redisSamples(redis.url)).toEqual(['key-1: 20 served, 5 limited', 'second key: key-2 /orders/1']);
    // The state is in Redis, under the sample's prefix, with a TTL.
    expect(await client.pttl('rl:api:{key-1}')).toBeGreaterThan(0);
  });

  test('the ioredis settings of docs/redis.md (#settings): a Redis and a Cluster client decide through a store', async () => {
    expect(await redisClients(redis.url, cluster.startupNodes)).toEqual([
      'Redis: allowed, then refused',
      'Cluster: allowed, then refused',
    ]);
  });

  test('the other clients of docs/redis.md (#node-redis, #iovalkey, #glide) decide through a store', async () => {
    expect(await redisOtherClients('127.0.0.1', redis.port)).toEqual([
      'node-redis: allowed, then refused',
      'iovalkey: allowed, then refused',
      'glide: allowed, then refused',
    ]);
  });

  test.runIf(sentinelAvailable)(
    'the Sentinel settings of docs/redis.md (#sentinel) find the master',
    async () => {
      const sentinel = await RedisSentinel.start();
      try {
        expect(await redisSentinelClient(sentinel.sentinels, MASTER_NAME)).toEqual(['Sentinel: allowed, then refused']);
        expect(await redisNodeSentinel(sentinel.sentinels, MASTER_NAME)).toEqual(['node-redis Sentinel: allowed, then refused']);
      } finally {
        await sentinel.stop();
      }
    },
    60_000,
  );
});
