/**
 * Shared limits on Redis: `REDIS_URL=redis://127.0.0.1:6379 node --import tsx docs/examples/redis.ts`.
 * A GCRA limiter per API key, state in Redis (shared by every process), and a local limiter that takes
 * over while Redis is unreachable.
 */
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { redisStore } from '../../adapters/redis/index.js';
import { gcra, isRateLimitedError, rateLimit } from '../../src/index.js';

export async function redisExample(client: Redis, prefix = 'example:api:'): Promise<string[]> {
  const log: string[] = [];
  // While Redis is down, each of (say) 4 instances allows a quarter of the limit on its own.
  const local = gcra({ ratePerSecond: 10 / 4, burst: 2 });
  const store = redisStore({ client, prefix, onError: local, timeoutMs: 100 });
  store.on('fallback', (e) => log.push(`fallback (${e.cause}) for ${e.key}`));
  const perKey = gcra({ ratePerSecond: 10, burst: 3, store });

  const callApi = rateLimit(perKey, { key: (apiKey: string) => apiKey })(async (apiKey: string) => `served ${apiKey}`);
  for (let i = 0; i < 4; i++) {
    try {
      log.push(await callApi('key-1'));
    } catch (error) {
      if (!isRateLimitedError(error)) throw error;
      log.push(`key-1 limited: retry after ${error.retryAfterMs} ms`);
    }
  }
  const decision = await perKey.take('key-2', 2);
  log.push(`key-2: allowed=${decision.allowed} remaining=${decision.remaining} limit=${decision.limit}`);
  log.push(`redis keys: ${store.keysOf('key-1').join(', ')}`);
  return log;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Fail fast instead of queueing commands while disconnected (see docs/redis.md).
  const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => {});
  await new Promise((resolve) => client.once('ready', resolve));
  for (const line of await redisExample(client)) console.log(line);
  client.disconnect();
}
