/**
 * Rate limiting in a few lines: `node --import tsx docs/examples/rate-limit.ts`.
 * A per-user token bucket guards an API call; one call rejects fast, another waits for its token.
 */
import { pathToFileURL } from 'node:url';
import express from 'express';
import { rateLimit as limitRequests } from '../../adapters/express/index.js';
import {
  type Clock,
  cachedTierOf,
  isRateLimitedError,
  memoryStore,
  rateLimit,
  slidingWindow,
  systemClock,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

export async function example(clock: Clock = systemClock): Promise<string[]> {
  const log: string[] = [];
  // Bursts of up to 2 calls per user, refilled at 10 per second (one token every 100 ms).
  const limiter = tokenBucket({ capacity: 2, refillPerSecond: 10, clock });

  // Reject mode (the default): a refused call fails at once with RateLimitedError and its exact retryAfterMs.
  const fetchProfile = rateLimit(limiter, { key: (userId: string) => userId })(async (userId: string) => `profile of ${userId}`);
  for (let i = 0; i < 3; i++) {
    try {
      log.push(await fetchProfile('ann'));
    } catch (error) {
      if (!isRateLimitedError(error)) throw error;
      log.push(`ann is limited: retry after ${error.retryAfterMs} ms`);
    }
  }

  // Wait mode: wait for capacity when the wait is at most maxWaitMs (abortable through the caller's signal).
  const patient = rateLimit(limiter, { key: (userId: string) => userId, wait: { maxWaitMs: 500 } });
  const started = clock.now();
  log.push(await patient(async (userId: string) => `waited for ${userId}`)('ann'));
  log.push(`after ${Math.round(clock.now() - started)} ms`);

  // The limiter on its own: decisions without a policy.
  const decision = await limiter.take('bob', 2);
  log.push(`bob: allowed=${decision.allowed} remaining=${decision.remaining} resetAfterMs=${decision.resetAfterMs}`);
  const tooBig = await limiter.take('bob', 3);
  log.push(`cost 3: ${tooBig.reason}`);
  return log;
}

/** Stand-ins for a database and for request helpers, so that the samples below run anywhere. */
const db = {
  orders: async (userId: string) => [`order 1 of ${userId}`],
  plan: async (apiKey: string) => (apiKey.startsWith('pro_') ? 'pro' : 'free'),
};
const clientIp = (req: Request) => req.headers.get('x-forwarded-for') ?? 'unknown';
const weight = (req: Request) => (req.method === 'GET' ? 1 : 5);

/** The samples of docs/rate-limiting.md (test/rate-limit/example.test.ts runs them). */
export async function samples(): Promise<string[]> {
  const log: string[] = [];
  // #region intro
  const perUser = tokenBucket({ capacity: 20, refillPerSecond: 5 });
  const getOrders = rateLimit(perUser, { key: (userId: string) => userId })(async (userId: string) => db.orders(userId));

  const decision = await perUser.take('ann', 3); // { allowed, limit, remaining, retryAfterMs, resetAfterMs, reason }
  // #endregion intro
  log.push(`${(await getOrders('ann'))[0]}; first take: allowed=${decision.allowed} remaining=${decision.remaining}`);

  const limiter = tokenBucket({ capacity: 10, refillPerSecond: 1 });
  // #region policy
  const policy = rateLimit(limiter, {
    key: (req: Request) => clientIp(req), // or a string; default 'default'
    cost: (req: Request) => weight(req), // or a number; default 1
    wait: { maxWaitMs: 2000 }, // omit to reject at once
  });
  // #endregion policy
  const handle = policy(async (req: Request) => `${req.method} served`);
  const post = new Request('https://api.example.com/orders', { method: 'POST', headers: { 'x-forwarded-for': '10.0.0.1' } });
  log.push(await handle(post));
  log.push(`10.0.0.1 has ${(await limiter.peek('10.0.0.1')).remaining} left`);
  return log;
}

/** Stand-ins for an account lookup and a login check. */
const planOf = (apiKey: string): 'free' | 'pro' | undefined =>
  apiKey.startsWith('pro_') ? 'pro' : apiKey.startsWith('free_') ? 'free' : undefined;
const checkPassword = async (_user: string, password: string) => {
  if (password !== 'correct horse') throw new Error('wrong password');
  return 'session';
};

/** The product samples of docs/rate-limiting.md: plans, reconfiguration, refunds, counting, quotas, fair waiting. */
export async function productSamples(clock: VirtualClock = new VirtualClock()): Promise<string[]> {
  const log: string[] = [];
  // #region plans
  const api = tokenBucket({
    name: 'api',
    capacity: 10, // keys without a plan
    refillPerSecond: 1,
    tiers: {
      free: { capacity: 20, refillPerSecond: 2 },
      pro: { capacity: 200, refillPerSecond: 50 },
    },
    tierOf: (apiKey) => planOf(apiKey), // synchronous; undefined means the default limits
    clock,
  });
  const pro = await api.take('pro_acme', 50);
  // pro.limits.tier === 'pro', pro.limit === 200, pro.remaining === 150
  // #endregion plans
  log.push(`pro: tier=${pro.limits?.tier} limit=${pro.limit} remaining=${pro.remaining}`);

  // #region cachedTierOf
  const accounts = tokenBucket({
    capacity: 20,
    refillPerSecond: 2,
    tiers: { pro: { capacity: 200, refillPerSecond: 50 } },
    // Plans from a database: looked up once per key, cached (bounded) for a minute; until known: the default
    tierOf: cachedTierOf(async (apiKey) => ((await db.plan(apiKey)) === 'pro' ? 'pro' : undefined), { ttlMs: 60_000 }),
    clock,
  });
  // #endregion cachedTierOf
  accounts.takeSync!('pro_acme');
  await new Promise((resolve) => setImmediate(resolve));
  log.push(`after the lookup: tier=${accounts.takeSync!('pro_acme').limits?.tier}`);
  log.push(`free: remaining=${(await api.take('free_bob')).remaining}`);

  // #region reconfigure
  api.reconfigure({ capacity: 400, refillPerSecond: 100 }, 'pro'); // one tier, live
  api.reconfigure({ capacity: 5, refillPerSecond: 1 }); // the default limits, live
  // #endregion reconfigure
  log.push(`pro after reconfigure: limit=${(await api.take('pro_acme', 0)).limit}`);

  // #region refund
  const uploads = tokenBucket({ capacity: 100, refillPerSecond: 1, clock });
  await uploads.take('ann', 40); // charge the declared size up front...
  const after = await uploads.refund('ann', 15); // ...and give back what was not used (never beyond full)
  // after.remaining === 75
  // #endregion refund
  log.push(`refund: remaining=${after.remaining}`);

  // #region countOnly
  const attempts = tokenBucket({ capacity: 5, refillPerSecond: 1 / 60, clock }); // 5 failures, then 1 a minute
  const login = rateLimit(attempts, { key: (user: string) => user, countOnly: 'failures' })(checkPassword);
  // #endregion countOnly
  for (let i = 0; i < 5; i++) await login('eve', 'guess').catch(() => {});
  const locked = await login('eve', 'correct horse').catch((error: unknown) => (isRateLimitedError(error) ? 'locked' : 'error'));
  log.push(`login after 5 failures: ${locked}; successes are free: ${await login('ann', 'correct horse')}`);

  // #region quota
  const monthly = tokenBucket({
    capacity: 10_000_000, // the quota
    refillPerSecond: 10_000_000 / (30 * 86_400), // comes back continuously over 30 days
    clock,
  });
  const used = await monthly.take('tenant-7', 10_000_000);
  // used.resetAfterMs === 30 days: when the whole quota is back; a refused take's retryAfterMs: the next unit
  // #endregion quota
  log.push(`quota: resetAfterMs=${used.resetAfterMs} retryAfterMs=${(await monthly.take('tenant-7')).retryAfterMs}`);

  // #region fairWait
  const search = rateLimit(slidingWindow({ limit: 2, windowMs: 1000, clock }), {
    key: (user: string) => user,
    wait: { maxWaitMs: 5000, maxQueue: 100 }, // waiters of a key are served in arrival order
  })(async (user: string, query: string) => `${user}: ${query}`);
  // #endregion fairWait
  const order: string[] = [];
  const calls = ['a', 'b', 'c', 'd'].map((q) => search('ann', q).then((r) => order.push(r)));
  await clock.runAllAsync();
  await Promise.all(calls);
  log.push(`served in order: ${order.join(', ')}`);

  // #region sizing
  // Size maxKeys above twice the keys active within one refill period; beyond that, evicted usage is kept
  // in a sketch, so flooding unique keys never gives any key more budget.
  const perIp = tokenBucket({ capacity: 100, refillPerSecond: 10, store: memoryStore({ maxKeys: 200_000 }), clock });
  // #endregion sizing
  log.push(`per-ip limit=${perIp.limit}`);
  return log;
}

/** Stand-ins for docs/migrating.md: a user's plan, a points table, and a login handler. */
const users: Record<string, { plan: 'free' | 'pro' }> = { 'key-1': { plan: 'pro' }, 'key-2': { plan: 'free' } };
const pointsByKey: Record<string, number> = { partner: 100 };

/** The rate-limit sections of docs/migrating.md (express-rate-limit, rate-limiter-flexible), run as a server. */
export async function migrationSamples(): Promise<string[]> {
  const log: string[] = [];
  const app = express();
  // #region erl-skip-successful
  // express-rate-limit: rateLimit({ windowMs: 15 * 60_000, limit: 5, skipSuccessfulRequests: true })
  const logins = slidingWindow({ limit: 5, windowMs: 15 * 60_000 });
  app.post('/login', limitRequests({ limiter: logins, name: 'login', countOnly: (res) => res.statusCode >= 400 }), (req, res) => {
    res.status(req.query.password === 'right' ? 200 : 401).end();
  });
  // #endregion erl-skip-successful
  // #region erl-dynamic-limit
  // express-rate-limit: rateLimit({ limit: (req) => (users[req.get('x-api-key')]?.plan === 'pro' ? 1000 : 100) })
  const perKey = slidingWindow({
    limit: 100,
    windowMs: 60_000,
    tiers: { pro: { limit: 1000, windowMs: 60_000 } },
    tierOf: (apiKey) => (users[apiKey]?.plan === 'pro' ? 'pro' : undefined), // others: the default 100
  });
  app.use('/api', limitRequests({ limiter: perKey, name: 'api', key: (req) => req.get('x-api-key') ?? 'anonymous' }));
  // #endregion erl-dynamic-limit
  app.get('/api/data', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${base}/login?password=right`, { method: 'POST' })).status);
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${base}/login?password=wrong`, { method: 'POST' })).status);
    log.push(`logins: ${statuses.join(' ')}`);
    const pro = await fetch(`${base}/api/data`, { headers: { 'x-api-key': 'key-1' } });
    const free = await fetch(`${base}/api/data`, { headers: { 'x-api-key': 'key-2' } });
    log.push(`pro: ${pro.headers.get('ratelimit-policy')}; free: ${free.headers.get('ratelimit-policy')}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  // #region rlf-per-key-points
  // rate-limiter-flexible: one RateLimiterMemory per points value, picked by key
  const byKey = tokenBucket({
    capacity: 10,
    refillPerSecond: 10,
    tiers: { partner: { capacity: 100, refillPerSecond: 100 } },
    tierOf: (key) => (pointsByKey[key] === undefined ? undefined : 'partner'),
  });
  const decision = await byKey.take('partner', 60); // 100 points for 'partner', 10 for everyone else
  // #endregion rlf-per-key-points
  log.push(`partner: allowed=${decision.allowed} remaining=${decision.remaining}; others: ${(await byKey.take('x', 60)).reason}`);
  return log;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // weir's timers never keep a process alive; this script has nothing else to do, so hold it open.
  const hold = setInterval(() => {}, 1000);
  for (const line of await example()) console.log(line);
  clearInterval(hold);
}
