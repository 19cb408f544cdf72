/**
 * Every supported client library, connected the way docs/redis.md recommends (no offline queue, no
 * retries of a command, quick reconnects so the fault tests recover fast). The Redis suites run once per
 * client through this list; an ioredis client stays the tests' own view of the server (keys, TTLs, INFO).
 */
// Each library is imported when first used, so a worker process loads only its own.
const glide = () => import('@valkey/valkey-glide');
const ioredis = () => import('ioredis');
const iovalkey = () => import('iovalkey');
const nodeRedis = () => import('redis');
const nodeRedis5 = () => import('redis5');

export type ClientName = 'ioredis' | 'ioredis auto-pipelining' | 'iovalkey' | 'node-redis' | 'node-redis v5' | 'glide';

export const CLIENT_NAMES: readonly ClientName[] = [
  'ioredis',
  'ioredis auto-pipelining',
  'iovalkey',
  'node-redis',
  'node-redis v5',
  'glide',
];

/** The clients with a Cluster flavour (the auto-pipelining variant adds nothing there). */
export const CLUSTER_CLIENT_NAMES: readonly ClientName[] = ['ioredis', 'iovalkey', 'node-redis', 'node-redis v5', 'glide'];

export interface Connected {
  readonly name: ClientName;
  /** What `redisStore({ client })` gets. */
  readonly client: object;
  /**
   * Whether the library tells when it is not connected (GLIDE does not: a lost connection shows as
   * errors and timeouts instead of 'not-ready').
   */
  readonly reportsReadiness: boolean;
  isReady(): boolean;
  /** Resolves once the client is connected (again). */
  waitReady(): Promise<void>;
  close(): Promise<void>;
}

const open = new Set<Connected>();

async function loadGlide() {
  const module = await glide();
  // GLIDE logs every server error (NOSCRIPT after a flush, connection refused in the fault tests) as a warning.
  module.Logger.setLoggerConfig('error');
  return module;
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const IOREDIS_OPTIONS = { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 };

interface IoredisShape {
  status: string;
  on(event: string, listener: () => void): unknown;
  disconnect(): void;
}

function ioredisLike(name: ClientName, client: IoredisShape): Connected {
  client.on('error', () => {}); // connection errors are expected in the fault tests
  return {
    name,
    client,
    reportsReadiness: true,
    isReady: () => client.status === 'ready',
    waitReady: () => until(() => client.status === 'ready', `${name} ready`),
    close: async () => client.disconnect(),
  };
}

interface NodeRedisShape {
  /** Absent on a v5 cluster. */
  readonly isReady?: boolean;
  readonly isOpen: boolean;
  on(event: string, listener: () => void): unknown;
  destroy(): void;
}

function nodeRedisLike(name: ClientName, client: NodeRedisShape): Connected {
  client.on('error', () => {});
  return {
    name,
    client,
    reportsReadiness: true,
    isReady: () => client.isReady ?? client.isOpen,
    waitReady: () => until(() => client.isReady ?? client.isOpen, `${name} ready`),
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

interface GlideShape {
  customCommand(args: string[]): Promise<unknown>;
  close(): void;
}

function glideLike(client: GlideShape): Connected {
  return {
    name: 'glide',
    client,
    reportsReadiness: false,
    isReady: () => true,
    waitReady: async () => {
      await until(() => true, 'glide');
      // GLIDE reconnects by itself: wait until a command goes through again.
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          await client.customCommand(['PING']);
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
    close: async () => client.close(),
  };
}

const GLIDE_OPTIONS = {
  requestTimeout: 1000,
  connectionBackoff: { numberOfRetries: 5, factor: 10, exponentBase: 2 },
};

/** A client of `name` connected to the standalone server on `port`. */
export async function connectWith(name: ClientName, port: number): Promise<Connected> {
  const host = '127.0.0.1';
  let connected: Connected;
  switch (name) {
    case 'ioredis':
      connected = ioredisLike(name, new (await ioredis()).Redis({ host, port, ...IOREDIS_OPTIONS }));
      break;
    case 'ioredis auto-pipelining':
      connected = ioredisLike(name, new (await ioredis()).Redis({ host, port, ...IOREDIS_OPTIONS, enableAutoPipelining: true }));
      break;
    case 'iovalkey':
      connected = ioredisLike(name, new (await iovalkey()).Redis({ host, port, ...IOREDIS_OPTIONS }));
      break;
    case 'node-redis': {
      const client = (await nodeRedis()).createClient({
        socket: { host, port, reconnectStrategy: () => 50 },
        disableOfflineQueue: true,
      });
      connected = nodeRedisLike(name, client as unknown as NodeRedisShape);
      await client.connect();
      break;
    }
    case 'node-redis v5': {
      const client = (await nodeRedis5()).createClient({
        socket: { host, port, reconnectStrategy: () => 50 },
        disableOfflineQueue: true,
      });
      connected = nodeRedisLike(name, client as unknown as NodeRedisShape);
      await client.connect();
      break;
    }
    case 'glide':
      connected = glideLike(
        await (await loadGlide()).GlideClient.createClient({ addresses: [{ host, port }], ...GLIDE_OPTIONS }),
      );
      break;
  }
  open.add(connected);
  await connected.waitReady();
  return connected;
}

/** A Cluster client of `name` given the startup nodes. */
export async function connectClusterWith(name: ClientName, nodes: { host: string; port: number }[]): Promise<Connected> {
  let connected: Connected;
  const redisOptions = { maxRetriesPerRequest: 0 };
  switch (name) {
    case 'ioredis':
    case 'ioredis auto-pipelining':
      connected = ioredisLike(
        name,
        new (await ioredis()).Cluster(nodes, {
          enableOfflineQueue: false,
          enableAutoPipelining: name !== 'ioredis',
          redisOptions,
          clusterRetryStrategy: () => 50,
        }),
      );
      break;
    case 'iovalkey':
      connected = ioredisLike(
        name,
        new (await iovalkey()).Cluster(nodes, { enableOfflineQueue: false, redisOptions, clusterRetryStrategy: () => 50 }),
      );
      break;
    case 'node-redis':
    case 'node-redis v5': {
      const make = (name === 'node-redis' ? (await nodeRedis()).createCluster : (await nodeRedis5()).createCluster) as Awaited<
        ReturnType<typeof nodeRedis>
      >['createCluster'];
      const client = make({
        rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
        defaults: { socket: { reconnectStrategy: () => 50 }, disableOfflineQueue: true },
      });
      connected = nodeRedisLike(name, client as unknown as NodeRedisShape);
      await client.connect();
      break;
    }
    case 'glide':
      connected = glideLike(await (await loadGlide()).GlideClusterClient.createClient({ addresses: nodes, ...GLIDE_OPTIONS }));
      break;
  }
  open.add(connected);
  await connected.waitReady();
  return connected;
}

/** The node-redis libraries that have `createSentinel`. */
export type NodeRedisName = 'node-redis' | 'node-redis v5';

/**
 * A node-redis Sentinel (`createSentinel` of v6 or v5) that finds the master `masterName` through
 * `sentinels`, set up as docs/redis.md recommends (no offline queue, quick reconnects); `extra` adds to the
 * options (e.g. `replicaPoolSize`). Resolves once it is ready.
 */
export async function connectSentinelWith(
  name: NodeRedisName,
  sentinels: { host: string; port: number }[],
  masterName: string,
  extra: object = {},
): Promise<Connected> {
  const make = (name === 'node-redis' ? (await nodeRedis()).createSentinel : (await nodeRedis5()).createSentinel) as Awaited<
    ReturnType<typeof nodeRedis>
  >['createSentinel'];
  const client = make({
    name: masterName,
    sentinelRootNodes: sentinels,
    nodeClientOptions: { disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } },
    sentinelClientOptions: { socket: { reconnectStrategy: () => 50 } },
    ...extra,
  });
  const connected: Connected = {
    ...nodeRedisLike(name, client as unknown as NodeRedisShape),
    close: async () => {
      if (client.isOpen) await client.destroy();
    },
  };
  open.add(connected);
  await client.connect();
  await connected.waitReady();
  return connected;
}

export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((c) => c.close().catch(() => {})));
  open.clear();
}
