/**
 * The Redis store case of the adapter scenarios: a real redis-server started by the suite, one ioredis
 * client, a fresh prefix per store (so tests never see each other's keys), and what the scenarios need to
 * check times decided on Redis's clock without waiting: Redis's `TIME`, and a peek at an explicit time.
 */
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import {
  DEFAULT_TIME_ORIGIN_SECONDS,
  type RedisOnError,
  type RedisStoreEvents,
  type RedisStoreOptions,
  redisStore,
} from '../../adapters/redis/index.js';
import type { RateLimiter, RateLimitStore } from '../../src/index.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { CLIENT_OPTIONS, redisOf } from '../redis/support.js';
import type { StoreCase } from './harness.js';

let unique = 0;

export class RedisStoreCase implements StoreCase {
  readonly name = 'redis';
  readonly realTime = true;
  readonly available = redisAvailable;
  /** Fallbacks of the scenario stores: a scenario that silently ran on `onError` would prove nothing. */
  readonly fallbacks: RedisStoreEvents['fallback'][] = [];
  private server: RedisProcess | undefined;
  private connection: Redis | undefined;

  get redis(): RedisProcess {
    if (this.server === undefined) throw new Error('redis case not started');
    return this.server;
  }

  get client(): Redis {
    if (this.connection === undefined) throw new Error('redis case not started');
    return this.connection;
  }

  async setup(): Promise<void> {
    this.server = await RedisProcess.start();
    const client = new Redis({ port: this.server.port, host: '127.0.0.1', ...CLIENT_OPTIONS });
    client.on('error', () => {}); // the failure scenarios cause connection errors on purpose
    this.connection = client;
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  }

  async teardown(): Promise<void> {
    this.connection?.disconnect();
    this.connection = undefined;
    await this.server?.stop();
    this.server = undefined;
  }

  /** The scenarios' store: fail closed, and every fallback recorded (`afterEach` requires none). */
  store(): RateLimitStore {
    // A healthy local Redis answers in well under a millisecond; the generous timeout only keeps a starved
    // CI machine (two cores running many test files) from turning a slow answer into a fallback.
    const store = this.failingStore('deny', 2_000);
    store.on('fallback', (event) => this.fallbacks.push(event));
    return store;
  }

  /** A store on a fresh prefix with the given `onError`. */
  failingStore(onError: RedisOnError, timeoutMs?: number, more: Partial<RedisStoreOptions> = {}) {
    const prefix = `t${process.pid}:http:${unique++}:`;
    return redisStore(
      timeoutMs === undefined
        ? { client: this.client, prefix, onError, ...more }
        : { client: this.client, prefix, onError, timeoutMs, ...more },
    );
  }

  /** Redis's `TIME` in µs since the store's time origin (the clock its scripts decide on). */
  async nowUs(): Promise<number> {
    const [seconds, micros] = await this.client.time();
    return (Number(seconds) - DEFAULT_TIME_ORIGIN_SECONDS) * 1e6 + Number(micros);
  }

  /** Whether `limiter` would allow a take of `cost` on `key` at Redis time `atUs` (writes nothing). */
  async allowsAt(limiter: RateLimiter, key: string, atUs: number, cost = 1): Promise<boolean> {
    return (await redisOf(limiter).takeAt(key, cost, false, atUs)).allowed;
  }

  /**
   * Sends a request that must be refused and checks its `Retry-After` against Redis's own state, to the
   * second, without waiting: `before`/`after` bracket the (unknown) Redis time of the decision, whose exact
   * wait `w` has `Retry-After - 1 < w <= Retry-After` seconds. So the same take is still refused at
   * `before + Retry-After - 1` s, and allowed at `after + Retry-After` s.
   */
  async expectExactRetryAfter<R extends { status: number; headers: Headers }>(
    limiter: RateLimiter,
    key: string,
    send: () => Promise<R>,
  ): Promise<R> {
    const before = await this.nowUs();
    const reply = await send();
    const after = await this.nowUs();
    expect(reply.status).toBe(429);
    const retryAfter = Number(reply.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(await this.allowsAt(limiter, key, before + (retryAfter - 1) * 1e6)).toBe(false);
    expect(await this.allowsAt(limiter, key, after + retryAfter * 1e6)).toBe(true);
    return reply;
  }
}
