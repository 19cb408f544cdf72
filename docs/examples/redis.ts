/**
 * Shared limits on Redis: `REDIS_URL=redis://127.0.0.1:6379 node --import tsx docs/examples/redis.ts`.
 * A GCRA limiter per API key, state in Redis (shared by every process), and a local limiter that takes
 * over while Redis is unreachable.
 */
import { pathToFileURL } from 'node:url';
import { Cluster, type ClusterNode, Redis } from 'ioredis';
import { redisStore } from '../../adapters/redis/index.js';
import { gcra, isRateLimitedError, rateLimit } from '../../src/index.js';

export async function redisExample(client: Redis, prefix = 'example:api:'): Promise<string[]> {
  const log: string[] = [];
  // While Redis is down, each of (say) 4 instances allows a quarter of the limit on its own.
  const local = gcra({ ratePerSecond: 10 / 4, burst: 2 });
  const store = redisStore({ client, prefix, onError: local, timeoutMs: 100 });
  store.on('fallback', (e) => log.push(`fallback (${e.cause}) for ${e.key}`));
  const perKey = gcra({ ratePerSecond: 10, burst: 3, store });

  const callApi = rateLimit(perKey, { key: (apiKey: string) => apiKey })(async (apiKey: string) => `served ${apiKey}`);
  for (let i = 0; i < 4; i++) {
    try {
      log.push(await callApi('key-1'));
    } catch (error) {
      if (!isRateLimitedError(error)) throw error;
      log.push(`key-1 limited: retry after ${error.retryAfterMs} ms`);
    }
  }
  const decision = await perKey.take('key-2', 2);
  log.push(`key-2: allowed=${decision.allowed} remaining=${decision.remaining} limit=${decision.limit}`);
  log.push(`redis keys: ${store.keysOf('key-1').join(', ')}`);
  return log;
}

/**
 * The first sample of docs/redis.md against the Redis at `url` (test/redis/example.test.ts): 25 calls at once
 * on one API key, 20 of which fit the burst.
 */
export async function redisSamples(url: string): Promise<string[]> {
  const lines: string[] = [];
  const log = { warn: (error: Error) => lines.push(`warning: ${error.message}`) };
  const doCall = async (apiKey: string, path: string) => `${apiKey} ${path}`;
  // #region intro
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  client.on('error', (e) => log.warn(e)); // ioredis logs unhandled 'error' events otherwise

  const perKey = gcra({
    ratePerSecond: 10,
    burst: 20,
    store: redisStore({
      client,
      prefix: 'rl:api:',
      onError: gcra({ ratePerSecond: 10 / 4, burst: 5 }), // 4 instances: each takes a quarter while Redis is down
    }),
  });
  const callApi = rateLimit(perKey, { key: (apiKey: string) => apiKey })(doCall);
  // #endregion intro
  try {
    // Until the client is ready, the local limiter decides: wait, so that these calls share Redis's budget.
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        callApi('key-1', `/orders/${i}`).then(
          () => 'served',
          (error) => (isRateLimitedError(error) ? 'limited' : `${error}`),
        ),
      ),
    );
    lines.push(
      `key-1: ${outcomes.filter((o) => o === 'served').length} served, ${outcomes.filter((o) => o === 'limited').length} limited`,
    );
    lines.push(`second key: ${await callApi('key-2', '/orders/1')}`);
  } finally {
    client.disconnect();
  }
  return lines;
}

/** The ioredis settings of docs/redis.md: a client and a cluster client, each deciding once through a store. */
export async function redisClients(url: string, nodes: ClusterNode[]): Promise<string[]> {
  // #region settings
  const client = new Redis(url, {
    enableOfflineQueue: false, // a command while disconnected fails at once instead of waiting in a queue
    maxRetriesPerRequest: 0, // a command in flight when the connection drops fails instead of being retried
    autoResendUnfulfilledCommands: false, // nor is it sent again on the next connection, to count twice
  });
  const cluster = new Cluster(nodes, {
    enableOfflineQueue: false,
    redisOptions: { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false },
  });
  // #endregion settings
  const lines: string[] = [];
  try {
    for (const [name, redis] of [
      ['Redis', client],
      ['Cluster', cluster],
    ] as const) {
      redis.on('error', () => {});
      if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
      const limiter = gcra({
        ratePerSecond: 1,
        burst: 1,
        store: redisStore({ client: redis, prefix: 'settings:', onError: 'deny' }),
      });
      const first = await limiter.take('k');
      const second = await limiter.take('k');
      lines.push(`${name}: ${first.allowed ? 'allowed' : 'refused'}, then ${second.allowed ? 'allowed' : 'refused'}`);
    }
  } finally {
    client.disconnect();
    cluster.disconnect();
  }
  return lines;
}

/**
 * The other client libraries of docs/redis.md (#node-redis, #iovalkey, #glide), each deciding twice through
 * a store on the Redis at `host:port`.
 */
export async function redisOtherClients(host: string, port: number): Promise<string[]> {
  const lines: string[] = [];
  const decideTwice = async (name: string, client: object) => {
    const limiter = gcra({
      ratePerSecond: 1,
      burst: 1,
      store: redisStore({ client, prefix: `clients:${name}:`, onError: 'deny' }),
    });
    const first = await limiter.take('k');
    const second = await limiter.take('k');
    lines.push(`${name}: ${first.allowed ? 'allowed' : 'refused'}, then ${second.allowed ? 'allowed' : 'refused'}`);
  };
  {
    // #region node-redis
    const { createClient } = await import('redis'); // v6 or v5
    const client = createClient({
      socket: { host, port, reconnectStrategy: (retries: number) => Math.min(retries * 50, 1000) },
      disableOfflineQueue: true, // a command while disconnected fails at once instead of waiting in a queue
    });
    client.on('error', () => {}); // node-redis throws on unhandled 'error' events
    await client.connect();
    // #endregion node-redis
    await decideTwice('node-redis', client);
    client.destroy();
  }
  {
    // #region iovalkey
    const { Redis } = await import('iovalkey'); // the same options as ioredis
    const client = new Redis({ host, port, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    // #endregion iovalkey
    client.on('error', () => {});
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    await decideTwice('iovalkey', client);
    client.disconnect();
  }
  {
    // #region glide
    const { GlideClient } = await import('@valkey/valkey-glide');
    const client = await GlideClient.createClient({ addresses: [{ host, port }], requestTimeout: 500 });
    // #endregion glide
    await decideTwice('glide', client);
    client.close();
  }
  return lines;
}

/** The Sentinel settings of docs/redis.md (#sentinel), deciding twice through the master it finds. */
export async function redisSentinelClient(sentinels: { host: string; port: number }[], name: string): Promise<string[]> {
  // #region sentinel
  const client = new Redis({
    sentinels, // [{ host, port }, ...]
    name, // the master's name in the sentinels' configuration
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    failoverDetector: true, // reconnect to the new master as soon as the sentinels announce it
    // A demoted master answers writes with READONLY until the client moves: move at once.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  });
  // #endregion sentinel
  client.on('error', () => {});
  try {
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    const limiter = gcra({ ratePerSecond: 1, burst: 1, store: redisStore({ client, prefix: 'sentinel:', onError: 'deny' }) });
    const first = await limiter.take('k');
    const second = await limiter.take('k');
    return [`Sentinel: ${first.allowed ? 'allowed' : 'refused'}, then ${second.allowed ? 'allowed' : 'refused'}`];
  } finally {
    client.disconnect();
  }
}

/** The node-redis Sentinel settings of docs/redis.md (#sentinel), deciding twice through the master it finds. */
export async function redisNodeSentinel(sentinels: { host: string; port: number }[], name: string): Promise<string[]> {
  // #region node-redis-sentinel
  const { createSentinel } = await import('redis'); // v6 or v5
  const sentinel = createSentinel({
    name, // the master's name in the sentinels' configuration
    sentinelRootNodes: sentinels, // [{ host, port }, ...]
    nodeClientOptions: { disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } },
  });
  sentinel.on('error', () => {}); // node-redis throws on unhandled 'error' events
  await sentinel.connect();
  const store = redisStore({ client: sentinel, prefix: 'node-sentinel:', onError: 'deny' });
  // #endregion node-redis-sentinel
  try {
    const limiter = gcra({ ratePerSecond: 1, burst: 1, store });
    const first = await limiter.take('k');
    const second = await limiter.take('k');
    return [`node-redis Sentinel: ${first.allowed ? 'allowed' : 'refused'}, then ${second.allowed ? 'allowed' : 'refused'}`];
  } finally {
    sentinel.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Fail fast instead of queueing commands while disconnected (see docs/redis.md).
  const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => {});
  await new Promise((resolve) => client.once('ready', resolve));
  for (const line of await redisExample(client)) console.log(line);
  client.disconnect();
  for (const line of await redisSamples(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')) console.log(line);
}
