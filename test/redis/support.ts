/** Shared helpers of the Redis suites: clients with fast reconnects, and the pure-step model. */
import { Cluster, Redis } from 'ioredis';
import type { RedisBoundStore } from '../../adapters/redis/store.js';
import type { RateLimiter } from '../../src/index.js';

/** The settings docs/redis.md recommends, plus a quick reconnect so the fault tests recover fast. */
export const CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => 50,
};

const clients = new Set<Redis | Cluster>();

export async function connect(port: number): Promise<Redis> {
  const client = new Redis({ port, host: '127.0.0.1', ...CLIENT_OPTIONS });
  client.on('error', () => {}); // connection errors are expected in the fault tests
  clients.add(client);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

export async function connectCluster(startupNodes: { host: string; port: number }[]): Promise<Cluster> {
  const client = new Cluster(startupNodes, { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 0 } });
  client.on('error', () => {});
  clients.add(client);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

export async function disconnectAll(): Promise<void> {
  for (const client of clients) client.disconnect();
  clients.clear();
}

export const redisOf = (limiter: RateLimiter): RedisBoundStore => limiter.bound as RedisBoundStore;

/** The pure steps over a Map that forgets nothing: what the Lua twins must agree with. */
export { PureStepModel as Model } from '../rate-limit/pure-step-model.js';

let unique = 0;
/** A fresh prefix per limiter, so runs never see each other's keys. */
export const freshPrefix = (name: string): string => `t${process.pid}:${name}:${unique++}:`;
