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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // weir's timers never keep a process alive; this script has nothing else to do, so hold it open.
  const hold = setInterval(() => {}, 1000);
  for (const line of await example()) console.log(line);
  clearInterval(hold);
}
