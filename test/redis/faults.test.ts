/**
 * Faults on a real redis-server, for every client library and each onError mode: paused (SIGSTOP:
 * connections open, no answers), killed mid-traffic, restarted empty, SCRIPT FLUSH, CLIENT KILL, and out of
 * memory (`maxmemory` with `noeviction`: scripts that write fail with OOM). Every decision settles (by Redis
 * or by onError), none later than timeoutMs plus scheduling slack, nothing is unhandled, and decisions return
 * to Redis when it does (a `recovered` event) without touching the store.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type RedisStoreEvents, redisStore } from '../../adapters/redis/index.js';
import { type RateLimitDecision, type RateLimiter, tokenBucket } from '../../src/index.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { CLIENT_NAMES, type Connected, closeAll, connectWith } from './clients.js';
import { connect, disconnectAll, freshPrefix } from './support.js';

const TIMEOUT_MS = 100;
/** Generous slack for a loaded CI machine: a decision must never wait for Redis's recovery. */
const SLACK_MS = 900;
/** After 3 failures in a row (the default suspendAfter) the store stops sending for this long. */
const SUSPEND_FOR_MS = 200;

type Mode = 'allow' | 'deny' | 'limiter';

function waitFor(client: Redis, status: string): Promise<void> {
  return new Promise((resolve) => {
    if (client.status === status) resolve();
    else {
      const check = () => {
        if (client.status === status) {
          client.off(status, check);
          resolve();
        }
      };
      client.on(status, check);
    }
  });
}

describe.skipIf(!redisAvailable).each(CLIENT_NAMES)('faults (%s)', (clientName) => {
  let redis: RedisProcess;
  /** The store's client. */
  let connected: Connected;
  /** The tests' own connection (CLIENT KILL spares it). */
  let admin: Redis;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await RedisProcess.start();
    connected = await connectWith(clientName, redis.port);
    admin = await connect(redis.port);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await closeAll();
    await disconnectAll();
    await redis?.stop();
  });
  beforeEach(async () => {
    redis.resume();
    await connected.waitReady();
    if (admin.status !== 'ready') await waitFor(admin, 'ready');
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });

  function setup(mode: Mode) {
    const local = tokenBucket({ capacity: 2, refillPerSecond: 0.001 });
    const store = redisStore({
      client: connected.client,
      prefix: freshPrefix(`fault-${mode}`),
      onError: mode === 'limiter' ? local : mode,
      timeoutMs: TIMEOUT_MS,
      suspendForMs: SUSPEND_FOR_MS,
    });
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 0.001, store });
    const fallbacks: RedisStoreEvents['fallback'][] = [];
    const recoveries: RedisStoreEvents['recovered'][] = [];
    /** When each timeout fell back: the third one suspends the store. */
    const timeoutAt: number[] = [];
    store.on('fallback', (e) => {
      fallbacks.push(e);
      if (e.cause === 'timeout') timeoutAt.push(performance.now());
    });
    store.on('recovered', (e) => recoveries.push(e));
    return { limiter, fallbacks, recoveries, timeoutAt };
  }

  /** Takes and measures how long the decision took. */
  async function timed(limiter: RateLimiter, key: string): Promise<{ decision: RateLimitDecision; ms: number }> {
    const start = performance.now();
    const decision = await limiter.take(key);
    return { decision, ms: performance.now() - start };
  }

  /** Takes every 20 ms until Redis decides again (no fallback); returns that decision. */
  async function untilRedisDecides(limiter: RateLimiter, fallbacks: unknown[], key: string): Promise<RateLimitDecision> {
    for (let i = 0; i < 500; i++) {
      const before = fallbacks.length;
      const decision = await limiter.take(key);
      if (fallbacks.length === before) return decision;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('decisions never returned to Redis');
  }

  function expectFallbackDecisions(mode: Mode, decisions: RateLimitDecision[]): void {
    if (mode === 'allow') for (const d of decisions) expect(d).toMatchObject({ allowed: true, reason: undefined });
    if (mode === 'deny')
      for (const d of decisions) expect(d).toMatchObject({ allowed: false, reason: 'limit', retryAfterMs: 1000 });
    // The local limiter (capacity 2, no refill to speak of) decides: 2 allowed, then refused.
    if (mode === 'limiter') expect(decisions.map((d) => d.allowed)).toEqual(decisions.map((_, i) => i < 2));
  }

  for (const mode of ['allow', 'deny', 'limiter'] as const) {
    describe(`onError: ${mode}`, () => {
      test('paused Redis (SIGSTOP): decisions time out into onError, then return to Redis on resume', async () => {
        const { limiter, fallbacks, recoveries, timeoutAt } = setup(mode);
        expect((await limiter.take('k')).allowed).toBe(true);
        redis.pause();
        let results: { decision: RateLimitDecision; ms: number }[];
        try {
          results = await Promise.all([timed(limiter, 'k'), timed(limiter, 'k'), timed(limiter, 'k')]);
        } finally {
          redis.resume();
        }
        for (const r of results) expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        expectFallbackDecisions(
          mode,
          results.map((r) => r.decision),
        );
        expect(fallbacks.map((f) => f.cause)).toEqual(['timeout', 'timeout', 'timeout']);
        expect(fallbacks[0]).toMatchObject({ key: 'k', cost: 1, action: mode });
        // Three timeouts in a row: the store sends nothing for SUSPEND_FOR_MS, even though Redis is back.
        const start = timeoutAt.at(-1) as number;
        await limiter.take('k');
        expect(fallbacks.map((f) => f.cause)).toEqual(['timeout', 'timeout', 'timeout', 'suspended']);
        // Then a probe goes to Redis, and decisions are Redis's again. The 3 paused takes reached Redis
        // late and counted there (1 + 3 + this one: 5 of 5).
        let after: RateLimitDecision | undefined;
        while (after === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const before = fallbacks.length;
          const decision = await limiter.take('k');
          if (fallbacks.length === before) after = decision;
        }
        expect(performance.now() - start).toBeGreaterThanOrEqual(SUSPEND_FOR_MS - 1);
        expect(after).toMatchObject({ allowed: true, limit: 5, remaining: 0 });
        expect(fallbacks.slice(3).every((f) => f.cause === 'suspended')).toBe(true);
        expect(recoveries).toEqual([{ fallbacks: fallbacks.length }]);
      });

      test('killed mid-traffic, then restarted empty: every take settles, then Redis decides again', async () => {
        const { limiter, fallbacks, recoveries } = setup(mode);
        for (let i = 0; i < 5; i++) await limiter.take('spent');
        expect((await limiter.take('spent')).allowed).toBe(false);
        // Restarting Redis spawns a process from this one; on a loaded machine that blocks the event loop for
        // up to a second (measured), during which nothing can settle. The bound below discounts that block.
        const loopDelay = monitorEventLoopDelay({ resolution: 10 });
        loopDelay.enable();
        // 32 loops take continuously while Redis is killed under them.
        let stop = false;
        let slowest = 0;
        let settled = 0;
        const loops = Array.from({ length: 32 }, async (_, i) => {
          while (!stop) {
            const r = await timed(limiter, `k${i % 7}`);
            slowest = Math.max(slowest, r.ms);
            settled++;
            // A fallback answers without I/O: yield so the loop cannot starve the event loop.
            await new Promise((resolve) => setImmediate(resolve));
          }
        });
        await new Promise((r) => setTimeout(r, 30));
        await redis.kill();
        try {
          const down: { decision: RateLimitDecision; ms: number }[] = [];
          if (connected.reportsReadiness) {
            while (connected.isReady()) await new Promise((resolve) => setTimeout(resolve, 5));
            // While Redis is down the client is not ready: onError decides at once, with no round trip.
            down.push(...(await Promise.all([timed(limiter, 'd'), timed(limiter, 'd'), timed(limiter, 'd')])));
            expect(fallbacks.filter((f) => f.key === 'd').map((f) => f.cause)).toEqual(['not-ready', 'not-ready', 'not-ready']);
          } else {
            // A client that does not report its connection: errors and timeouts, then suspension.
            down.push(...(await Promise.all([timed(limiter, 'd'), timed(limiter, 'd'), timed(limiter, 'd')])));
            for (const f of fallbacks.filter((f) => f.key === 'd')) expect(['error', 'timeout', 'suspended']).toContain(f.cause);
          }
          for (const r of down) expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
          if (mode !== 'limiter')
            expectFallbackDecisions(
              mode,
              down.map((r) => r.decision),
            );
          // Errors in a row suspend the store; a decision that finds the client not ready ends that.
          for (const f of fallbacks) expect(['not-ready', 'error', 'timeout', 'suspended']).toContain(f.cause);
        } finally {
          await redis.restart();
        }
        await connected.waitReady();
        stop = true;
        await Promise.all(loops);
        loopDelay.disable();
        expect(settled).toBeGreaterThan(32);
        expect(slowest - loopDelay.max / 1e6).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        // Empty: the spent key is full again (the client loads the scripts on the new server by itself).
        expect(await untilRedisDecides(limiter, fallbacks, 'spent')).toMatchObject({ allowed: true, remaining: 4 });
        expect(recoveries.length).toBeGreaterThanOrEqual(1);
      });

      test('SCRIPT FLUSH: the client reloads the scripts (NOSCRIPT, then EVAL); no decision falls back', async () => {
        const { limiter, fallbacks } = setup(mode);
        expect((await limiter.take('k')).remaining).toBe(4);
        await admin.script('FLUSH');
        const [a, b] = await Promise.all([limiter.take('k'), limiter.take('k')]);
        expect([a.remaining, b.remaining].sort()).toEqual([2, 3]);
        expect(fallbacks).toEqual([]);
      });

      test('CLIENT KILL: the connection drops mid-traffic; every take settles, then Redis decides again', async () => {
        const { limiter, fallbacks } = setup(mode);
        expect((await limiter.take('k')).allowed).toBe(true);
        let stop = false;
        let slowest = 0;
        const loops = Array.from({ length: 16 }, async (_, i) => {
          while (!stop) {
            const r = await timed(limiter, `c${i % 5}`);
            slowest = Math.max(slowest, r.ms);
            await new Promise((resolve) => setImmediate(resolve));
          }
        });
        await new Promise((r) => setTimeout(r, 20));
        await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        await new Promise((r) => setTimeout(r, 50));
        await connected.waitReady();
        stop = true;
        await Promise.all(loops);
        expect(slowest).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        for (const f of fallbacks) expect(['not-ready', 'error', 'timeout', 'suspended']).toContain(f.cause);
        await untilRedisDecides(limiter, fallbacks, 'k');
      });

      test('out of memory (maxmemory, noeviction): writes fail with OOM, onError decides, then Redis again', async () => {
        const { limiter, fallbacks } = setup(mode);
        expect((await limiter.take('k')).allowed).toBe(true);
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1');
        let decisions: RateLimitDecision[];
        try {
          decisions = [];
          for (let i = 0; i < 3; i++) decisions.push(await limiter.take('oom'));
        } finally {
          await admin.config('SET', 'maxmemory', '0');
        }
        // Every write is refused with OOM (on a loaded machine one may time out first, and the store suspends).
        expect(fallbacks).toHaveLength(3);
        for (const f of fallbacks) expect(['error', 'timeout', 'suspended']).toContain(f.cause);
        expect(String(fallbacks.find((f) => f.cause === 'error')?.error)).toMatch(/OOM/);
        expectFallbackDecisions(mode, decisions);
        // Three errors in a row suspended the store: Redis decides again after SUSPEND_FOR_MS.
        // The refused writes did not count (3 left after this take); a probe that timed out on a loaded
        // machine may still have counted when it ran.
        const after = await untilRedisDecides(limiter, fallbacks, 'k');
        expect(after.allowed).toBe(true);
        expect(after.remaining).toBeLessThanOrEqual(3);
      });
    });
  }

  // ioredis's lazyConnect: a client object that exists before any connection (the others connect first).
  if (clientName === 'ioredis') {
    test('a client that never connected (lazyConnect) fails fast and starts connecting', async () => {
      const lazy = await connectLazy(redis.port);
      const store = redisStore({ client: lazy, prefix: freshPrefix('lazy'), onError: 'allow' });
      const causes: string[] = [];
      store.on('fallback', (e) => causes.push(e.cause));
      const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store });
      expect((await limiter.take('k')).allowed).toBe(true);
      expect(causes).toEqual(['not-ready']);
      await waitFor(lazy, 'ready');
      expect((await limiter.take('k')).allowed).toBe(true);
      expect((await limiter.take('k')).allowed).toBe(false);
      lazy.disconnect();
    });
  }

  test('reset rejects (never hangs) when Redis is down', async () => {
    const { limiter } = setup('allow');
    redis.pause();
    try {
      await expect(limiter.reset('k')).rejects.toThrow(/no answer within 100 ms/);
    } finally {
      redis.resume();
    }
  });
});

async function connectLazy(port: number): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  return client;
}
