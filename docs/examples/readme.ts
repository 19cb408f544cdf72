// The README's quick starts for each use (compose, Express, Fastify, fetch, Redis), runnable and run by
// test/docs/readme.test.ts. Each region is copied into README.md (test/docs/samples.test.ts checks it).
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { rateLimit as expressRateLimit, loadShedding } from '../../adapters/express/index.js';
import weir from '../../adapters/fastify/index.js';
import { resilientFetch } from '../../adapters/fetch/index.js';
import { redisStore } from '../../adapters/redis/index.js';
import {
  bulkhead,
  circuitBreaker,
  compose,
  exponentialBackoff,
  fallback,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
} from '../../src/index.js';

/** A dependency that fails now and then, standing in for a real client. */
const inventory = {
  calls: 0,
  async stock(sku: string, signal: AbortSignal): Promise<number> {
    this.calls++;
    if (signal.aborted) throw signal.reason;
    if (this.calls % 3 === 1) throw new Error('inventory: connection reset');
    return sku.length;
  },
};

export async function composeSample(): Promise<unknown[]> {
  // #region compose
  // Outermost first: fallback → retry → circuit breaker → rate limit → bulkhead → timeout → your function.
  const resilient = compose(
    fallback(-1),
    retry({ maxAttempts: 3, backoff: exponentialBackoff({ initialMs: 10, maxMs: 200 }) }),
    circuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 20, openDurationMs: 5_000 }),
    rateLimit(tokenBucket({ capacity: 100, refillPerSecond: 50 })),
    bulkhead({ maxConcurrent: 10, maxQueue: 100 }),
    timeout(1_000),
  );
  // Type: (sku: string) => Promise<number>; the timeout's signal reaches the work.
  const stockOf = resilient.withContext((ctx, sku: string) => inventory.stock(sku, ctx.signal));
  const level = await stockOf('sku-42'); // 6: the first attempt failed, the retry succeeded
  // #endregion compose
  return [level, inventory.calls];
}

export async function expressSample(): Promise<unknown[]> {
  // #region express
  const app = express();
  app.set('trust proxy', 'loopback'); // req.ip from your proxy's X-Forwarded-For; weir never reads it itself
  app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 200 }) })); // 503 + Retry-After when full
  app.use(expressRateLimit({ limiter: tokenBucket({ capacity: 2, refillPerSecond: 1 }), name: 'api' }));
  app.get('/hello', (_req, res) => {
    res.send('hello');
  });
  // #endregion express
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hello`;
    const statuses: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url);
      statuses.push(res.status, res.headers.get('ratelimit'));
      await res.body?.cancel();
    }
    return statuses;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

export async function fastifySample(): Promise<unknown[]> {
  // #region fastify
  const app = Fastify({ trustProxy: '127.0.0.1' });
  await app.register(weir, {
    rateLimit: { limiter: tokenBucket({ capacity: 2, refillPerSecond: 1 }), name: 'api' },
    loadShedding: { bulkhead: bulkhead({ maxConcurrent: 200 }) },
  });
  app.get('/hello', async () => 'hello');
  app.get('/health', { config: { rateLimit: false, loadShedding: false } }, async () => 'ok');
  // #endregion fastify
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const statuses: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/hello`);
      statuses.push(res.status);
      await res.body?.cancel();
    }
    return statuses;
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
}

export async function fetchSample(origin: string): Promise<unknown[]> {
  // #region fetch
  // Same signature and types as fetch. Retries idempotent requests on network errors, 408, 429 and 5xx,
  // honouring Retry-After; one circuit breaker per origin; 2 s per attempt, 5 s in all.
  const http = resilientFetch({
    timeoutMs: 2_000,
    deadlineMs: 5_000,
    retry: { maxAttempts: 3, maxDelayMs: 10_000 },
    circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 10 },
  });
  const res = await http(`${origin}/orders/42`, { headers: { accept: 'application/json' } });
  // #endregion fetch
  return [res.status, await res.json()];
}

export async function redisSample(redisUrl: string): Promise<unknown[]> {
  // #region redis
  // Shared by every process that uses this Redis (or Redis Cluster), decided on Redis's own clock.
  const client = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await client.connect();
  const perUser = tokenBucket({
    capacity: 10,
    refillPerSecond: 1,
    // If Redis is down or slow (over 100 ms), let requests through and report it.
    store: redisStore({ client, prefix: 'rl:api:', onError: 'allow', timeoutMs: 100 }),
  });
  const decision = await perUser.take('user:42');
  // #endregion redis
  client.disconnect();
  return [decision.allowed, decision.remaining, decision.limit];
}
