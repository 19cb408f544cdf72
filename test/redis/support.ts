/** Shared helpers of the Redis suites: clients with fast reconnects, and the pure-step model. */
import { Cluster, Redis } from 'ioredis';
import type { RedisBoundStore } from '../../adapters/redis/store.js';
import {
  type AlgorithmConfig,
  type RateLimitAlgorithm,
  type RateLimitDecision,
  type RateLimiter,
  runFixedStep,
  StepResult,
  slidingLogStep,
  toDecision,
} from '../../src/index.js';

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
export class Model {
  readonly fixed = new Map<string, number[]>();
  readonly logs = new Map<string, { times: number[]; costs: number[]; head: number; total: number }>();
  private readonly out = new StepResult();
  private readonly config: AlgorithmConfig;
  constructor(private readonly algorithm: RateLimitAlgorithm) {
    this.config = algorithm.config;
  }
  take(key: string, cost: number, now: number, consume: boolean): RateLimitDecision {
    return toDecision(this.algorithm, this.step(key, cost, now, consume));
  }
  /** The step's decision fields in µs (what the Lua script returns). */
  step(key: string, cost: number, now: number, consume: boolean): StepResult {
    const out = this.out;
    const write = consume && cost > 0;
    if (this.config.kind === 'sliding-window-log') {
      const log = this.logs.get(key) ?? { times: [], costs: [], head: 0, total: 0 };
      slidingLogStep(log, now, cost, this.config, out);
      if (out.allowed && write) {
        for (let i = 0; i < out.drop; i++) log.total -= log.costs[log.head++] as number;
        log.times.push(now);
        log.costs.push(cost);
        log.total += cost;
        this.logs.set(key, log);
      }
    } else {
      const state = this.fixed.get(key) ?? [0, 0, 0];
      runFixedStep(this.config, state, 0, now, cost, out);
      if (out.allowed && write) this.fixed.set(key, [out.s0, out.s1, out.s2]);
    }
    return out;
  }
  reset(key: string): void {
    this.fixed.delete(key);
    this.logs.delete(key);
  }
}

let unique = 0;
/** A fresh prefix per limiter, so runs never see each other's keys. */
export const freshPrefix = (name: string): string => `t${process.pid}:${name}:${unique++}:`;
