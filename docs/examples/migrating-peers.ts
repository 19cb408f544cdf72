// The "before" side of docs/migrating.md: the peers' own code, run by test/docs/examples.test.ts next to
// the weir versions in docs/examples/migrating.ts. Each `#region` is a sample of docs/migrating.md.
// Delays are the ones the docs show; the calls succeed at once, except in the `*-counts` samples, which
// use zero delays so that they run without waiting.
import type { AddressInfo } from 'node:net';
import fastifyRateLimit from '@fastify/rate-limit';
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ConstantBackoff,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  isBrokenCircuitError,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import express from 'express';
import rateLimit from 'express-rate-limit';
import Fastify from 'fastify';
import CircuitBreaker from 'opossum';
import pRetry, { AbortError } from 'p-retry';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';

/** Stand-ins for an application's HTTP client and cache. */
export interface User {
  id: string;
  name: string;
}
export const fetchUser = async (id: string, init: { signal?: AbortSignal } = {}): Promise<User> => {
  if (init.signal?.aborted) throw init.signal.reason;
  return { id, name: `user ${id}` };
};
/** The same, for functions whose `fetchUser` parameter can replace it (to make it fail). */
export const fetchUserStandIn = fetchUser;
export const cachedUser: User = { id: '?', name: 'cached user' };
export class ValidationError extends Error {}

/** cockatiel: retry + breaker + timeout, composed with wrap. */
export async function cockatielPolicy(request = { signal: new AbortController().signal }): Promise<string[]> {
  const log: string[] = [];
  // #region cockatiel
  const breaker = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  breaker.onBreak(() => log.push('breaker opened'));
  const policy = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 2_000 }) }), // 3 calls
    breaker,
    timeout(2_000, TimeoutStrategy.Aggressive),
  );
  try {
    const user = await policy.execute(({ signal }) => fetchUser('42', { signal }), request.signal);
    log.push(user.name);
  } catch (error) {
    if (isBrokenCircuitError(error)) log.push('circuit open');
    else throw error;
  }
  // #endregion cockatiel
  return log;
}

/** cockatiel's maxAttempts counts retries; its breaker's error class. */
export async function cockatielCounts(): Promise<string[]> {
  const log: string[] = [];
  // #region cockatiel-counts
  let calls = 0;
  const policy = retry(handleAll, { maxAttempts: 3, backoff: new ConstantBackoff(0) });
  await policy
    .execute(() => {
      calls++;
      throw new Error('down');
    })
    .catch(() => {});
  log.push(`cockatiel maxAttempts: 3 made ${calls} calls`); // 4
  // #endregion cockatiel-counts
  const breaker = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(1) });
  await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
  await breaker.execute(() => 'never runs').catch((error) => log.push(`open: ${error instanceof BrokenCircuitError}`));
  return log;
}

/** opossum: a breaker with a built-in timeout and a fallback. */
export async function opossumBreaker(fetchUser: (id: string) => Promise<User> = fetchUserStandIn): Promise<string[]> {
  const log: string[] = [];
  // #region opossum
  const breaker = new CircuitBreaker(fetchUser, {
    timeout: 3_000, // on by default in opossum (10 s)
    errorThresholdPercentage: 50,
    resetTimeout: 30_000,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    volumeThreshold: 10,
    errorFilter: (error) => error instanceof ValidationError, // true: not a failure
  });
  breaker.fallback(() => cachedUser);
  breaker.on('open', () => log.push('breaker opened'));
  // #endregion opossum
  try {
    log.push(((await breaker.fire('42')) as User).name); // `fire` forwards its arguments to fetchUser
  } finally {
    breaker.shutdown(); // opossum keeps an interval per breaker until then
  }
  return log;
}

/** p-retry: 5 retries with exponential backoff. */
export async function pRetryCall(): Promise<string[]> {
  const log: string[] = [];
  // #region p-retry
  const user = await pRetry(() => fetchUser('42'), {
    retries: 5, // 6 calls at most
    minTimeout: 200,
    factor: 2,
    maxTimeout: 2_000,
    randomize: true,
    onFailedAttempt: ({ error, attemptNumber }) => {
      log.push(`attempt ${attemptNumber} failed: ${error.message}`);
    },
    shouldRetry: ({ error }) => !(error instanceof ValidationError),
  });
  // #endregion p-retry
  log.push(user.name);
  return log;
}

/** p-retry's `retries` counts retries; AbortError stops at once. */
export async function pRetryCounts(): Promise<string[]> {
  const log: string[] = [];
  // #region p-retry-counts
  let calls = 0;
  await pRetry(
    () => {
      calls++;
      throw new Error('down');
    },
    { retries: 3, minTimeout: 0 },
  ).catch(() => {});
  log.push(`p-retry retries: 3 made ${calls} calls`); // 4

  calls = 0;
  await pRetry(
    () => {
      calls++;
      throw new AbortError('invalid input'); // never retried
    },
    { retries: 3, minTimeout: 0 },
  ).catch(() => {});
  log.push(`AbortError: ${calls} call`);
  // #endregion p-retry-counts
  return log;
}

/** rate-limiter-flexible: 10 points per second per key. */
export async function rlfConsume(ip = '10.0.0.1'): Promise<string[]> {
  const log: string[] = [];
  // #region rlf
  const limiter = new RateLimiterMemory({ points: 10, duration: 1 }); // fixed window, from the key's first consume
  try {
    const res = await limiter.consume(ip);
    log.push(`allowed, ${res.remainingPoints} left`);
  } catch (rejection) {
    if (rejection instanceof Error) throw rejection; // a store failure
    const retryAfterS = Math.ceil((rejection as RateLimiterRes).msBeforeNext / 1000);
    log.push(`limited, retry after ${retryAfterS} s`);
  }
  // #endregion rlf
  return log;
}

/** What a rejected consume costs in rate-limiter-flexible. */
export async function rlfCounts(): Promise<string[]> {
  const log: string[] = [];
  // #region rlf-counts
  const limiter = new RateLimiterMemory({ points: 10, duration: 60 });
  const consume = (points: number) =>
    limiter.consume('ann', points).then(
      () => 'allowed',
      () => 'rejected',
    );
  log.push(`8: ${await consume(8)}`); // 2 left
  log.push(`5: ${await consume(5)}`); // rejected, and its 5 points are counted anyway
  log.push(`2: ${await consume(2)}`); // rejected: 13 points consumed in this window
  // #endregion rlf-counts
  return log;
}

async function requestThrice(base: string, path: string): Promise<string[]> {
  const log: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${base}${path}`);
    const headers: string[] = [];
    res.headers.forEach((_value, name) => {
      if (/ratelimit|retry-after/i.test(name)) headers.push(name);
    });
    headers.sort();
    log.push(`${res.status} ${headers.join(' ')}`);
    await res.body?.cancel();
  }
  return log;
}

/** express-rate-limit: 2 requests per minute per IP; returns the statuses and rate-limit header names. */
export async function expressRateLimit(): Promise<string[]> {
  const app = express();
  // #region express-rate-limit
  app.use(rateLimit({ windowMs: 60_000, limit: 2, standardHeaders: 'draft-8', legacyHeaders: false }));
  // #endregion express-rate-limit
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return await requestThrice(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** @fastify/rate-limit: 2 requests per minute per IP. */
export async function fastifyRateLimitPlugin(): Promise<string[]> {
  const app = Fastify();
  // #region fastify-rate-limit
  await app.register(fastifyRateLimit, { max: 2, timeWindow: 60_000 });
  // #endregion fastify-rate-limit
  app.get('/', async () => 'ok');
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    return await requestThrice(base, '/');
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const recipe of [cockatielPolicy, cockatielCounts, opossumBreaker, pRetryCall, pRetryCounts, rlfConsume, rlfCounts]) {
    console.log(`${recipe.name}: ${(await recipe()).join('; ')}`);
  }
  for (const recipe of [expressRateLimit, fastifyRateLimitPlugin]) console.log(`${recipe.name}: ${(await recipe()).join('; ')}`);
}
