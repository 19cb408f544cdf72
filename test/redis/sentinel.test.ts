/**
 * Sentinel: a real redis-sentinel watching a master and a replica, and a client that finds the master
 * through it (ioredis and iovalkey with the `sentinels` option, node-redis v6 and v5 with `createSentinel`).
 * Decisions are exact; a `SENTINEL FAILOVER` in the middle of traffic: no decision waits longer than
 * timeoutMs (plus scheduling slack), onError decides during the switch, and decisions return to Redis (the
 * new master) after it. Also: which implementation the store picks for a node-redis Sentinel.
 */
import { createClient, createSentinel } from 'redis';
import { createSentinel as createSentinel5 } from 'redis5';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scriptClientOf } from '../../adapters/redis/client.js';
import { NodeRedisSentinelScriptClient } from '../../adapters/redis/clients/node-redis.js';
import { type RedisStoreEvents, redisStore } from '../../adapters/redis/index.js';
import { tokenBucket } from '../../src/index.js';
import { MASTER_NAME, RedisSentinel, sentinelAvailable } from '../helpers/redis-sentinel.js';
import { redisAvailable } from '../helpers/redis-server.js';
import { closeAll, connectSentinelWith } from './clients.js';

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

describe('a node-redis Sentinel is recognised (no server)', () => {
  const options = { name: MASTER_NAME, sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] };

  test.each([
    ['v6', () => createSentinel(options)],
    ['v5', () => createSentinel5(options)],
  ])('createSentinel of %s: the Sentinel implementation, not a cluster, not ready before connect()', (_, make) => {
    const found = scriptClientOf('test', make());
    expect(found).toBeInstanceOf(NodeRedisSentinelScriptClient);
    expect(found.kind).toBe('node-redis');
    expect(found.cluster).toBe(false);
    expect(found.nodeOf('k')).toBeUndefined();
    expect(found.keyPrefix).toBe('');
    expect(found.ready()).toBe(false);
    expect(found.state()).toBe('closed');
  });

  test("a node-redis Sentinel's keyPrefix is added to the keys, as for a client", () => {
    expect(scriptClientOf('test', createSentinel({ ...options, keyPrefix: 'app:' })).keyPrefix).toBe('app:');
  });

  test('a node-redis client, and a look-alike without getMasterNode, are not taken for a Sentinel', () => {
    const client = scriptClientOf('test', createClient());
    expect(client.kind).toBe('node-redis');
    expect(client).not.toBeInstanceOf(NodeRedisSentinelScriptClient);
    const lookAlike = { isReady: false, isOpen: false, sendCommand: async () => 1 };
    expect(scriptClientOf('test', lookAlike)).not.toBeInstanceOf(NodeRedisSentinelScriptClient);
  });

  test('an unknown object is still a TypeError naming the supported clients, createSentinel among them', () => {
    for (const client of [{}, { getMasterNode() {} }, { sendCommand() {}, getMasterNode() {} }]) {
      expect(() => scriptClientOf('redisStore', client)).toThrow(TypeError);
      expect(() => redisStore({ client, prefix: 'p:', onError: 'deny' })).toThrow(/node-redis client, cluster or Sentinel/);
      expect(() => redisStore({ client, prefix: 'p:', onError: 'deny' })).toThrow(/createSentinel/);
    }
  });
});

/** What a test needs of a Sentinel client, whatever its library. */
interface SentinelHandle {
  readonly client: object;
  close(): Promise<void>;
}

async function ioredisSentinel(library: 'ioredis' | 'iovalkey', sentinel: RedisSentinel): Promise<SentinelHandle> {
  const options = { sentinels: sentinel.sentinels, ...SENTINEL_OPTIONS };
  const client: { status: string; disconnect(): void; on(event: string, listener: () => void): unknown } =
    library === 'ioredis' ? new (await import('ioredis')).Redis(options) : new (await import('iovalkey')).Redis(options);
  client.on('error', () => {});
  const deadline = Date.now() + 15_000;
  while (client.status !== 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { client, close: async () => client.disconnect() };
}

/** The script calls (EVALSHA and EVAL) the Redis on `port` has served: a replica counts none of its master's. */
async function scriptCalls(port: number): Promise<number> {
  const { Redis } = await import('ioredis');
  const direct = new Redis(port, '127.0.0.1');
  try {
    const info = await direct.info('commandstats');
    let calls = 0;
    for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
    return calls;
  } finally {
    direct.disconnect();
  }
}

const LIBRARIES = ['ioredis', 'iovalkey', 'node-redis', 'node-redis v5'] as const;

for (const library of LIBRARIES) {
  describe.skipIf(!redisAvailable || !sentinelAvailable)(`Sentinel (${library})`, () => {
    let sentinel: RedisSentinel;
    let client: object;
    let handle: SentinelHandle | undefined;
    beforeAll(async () => {
      sentinel = await RedisSentinel.start();
      handle =
        library === 'ioredis' || library === 'iovalkey'
          ? await ioredisSentinel(library, sentinel)
          : await connectSentinelWith(library, sentinel.sentinels, MASTER_NAME);
      client = handle.client;
    }, 60_000);
    afterAll(async () => {
      await handle?.close();
      await closeAll();
      await sentinel?.stop();
    });

    for (const coalesce of [false, true]) {
      test(`decisions are exact under concurrency (coalesce: ${coalesce}), and the keys are on the master`, async () => {
        const store = redisStore({ client, prefix: `sentinel:exact:${coalesce}:`, onError: 'deny', timeoutMs: 1000, coalesce });
        const limiter = tokenBucket({ capacity: 50, refillPerSecond: 0.001, store });
        const fallbacks: RedisStoreEvents['fallback'][] = [];
        store.on('fallback', (e) => fallbacks.push(e));
        const decisions = await Promise.all(Array.from({ length: 80 }, () => limiter.take('k')));
        expect(fallbacks).toEqual([]);
        expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
        expect(decisions.filter((d) => !d.allowed).every((d) => d.reason === 'limit')).toBe(true);
        const { Redis } = await import('ioredis');
        const direct = new Redis(await sentinel.masterPort(), '127.0.0.1');
        try {
          expect(await direct.exists(store.keysOf('k')[0] as string)).toBe(1);
        } finally {
          direct.disconnect();
        }
      });
    }

    // A replica pool is node-redis's own option: the case exists only for its Sentinel.
    if (library === 'node-redis' || library === 'node-redis v5') {
      const name = library;
      test('with replicas in the pool (replicaPoolSize), scripts still go to the master', async () => {
        const withReplicas = await connectSentinelWith(name, sentinel.sentinels, MASTER_NAME, { replicaPoolSize: 1 });
        try {
          const store = redisStore({
            client: withReplicas.client,
            prefix: 'sentinel:replicas:',
            onError: 'deny',
            timeoutMs: 1000,
          });
          const limiter = tokenBucket({ capacity: 20, refillPerSecond: 0.001, store });
          const fallbacks: RedisStoreEvents['fallback'][] = [];
          store.on('fallback', (e) => fallbacks.push(e));
          const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.take('k')));
          expect(fallbacks).toEqual([]);
          expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
          await limiter.reset('k');
          expect((await limiter.take('k')).allowed).toBe(true);
        } finally {
          await withReplicas.close();
        }
      });
    }

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
        let refused = 0;
        const loops = Array.from({ length: 16 }, async (_, i) => {
          while (running) {
            const start = performance.now();
            if (!(await limiter.take(`k${i % 4}`)).allowed) refused++;
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
          // Traffic until decisions come from Redis again: from the new master (the sentinel announces it
          // before some clients move: node-redis keeps sending to the old master until it is demoted), with
          // no fallback for a while.
          const deadline = performance.now() + 20_000;
          for (;;) {
            const before = fallbacks.length;
            const callsBefore = await scriptCalls(newMaster);
            await new Promise((r) => setTimeout(r, 300));
            if (fallbacks.length === before && (await scriptCalls(newMaster)) > callsBefore) break;
            if (performance.now() > deadline) throw new Error('decisions never returned to Redis');
          }
        } finally {
          running = false;
          await Promise.all(loops);
        }
        expect(newMaster).not.toBe(oldMaster);
        expect(decided).toBeGreaterThan(100);
        expect(slowest).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        // Once per cause: a suspended store falls back hundreds of thousands of times in a second.
        for (const cause of new Set(fallbacks.map((f) => f.cause))) {
          expect(['not-ready', 'error', 'timeout', 'suspended']).toContain(cause);
        }
        // Redis allows every take (the bucket never empties): exactly the fallbacks of 'deny' are refusals.
        expect(fallbacks.every((f) => f.action === mode)).toBe(true);
        expect(refused).toBe(mode === 'deny' ? fallbacks.length : 0);
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
