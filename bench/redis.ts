/**
 * Redis decisions per second: `node --import tsx bench/redis.ts` (starts its own redis-server; ~1.5 min).
 *
 * For 1 and 64 decisions in flight from one Node process, with and without ioredis `enableAutoPipelining`:
 * a no-op EVALSHA (the floor: one round trip that does nothing), each weir algorithm on Redis's clock,
 * and rate-limiter-flexible's RateLimiterRedis (a fixed window). Keys are spread over 10 000 users, limits
 * are high enough that most takes pass. Then a flood on one blocked key, with and without weir's
 * blocked-key cache. BENCH_REDIS_MS sets the time per case (default 1500).
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { redisStore } from '../adapters/redis/index.js';
import { NOOP_LUA } from '../adapters/redis/scripts.js';
import { gcra, type RateLimiter, slidingWindow, tokenBucket } from '../src/index.js';
import { RedisProcess } from '../test/helpers/redis-server.js';

const CASE_MS = Number(process.env.BENCH_REDIS_MS ?? 1500);
const USERS = 10_000;

type Op = (i: number) => Promise<unknown>;

async function measure(op: Op, inFlight: number): Promise<number> {
  // Warm up (scripts loaded on the socket, JIT), then count completions for CASE_MS.
  for (let i = 0; i < 200; i++) await op(i);
  let count = 0;
  let seq = 0;
  const end = performance.now() + CASE_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await op(seq++);
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

let prefixes = 0;
function weir(client: Redis, make: (store: ReturnType<typeof redisStore>) => RateLimiter, blockedCacheSize = 0): RateLimiter {
  return make(redisStore({ client, prefix: `bench:${prefixes++}:`, onError: 'allow', timeoutMs: 5000, blockedCacheSize }));
}

function cases(client: Redis): [string, Op][] {
  client.defineCommand('benchNoop', { numberOfKeys: 1, lua: NOOP_LUA });
  const noop = (client as unknown as { benchNoop(key: string): Promise<unknown> }).benchNoop.bind(client);
  const bucket = weir(client, (store) => tokenBucket({ capacity: 100, refillPerSecond: 100, store }));
  const rate = weir(client, (store) => gcra({ burst: 100, ratePerSecond: 100, store }));
  const counter = weir(client, (store) => slidingWindow({ limit: 100, windowMs: 1000, mode: 'counter', store }));
  const log = weir(client, (store) => slidingWindow({ limit: 100, windowMs: 1000, store }));
  const rlf = new RateLimiterRedis({ storeClient: client, points: 100, duration: 1, keyPrefix: `rlf${prefixes++}` });
  const user = (i: number) => `user:${(i * 7919) % USERS}`;
  return [
    ['no-op EVALSHA (floor)', (i) => noop(user(i))],
    ['weir token bucket', (i) => bucket.take(user(i))],
    ['weir gcra', (i) => rate.take(user(i))],
    ['weir sliding counter', (i) => counter.take(user(i))],
    ['weir sliding log', (i) => log.take(user(i))],
    ['rate-limiter-flexible RateLimiterRedis', (i) => rlf.consume(user(i)).catch(() => undefined)],
  ];
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const redis = await RedisProcess.start();
  const lines: string[] = [];
  try {
    lines.push(row(['case', 'pipelining', '1 in flight (ops/s)', 'ratio to floor', '64 in flight (ops/s)', 'ratio to floor']));
    lines.push(row(['---', '---', '---:', '---:', '---:', '---:']));
    for (const autoPipelining of [false, true]) {
      const client = new Redis({
        port: redis.port,
        enableAutoPipelining: autoPipelining,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
      });
      await new Promise((resolve) => client.once('ready', resolve));
      const results: [string, number, number][] = [];
      for (const [name, op] of cases(client)) {
        const one = await measure(op, 1);
        const many = await measure(op, 64);
        results.push([name, one, many]);
        process.stderr.write(`${name} (${autoPipelining ? 'auto' : 'off'}): ${fmt(one)} / ${fmt(many)}\n`);
      }
      const [, floorOne, floorMany] = results[0] as [string, number, number];
      for (const [name, one, many] of results) {
        lines.push(
          row([
            name,
            autoPipelining ? 'auto' : 'off',
            fmt(one),
            (one / floorOne).toFixed(2),
            fmt(many),
            (many / floorMany).toFixed(2),
          ]),
        );
      }
      client.disconnect();
    }

    // A flood on one blocked key: every take is refused; with the cache only the first reaches Redis.
    const client = new Redis({ port: redis.port, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise((resolve) => client.once('ready', resolve));
    lines.push('', row(['flood on one blocked key (gcra, 64 in flight)', 'ops/s']), row(['---', '---:']));
    for (const size of [0, 1000]) {
      const limiter = weir(client, (store) => gcra({ burst: 1, ratePerSecond: 0.001, store }), size);
      await limiter.take('hot');
      const rate = await measure(() => limiter.take('hot'), 64);
      lines.push(row([size === 0 ? 'no cache' : `blockedCacheSize: ${size}`, fmt(rate)]));
    }
    client.disconnect();
  } finally {
    await redis.stop();
  }
  console.log(lines.join('\n'));
}

await main();
