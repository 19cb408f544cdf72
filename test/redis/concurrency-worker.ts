/**
 * A worker process of concurrency.test.ts (one client library per worker): builds the same limiters on the same prefixes as its siblings,
 * waits for "go", hammers the hot keys with `inFlight` takes at a time on Redis's clock, and reports how
 * many each limiter admitted.
 */
import { redisStore } from '../../adapters/redis/index.js';
import { gcra, type RateLimiter, slidingWindow, tokenBucket } from '../../src/index.js';
import { type ClientName, closeAll, connectWith } from './clients.js';

interface Job {
  client: ClientName;
  port: number;
  prefix: string;
  attempts: number;
  inFlight: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const { client } = await connectWith(job.client, job.port);

const store = (name: string) => redisStore({ client, prefix: `${job.prefix}${name}:`, onError: 'deny', timeoutMs: 5000 });
const limiters: Record<string, RateLimiter> = {
  bucket: tokenBucket({ capacity: 300, refillPerSecond: 1e-4, store: store('bucket') }),
  gcra: gcra({ burst: 300, ratePerSecond: 1e-4, store: store('gcra') }),
  log: slidingWindow({ limit: 300, windowMs: 86_400_000, store: store('log') }),
  counter: slidingWindow({ limit: 300, windowMs: 864_000_000, mode: 'counter', store: store('counter') }),
  rate: tokenBucket({ capacity: 50, refillPerSecond: 200, store: store('rate') }),
};
const names = Object.keys(limiters);

process.send?.({ ready: true });
process.on('message', async () => {
  const admitted: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let next = 0;
  await Promise.all(
    Array.from({ length: job.inFlight }, async () => {
      while (next < job.attempts) {
        const name = names[next++ % names.length] as string;
        const cost = name === 'rate' ? 1 : 1 + (next % 3 === 0 ? 1 : 0);
        const d = await (limiters[name] as RateLimiter).take('hot', cost);
        if (d.allowed) admitted[name] = (admitted[name] as number) + cost;
      }
    }),
  );
  process.send?.({ admitted }, () => {
    closeAll().finally(() => process.exit(0));
  });
});
