// The weir side of docs/migrating.md: each `#region` is a sample of the page, and test/docs/examples.test.ts
// runs every function here next to its peer in docs/examples/migrating-peers.ts and compares what they do.
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { rateLimit } from '../../adapters/express/index.js';
import weir from '../../adapters/fastify/index.js';
import {
  circuitBreaker,
  compose,
  exponentialBackoff,
  fallback,
  isCircuitOpenError,
  markNonRetryable,
  retry,
  slidingWindow,
  timeout,
} from '../../src/index.js';
import { cachedUser, fetchUser, fetchUserStandIn, type User, ValidationError } from './migrating-peers.js';

/** From cockatiel: the same retry + breaker + timeout. */
export async function fromCockatiel(request = { signal: new AbortController().signal }): Promise<string[]> {
  const log: string[] = [];
  // #region from-cockatiel
  const breaker = circuitBreaker({ consecutiveFailures: 5, failureRateThreshold: 1, openDurationMs: 10_000 });
  breaker.on('stateChange', ({ to }) => {
    if (to === 'open') log.push('breaker opened');
  });
  const policy = compose(
    retry({ maxAttempts: 3, backoff: exponentialBackoff({ initialMs: 200, maxMs: 2_000, jitter: 'decorrelated' }) }), // 3 calls
    breaker,
    timeout(2_000), // aggressive by default
  );
  try {
    const user = await policy.execute(({ signal }) => fetchUser('42', { signal }), request.signal);
    log.push(user.name);
  } catch (error) {
    if (isCircuitOpenError(error)) log.push('circuit open');
    else throw error;
  }
  // #endregion from-cockatiel
  return log;
}

/** weir's maxAttempts counts calls; markNonRetryable is p-retry's AbortError; the breaker's error class. */
export async function weirCounts(): Promise<string[]> {
  const log: string[] = [];
  // #region counts
  let calls = 0;
  const policy = retry({ maxAttempts: 3, backoff: 0 });
  await policy
    .execute(() => {
      calls++;
      throw new Error('down');
    })
    .catch(() => {});
  log.push(`weir maxAttempts: 3 made ${calls} calls`); // 3

  calls = 0;
  await policy
    .execute(() => {
      calls++;
      throw markNonRetryable(new Error('invalid input')); // never retried
    })
    .catch(() => {});
  log.push(`markNonRetryable: ${calls} call`);
  // #endregion counts
  const breaker = circuitBreaker({ consecutiveFailures: 1 });
  await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
  await breaker.execute(() => 'never runs').catch((error) => log.push(`open: ${isCircuitOpenError(error)}`));
  return log;
}

/** From opossum: a breaker, a timeout and a fallback, composed. */
export async function fromOpossum(fetchUser: (id: string) => Promise<User> = fetchUserStandIn): Promise<string[]> {
  const log: string[] = [];
  // #region from-opossum
  const breaker = circuitBreaker({
    window: { type: 'time', durationMs: 10_000, buckets: 10 }, // rollingCountTimeout, rollingCountBuckets
    failureRateThreshold: 0.5, // errorThresholdPercentage: 50
    minimumCalls: 10, // volumeThreshold
    openDurationMs: 30_000, // resetTimeout
    isFailure: (error) => !(error instanceof ValidationError), // errorFilter, inverted
  });
  breaker.on('stateChange', ({ to }) => {
    if (to === 'open') log.push('breaker opened');
  });
  const getUser = compose(
    fallback(() => cachedUser, { when: (error) => !(error instanceof ValidationError) }), // opossum skips the fallback for filtered errors
    breaker,
    timeout(3_000), // opossum's built-in timeout
  )(fetchUser);
  const user = await getUser('42');
  // #endregion from-opossum
  log.push(user.name);
  return log;
}

/** From p-retry. */
export async function fromPRetry(): Promise<string[]> {
  const log: string[] = [];
  // #region from-p-retry
  const policy = retry({
    maxAttempts: 6, // p-retry's retries: 5
    backoff: exponentialBackoff({ initialMs: 200, factor: 2, maxMs: 2_000, jitter: 'full' }),
    retryOn: (error) => !(error instanceof ValidationError),
  });
  policy.on('retry', ({ attempt, delayMs }) => log.push(`attempt ${attempt} failed, next in ${delayMs} ms`));
  const user = await policy(() => fetchUser('42'))();
  // #endregion from-p-retry
  log.push(user.name);
  return log;
}

/** From rate-limiter-flexible: a limiter's decision is a value, never a rejection. */
export async function fromRateLimiterFlexible(ip = '10.0.0.1'): Promise<string[]> {
  const log: string[] = [];
  // #region from-rlf
  const limiter = slidingWindow({ limit: 10, windowMs: 1_000 }); // at most 10 in any second
  const decision = await limiter.take(ip); // rejects only when the store fails
  if (decision.allowed) log.push(`allowed, ${decision.remaining} left`);
  else log.push(`limited, retry after ${Math.ceil(decision.retryAfterMs / 1000)} s`);
  // #endregion from-rlf
  return log;
}

/** A refused take consumes nothing. */
export async function weirRefusedTakes(): Promise<string[]> {
  const log: string[] = [];
  // #region refused-takes
  const limiter = slidingWindow({ limit: 10, windowMs: 60_000 });
  const take = async (cost: number) => ((await limiter.take('ann', cost)).allowed ? 'allowed' : 'rejected');
  log.push(`8: ${await take(8)}`); // 2 left
  log.push(`5: ${await take(5)}`); // refused: consumes nothing
  log.push(`2: ${await take(2)}`); // allowed: the 2 left are still there
  // #endregion refused-takes
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
    log.push(`${res.status} ${headers.sort().join(' ')}`);
    await res.body?.cancel();
  }
  return log;
}

/** From express-rate-limit: 2 requests per minute per IP. */
export async function fromExpressRateLimit(): Promise<string[]> {
  const app = express();
  // #region from-express-rate-limit
  app.use(rateLimit({ limiter: slidingWindow({ limit: 2, windowMs: 60_000 }), headers: 'draft-10' })); // draft-10: the default
  // #endregion from-express-rate-limit
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

/** From @fastify/rate-limit: 2 requests per minute per IP, X-RateLimit-* headers, and a stricter route. */
export async function fromFastifyRateLimit(): Promise<string[]> {
  const app = Fastify();
  // #region from-fastify-rate-limit
  const perIp = { limiter: slidingWindow({ limit: 2, windowMs: 60_000 }) };
  await app.register(weir, { rateLimit: perIp, headers: 'legacy' }); // legacy: X-RateLimit-*, as @fastify/rate-limit
  const search = { limiter: slidingWindow({ limit: 1, windowMs: 1_000 }), name: 'search' };
  app.get('/search', { config: { rateLimit: search } }, async () => ({ results: [] })); // replaces the global limit
  // #endregion from-fastify-rate-limit
  app.get('/', async () => 'ok');
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    return [...(await requestThrice(base, '/')), ...(await requestThrice(base, '/search'))];
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const recipe of [fromCockatiel, weirCounts, fromOpossum, fromPRetry, fromRateLimiterFlexible, weirRefusedTakes]) {
    console.log(`${recipe.name}: ${(await recipe()).join('; ')}`);
  }
  for (const recipe of [fromExpressRateLimit, fromFastifyRateLimit])
    console.log(`${recipe.name}: ${(await recipe()).join('; ')}`);
}
