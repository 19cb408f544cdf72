/**
 * A worker process of concurrency.test.ts (one client library per worker): builds the same limiters on the
 * same prefixes as its siblings, reports ready, then on "open" takes once from each limiter (so every
 * library has decided in Redis before anyone hammers), and on "go" hammers the hot keys with `inFlight`
 * takes at a time on Redis's clock. It reports how many units each limiter admitted, its opening take
 * included, and how many decisions fell back instead of being decided by Redis.
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

let fallbacks = 0;
const store = (name: string) => {
  const s = redisStore({ client, prefix: `${job.prefix}${name}:`, onError: 'deny', timeoutMs: 5000 });
  s.on('fallback', () => fallbacks++);
  return s;
};
const limiters: Record<string, RateLimiter> = {
  bucket: tokenBucket({ capacity: 300, refillPerSecond: 1e-4, store: store('bucket') }),
  gcra: gcra({ burst: 300, ratePerSecond: 1e-4, store: store('gcra') }),
  log: slidingWindow({ limit: 300, windowMs: 86_400_000, store: store('log') }),
  counter: slidingWindow({ limit: 300, windowMs: 864_000_000, mode: 'counter', store: store('counter') }),
  rate: tokenBucket({ capacity: 50, refillPerSecond: 200, store: store('rate') }),
};
const names = Object.keys(limiters);
const admitted: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));

async function take(name: string, cost: number): Promise<void> {
  const d = await (limiters[name] as RateLimiter).take('hot', cost);
  if (d.allowed) admitted[name] = (admitted[name] as number) + cost;
}

/** One take of cost 1 per limiter: 6 workers need 6 units of each budget, far below every one. */
async function open(): Promise<void> {
  await Promise.all(names.map((name) => take(name, 1)));
  process.send?.({ opened: true });
}

async function hammer(): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: job.inFlight }, async () => {
      while (next < job.attempts) {
        const name = names[next++ % names.length] as string;
        await take(name, name === 'rate' ? 1 : 1 + (next % 3 === 0 ? 1 : 0));
      }
    }),
  );
  process.send?.({ admitted, fallbacks }, () => {
    closeAll().finally(() => process.exit(0));
  });
}

process.on('message', (message) => {
  if (message === 'open') void open();
  else if (message === 'go') void hammer();
});
process.send?.({ ready: true });
