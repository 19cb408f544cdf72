/**
 * Redis decisions per second: `node --import tsx bench/redis.ts` (starts its own redis-server; ~2 min).
 *
 * 1. Every client library (ioredis with and without `enableAutoPipelining`, iovalkey, node-redis v6 and v5,
 *    Valkey GLIDE), 64 decisions in flight from one Node process over 10 000 keys: a no-op EVALSHA sent
 *    the way that client sends a script (the floor: one round trip that does nothing), then each weir
 *    algorithm on Redis's clock with one script call per take (`coalesce: false`), and the token bucket and
 *    GCRA coalesced (the default), as a ratio to that floor. Peers on ioredis: rate-limiter-flexible's
 *    RateLimiterRedis and express-rate-limit's rate-limit-redis store (when installed).
 * 2. Load: a token bucket with the default options (timeoutMs 100, maxInFlight 256, coalescing) at 64, 400
 *    and 2 000 in flight: decisions per second and how many fell back.
 * 3. A flood on one blocked key, with and without the blocked-key cache.
 * 4. Redis's own cost per decision (`INFO commandstats`, ioredis, 64 in flight): µs of Redis time per
 *    EVALSHA and per decision for the no-op, each algorithm, and a coalesced batch. Redis runs one
 *    command at a time, so this bounds decisions per second on one Redis whatever the client does.
 *
 * All rows of a table come from one run: compare ratios, not absolute numbers, on a shared machine.
 * Each client's cases are measured in turns (BENCH_REDIS_ROUNDS rounds, default 3; the median is reported),
 * so a noisy moment hits every case of a round. BENCH_REDIS_MS sets the time per case and round (default 500).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { redisStore } from '../adapters/redis/index.js';
import { NOOP_LUA } from '../adapters/redis/scripts.js';
import { gcra, type RateLimiter, slidingWindow, tokenBucket } from '../src/index.js';
import { RedisProcess } from '../test/helpers/redis-server.js';
import { CLIENT_NAMES, type ClientName, closeAll, connectWith } from '../test/redis/clients.js';

const CASE_MS = Number(process.env.BENCH_REDIS_MS ?? 500);
/** Cases of one client are measured in turns, this many rounds; the median of each case is reported. */
const ROUNDS = Number(process.env.BENCH_REDIS_ROUNDS ?? 3);
const USERS = 10_000;
const NOOP_SHA = createHash('sha1').update(NOOP_LUA).digest('hex');

type Op = (i: number) => Promise<unknown>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

async function measure(op: Op, inFlight: number, warm = true): Promise<number> {
  // Warm up (scripts loaded, JIT), then count completions for CASE_MS.
  if (warm) for (let i = 0; i < 200; i++) await op(i);
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
const user = (i: number) => `user:${(i * 7919) % USERS}`;

/** The no-op script, sent the way each client sends scripts. */
function floorOf(name: ClientName, client: object): Op {
  if (name.startsWith('ioredis') || name === 'iovalkey') {
    const c = client as Redis;
    if (typeof (c as unknown as Record<string, unknown>).benchNoop !== 'function') {
      c.defineCommand('benchNoop', { numberOfKeys: 1, lua: NOOP_LUA });
    }
    const noop = (c as unknown as { benchNoop(key: string): Promise<unknown> }).benchNoop.bind(c);
    return (i) => noop(user(i));
  }
  if (name === 'glide') {
    const c = client as { customCommand(args: string[]): Promise<unknown> };
    return (i) => c.customCommand(['EVALSHA', NOOP_SHA, '1', user(i)]);
  }
  const c = client as { sendCommand(args: string[]): Promise<unknown> };
  return (i) => c.sendCommand(['EVALSHA', NOOP_SHA, '1', user(i)]);
}

function weir(client: object, make: (store: ReturnType<typeof redisStore>) => RateLimiter, coalesce = false): RateLimiter {
  return make(redisStore({ client, prefix: `bench:${prefixes++}:`, onError: 'allow', timeoutMs: 5000, coalesce }));
}

function algorithms(client: object): [string, Op][] {
  const bucket = weir(client, (store) => tokenBucket({ capacity: 100, refillPerSecond: 100, store }));
  const rate = weir(client, (store) => gcra({ burst: 100, ratePerSecond: 100, store }));
  const counter = weir(client, (store) => slidingWindow({ limit: 100, windowMs: 1000, mode: 'counter', store }));
  const log = weir(client, (store) => slidingWindow({ limit: 100, windowMs: 1000, store }));
  const bucketCoalesced = weir(client, (store) => tokenBucket({ capacity: 100, refillPerSecond: 100, store }), true);
  const rateCoalesced = weir(client, (store) => gcra({ burst: 100, ratePerSecond: 100, store }), true);
  return [
    ['weir token bucket', (i) => bucket.take(user(i))],
    ['weir gcra', (i) => rate.take(user(i))],
    ['weir sliding counter', (i) => counter.take(user(i))],
    ['weir sliding log', (i) => log.take(user(i))],
    ['weir token bucket, coalesce', (i) => bucketCoalesced.take(user(i))],
    ['weir gcra, coalesce', (i) => rateCoalesced.take(user(i))],
  ];
}

async function peers(client: Redis): Promise<[string, Op][]> {
  const rlf = new RateLimiterRedis({ storeClient: client, points: 100, duration: 1, keyPrefix: `rlf${prefixes++}` });
  const out: [string, Op][] = [['rate-limiter-flexible RateLimiterRedis', (i) => rlf.consume(user(i)).catch(() => undefined)]];
  try {
    const { RedisStore } = (await import('rate-limit-redis' as string)) as {
      RedisStore: new (options: object) => { init(o: object): void; increment(key: string): Promise<unknown> };
    };
    const store = new RedisStore({
      sendCommand: (...args: string[]) => client.call(args[0] as string, ...args.slice(1)),
      prefix: `erl${prefixes++}:`,
    });
    store.init({ windowMs: 1000 });
    out.push(['express-rate-limit rate-limit-redis', (i) => store.increment(user(i))]);
  } catch {
    process.stderr.write('rate-limit-redis is not installed: its row is left out\n');
  }
  return out;
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const redis = await RedisProcess.start();
  const lines: string[] = [];
  try {
    lines.push(row(['client', 'case', '64 in flight (decisions/s)', "ratio to the client's floor"]));
    lines.push(row(['---', '---', '---:', '---:']));
    for (const name of CLIENT_NAMES) {
      const connected = await connectWith(name, redis.port);
      const cases: [string, Op][] = [['no-op EVALSHA (floor)', floorOf(name, connected.client)], ...algorithms(connected.client)];
      if (name === 'ioredis' || name === 'ioredis auto-pipelining') cases.push(...(await peers(connected.client as Redis)));
      const rates: number[][] = cases.map(() => []);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, [label, op]] of cases.entries()) {
          const rate = await measure(op, 64, round === 0);
          (rates[i] as number[]).push(rate);
          process.stderr.write(`${name} ${label} (round ${round + 1}): ${fmt(rate)}\n`);
        }
      }
      const floor = median(rates[0] as number[]);
      for (const [i, [label]] of cases.entries()) {
        const rate = median(rates[i] as number[]);
        lines.push(row([name, label, fmt(rate), (rate / floor).toFixed(2)]));
      }
      await connected.close();
    }

    // Load on a healthy Redis: default options (timeoutMs 100, maxInFlight 256, coalescing).
    const connected = await connectWith('ioredis', redis.port);
    lines.push(
      '',
      row(['token bucket on ioredis', 'in flight', 'decisions/s', 'fallbacks', 'of which timeouts', 'of which overloaded']),
    );
    lines.push(row(['---', '---:', '---:', '---:', '---:', '---:']));
    for (const [inFlight, timeoutMs] of [
      [64, 100],
      [400, 100],
      [2000, 100],
      [2000, 1000],
    ] as const) {
      const store = redisStore({ client: connected.client, prefix: `bench:${prefixes++}:`, onError: 'allow', timeoutMs });
      let fallbacks = 0;
      let timeouts = 0;
      let overloaded = 0;
      store.on('fallback', (e) => {
        fallbacks++;
        if (e.cause === 'timeout') timeouts++;
        if (e.cause === 'overloaded') overloaded++;
      });
      const limiter = tokenBucket({ capacity: 100, refillPerSecond: 100, store });
      const rate = await measure((i) => limiter.take(user(i)), inFlight);
      const label = timeoutMs === 100 ? 'default options' : `timeoutMs: ${timeoutMs}`;
      lines.push(row([label, inFlight, fmt(rate), fallbacks, timeouts, overloaded]));
    }

    // Redis's time per decision: the script's own cost, read from INFO commandstats around each case.
    lines.push(
      '',
      row(['Redis time (ioredis, 64 in flight)', 'EVALSHA calls', 'µs per call', 'µs per decision', 'ratio to the no-op']),
      row(['---', '---:', '---:', '---:', '---:']),
    );
    const serverCases: [string, Op][] = [
      ['no-op EVALSHA', floorOf('ioredis', connected.client)],
      ...algorithms(connected.client).filter(([label]) => !label.includes('gcra, coalesce')),
    ];
    let noopUs = 0;
    for (const [label, op] of serverCases) {
      for (let i = 0; i < 200; i++) await op(i);
      const admin = connected.client as Redis;
      await admin.config('RESETSTAT');
      let decisions = 0;
      const counted: Op = async (i) => {
        await op(i);
        decisions++;
      };
      await measure(counted, 64, false);
      const stats = await admin.info('commandstats');
      const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(stats);
      const calls = Number(m?.[1] ?? 0);
      const perDecision = Number(m?.[2] ?? 0) / Math.max(decisions, 1);
      if (noopUs === 0) noopUs = perDecision;
      lines.push(row([label, calls, Number(m?.[3] ?? 0).toFixed(2), perDecision.toFixed(2), (perDecision / noopUs).toFixed(1)]));
    }

    // A flood on one blocked key: every take is refused; with the cache only the first reaches Redis.
    lines.push('', row(['flood on one blocked key (gcra, 64 in flight, ioredis)', 'decisions/s']), row(['---', '---:']));
    for (const size of [0, 1000]) {
      const store = redisStore({
        client: connected.client,
        prefix: `bench:${prefixes++}:`,
        onError: 'allow',
        timeoutMs: 5000,
        blockedCacheSize: size,
      });
      const limiter = gcra({ burst: 1, ratePerSecond: 0.001, store });
      await limiter.take('hot');
      const rate = await measure(() => limiter.take('hot'), 64);
      lines.push(row([size === 0 ? 'no cache' : `blockedCacheSize: ${size}`, fmt(rate)]));
    }
  } finally {
    await closeAll();
    await redis.stop();
  }
  console.log(lines.join('\n'));
}

await main();
