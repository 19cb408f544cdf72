/**
 * A hung Redis on a real redis-server (SIGSTOP: the socket stays open, the client stays 'ready', and
 * ioredis queues whatever is sent): after `suspendAfter` consecutive timeouts the store stops sending and
 * falls back at once ('suspended'), it never has more than `maxInFlight` commands unanswered (more wait
 * for room within their timeout, and fall back as 'overloaded' once Redis has stopped answering), so when Redis resumes only that bounded number of stale takes counts, and decisions
 * return to Redis after `suspendForMs` (one probe first).
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type RedisStoreEvents, type RedisStoreOptions, redisStore } from '../../adapters/redis/index.js';
import { type RateLimitDecision, type RateLimiter, tokenBucket } from '../../src/index.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { connect, disconnectAll, freshPrefix } from './support.js';

/** Far below any timeoutMs used here: a decision that did not wait for Redis. */
const IMMEDIATE_MS = 40;

describe.skipIf(!redisAvailable)('a hung Redis', () => {
  let redis: RedisProcess;
  let client: Redis;
  /** Scripts sent to Redis (EVALSHA, or EVAL on a script's first use). */
  let scriptsSent = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await RedisProcess.start();
    client = await connect(redis.port);
    const send = client.sendCommand;
    client.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
      const name = args[0].name.toLowerCase();
      if (name === 'evalsha' || name === 'eval') scriptsSent++;
      return send.apply(this, args);
    } as Redis['sendCommand'];
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await disconnectAll();
    await redis?.stop();
  });
  beforeEach(() => {
    redis.resume();
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });

  function setup(options: Partial<RedisStoreOptions>) {
    // One script call per take: these count commands on the wire (coalescing batches them).
    const store = redisStore({ client, prefix: freshPrefix('hung'), onError: 'allow', coalesce: false, ...options });
    const limiter = tokenBucket({ capacity: 1000, refillPerSecond: 1, store });
    const fallbacks: RedisStoreEvents['fallback'][] = [];
    const recoveries: RedisStoreEvents['recovered'][] = [];
    store.on('fallback', (e) => fallbacks.push(e));
    store.on('recovered', (e) => recoveries.push(e));
    return { limiter, fallbacks, recoveries };
  }

  async function timed(limiter: RateLimiter): Promise<{ decision: RateLimitDecision; ms: number }> {
    const start = performance.now();
    const decision = await limiter.take('k');
    return { decision, ms: performance.now() - start };
  }

  /** Resumes Redis and waits until every command queued on the connection has been answered. */
  async function resumeAndDrain(): Promise<void> {
    redis.resume();
    await client.ping(); // one connection, answered in order: the stale scripts ran before this
  }

  /** Takes every 20 ms until Redis decides again (no fallback); returns that decision and when it came. */
  async function untilRedisDecides(
    limiter: RateLimiter,
    fallbacks: unknown[],
  ): Promise<{ decision: RateLimitDecision; at: number }> {
    for (let i = 0; i < 200; i++) {
      const before = fallbacks.length;
      const decision = await limiter.take('k');
      if (fallbacks.length === before) return { decision, at: performance.now() };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('decisions never returned to Redis');
  }

  test('the reviewer repro (defaults, timeoutMs 50, 5000 takes while paused): the budget survives the resume', async () => {
    const { limiter, fallbacks, recoveries } = setup({ timeoutMs: 50 });
    expect(await limiter.take('k')).toMatchObject({ allowed: true, remaining: 999 });
    const sentBefore = scriptsSent;
    const pausedAt = performance.now();
    redis.pause();
    let burst: RateLimitDecision[];
    let later: { decision: RateLimitDecision; ms: number }[];
    try {
      burst = await Promise.all(Array.from({ length: 5000 }, () => limiter.take('k')));
      // Every command of the burst timed out: the store is suspended, and sends nothing more.
      later = [];
      for (let i = 0; i < 100; i++) later.push(await timed(limiter));
    } finally {
      await resumeAndDrain();
    }
    const sent = scriptsSent - sentBefore;
    expect(burst.every((d) => d.allowed)).toBe(true);
    expect(sent).toBe(256); // the default maxInFlight; the rest fell back without sending
    const causes = fallbacks.map((f) => f.cause);
    expect(causes.filter((c) => c === 'timeout')).toHaveLength(256);
    expect(causes.filter((c) => c === 'overloaded')).toHaveLength(5000 - 256);
    expect(causes.slice(5000)).toEqual(Array(100).fill('suspended'));
    for (const r of later) expect(r.ms).toBeLessThan(IMMEDIATE_MS);
    // Still within the 1 s pause: the first decision after the resume does not go to Redis yet.
    expect(fallbacks.length).toBe(5100);
    await limiter.take('k');
    expect(fallbacks.at(-1)?.cause).toBe('suspended');
    // Suspended at the third timeout, which expired on the store's clock no earlier than timeoutMs after its
    // send, itself after the pause. (A fallback listener's own clock read comes after the store's, so it is
    // not a sound anchor.)
    const { decision, at } = await untilRedisDecides(limiter, fallbacks);
    expect(at - pausedAt).toBeGreaterThanOrEqual(50 + 1000);
    // Only the 256 stale takes counted (plus up to 3 units refilled meanwhile); before the fix all 5000
    // queued and this take was refused with retryAfterMs ≈ 998 000.
    expect(decision.allowed).toBe(true);
    expect(decision.remaining).toBeGreaterThanOrEqual(1000 - 1 - 256 - 1);
    expect(decision.remaining).toBeLessThanOrEqual(1000 - 1 - 256 - 1 + 3);
    expect(scriptsSent - sentBefore).toBe(256 + 1);
    expect(recoveries).toHaveLength(1);
  });

  test('a steady stream: after suspendAfter timeouts decisions fall back at once; probes are single; Redis decides after the pause', async () => {
    const timeoutMs = 150;
    const { limiter, fallbacks } = setup({ timeoutMs, suspendAfter: 3, suspendForMs: 400 });
    expect((await limiter.take('k')).allowed).toBe(true);
    const sentBefore = scriptsSent;
    redis.pause();
    const results: { decision: RateLimitDecision; ms: number }[] = [];
    try {
      for (let i = 0; i < 3; i++) results.push(await timed(limiter));
      const suspendedAt = performance.now();
      // 700 ms of traffic, one take every 5 ms: one probe after 400 ms (it times out too), the rest at once.
      while (performance.now() - suspendedAt < 700) {
        results.push(await timed(limiter));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      await resumeAndDrain();
    }
    const causes = fallbacks.map((f) => f.cause);
    expect(causes.slice(0, 3)).toEqual(['timeout', 'timeout', 'timeout']);
    for (const r of results.slice(0, 3)) expect(r.ms).toBeGreaterThanOrEqual(timeoutMs - 1);
    // After the three timeouts: one probe (a timeout), everything else suspended and immediate.
    const rest = causes.slice(3);
    expect(rest.filter((c) => c === 'timeout')).toHaveLength(1);
    expect(rest.filter((c) => c !== 'timeout').every((c) => c === 'suspended')).toBe(true);
    const slow = results.slice(3).filter((r) => r.ms >= IMMEDIATE_MS);
    expect(slow).toHaveLength(1); // the probe waited timeoutMs
    expect(scriptsSent - sentBefore).toBe(4);
    // Redis is back; after the probe's pause, decisions are Redis's again, and only 4 stale takes counted.
    const { decision } = await untilRedisDecides(limiter, fallbacks);
    expect(decision.allowed).toBe(true);
    expect(decision.remaining).toBeGreaterThanOrEqual(1000 - 1 - 4 - 1);
    expect(decision.remaining).toBeLessThanOrEqual(1000 - 1 - 4 - 1 + 3);
  });

  test('maxInFlight caps unanswered commands: the rest wait within timeoutMs, and fall back at once once Redis stopped answering', async () => {
    const { limiter, fallbacks } = setup({ timeoutMs: 200, maxInFlight: 10, suspendAfter: Number.POSITIVE_INFINITY });
    expect((await limiter.take('k')).allowed).toBe(true);
    const sentBefore = scriptsSent;
    redis.pause();
    let first: { decision: RateLimitDecision; ms: number }[];
    let second: { decision: RateLimitDecision; ms: number }[];
    try {
      first = await Promise.all(Array.from({ length: 100 }, () => timed(limiter)));
      // Timed out, but still unanswered on the hung socket: they still hold the wire, and now the node has
      // stopped answering, so more decisions fall back without waiting.
      second = await Promise.all(Array.from({ length: 20 }, () => timed(limiter)));
    } finally {
      await resumeAndDrain();
    }
    expect(scriptsSent - sentBefore).toBe(10);
    // 10 on the wire time out; 90 waited for room that never came, and fell back at their deadline.
    expect(first.filter((r) => r.ms >= 200 - 1)).toHaveLength(100);
    for (const r of second) expect(r.ms).toBeLessThan(IMMEDIATE_MS);
    expect(fallbacks.map((f) => f.cause).sort()).toEqual([...Array(110).fill('overloaded'), ...Array(10).fill('timeout')]);
    // Answered now: the next take goes to Redis (suspendAfter: Infinity never suspends).
    const before = fallbacks.length;
    const after = await limiter.take('k');
    expect(fallbacks.length).toBe(before);
    expect(after.allowed).toBe(true);
    expect(after.remaining - (1000 - 1 - 10 - 1)).toBeOneOf([0, 1, 2]);
  });
  test('a healthy Redis decides every decision at 2 000 in flight with the default maxInFlight (no fallback)', async () => {
    const { limiter, fallbacks } = setup({ timeoutMs: 2000 });
    const sentBefore = scriptsSent;
    let sequence = 0;
    const decisions = await Promise.all(
      Array.from({ length: 2000 }, async () => {
        const out: RateLimitDecision[] = [];
        for (let i = 0; i < 5; i++) out.push(await limiter.take(`user:${sequence++ % 500}`));
        return out;
      }),
    );
    expect(fallbacks).toEqual([]);
    expect(decisions.flat().every((d) => d.allowed)).toBe(true);
    expect(scriptsSent - sentBefore).toBe(10_000);
  });
});
