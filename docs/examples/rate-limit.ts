/**
 * Rate limiting in a few lines: `node --import tsx docs/examples/rate-limit.ts`.
 * A per-user token bucket guards an API call; one call rejects fast, another waits for its token.
 */
import { pathToFileURL } from 'node:url';
import { type Clock, isRateLimitedError, rateLimit, systemClock, tokenBucket } from '../../src/index.js';

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
const db = { orders: async (userId: string) => [`order 1 of ${userId}`] };
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // weir's timers never keep a process alive; this script has nothing else to do, so hold it open.
  const hold = setInterval(() => {}, 1000);
  for (const line of await example()) console.log(line);
  clearInterval(hold);
}
