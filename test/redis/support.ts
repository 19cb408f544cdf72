/** Shared helpers of the Redis suites: clients with fast reconnects, and the pure-step model. */
import { Cluster, Redis } from 'ioredis';
import { runRecovering } from '../../adapters/redis/script-client.js';
import { takeCall } from '../../adapters/redis/scripts.js';
import { luaScriptOf, type RedisBoundStore, stepOf } from '../../adapters/redis/store.js';
import type { RateLimitDecision, RateLimiter } from '../../src/index.js';
import { StepResult } from '../../src/rate-limit/algorithms.js';
import { toDecision } from '../../src/rate-limit/store.js';

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

/**
 * A limiter's Redis store, plus the script run at an explicit time (µs since the origin) with no timeout,
 * fallback or cache, so that tests can hold the Lua twins to the pure steps.
 */
export class RedisUnderTest {
  constructor(readonly bound: RedisBoundStore) {}

  async stepAt(key: string, cost: number, consume: boolean, nowUs: number): Promise<StepResult> {
    if (!Number.isSafeInteger(nowUs) || nowUs < 0) throw new RangeError(`stepAt: nowUs must be an integer >= 0, got ${nowUs}`);
    const b = this.bound;
    const call = takeCall(b.algorithm, b.prefix, key, cost, consume, nowUs, b.origin);
    return stepOf(await runRecovering(b.client, luaScriptOf(call), call.keys, call.args), new StepResult());
  }

  async takeAt(key: string, cost: number, consume: boolean, nowUs: number): Promise<RateLimitDecision> {
    return toDecision(this.bound.algorithm, await this.stepAt(key, cost, consume, nowUs));
  }

  keysOf(key: string): string[] {
    return this.bound.keysOf(key);
  }

  get blockedKeys() {
    return this.bound.blockedKeys;
  }
}

export const redisOf = (limiter: RateLimiter): RedisUnderTest => new RedisUnderTest(limiter.bound as RedisBoundStore);

/** The pure steps over a Map that forgets nothing: what the Lua twins must agree with. */
export { PureStepModel as Model } from '../rate-limit/pure-step-model.js';

let unique = 0;
/** A fresh prefix per limiter, so runs never see each other's keys. */
export const freshPrefix = (name: string): string => `t${process.pid}:${name}:${unique++}:`;
