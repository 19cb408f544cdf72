/**
 * Rate limiters: the cost of one decision (weir's memory store against rate-limiter-flexible's
 * RateLimiterMemory and the `limiter` package), and the rateLimit policy's success and rejection paths
 * against the bare call.
 *
 * Memory per key at 1M keys (not a timing case): `node --expose-gc --import tsx bench/suites/rate-limit.ts`.
 */
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TokenBucket, RateLimiter as TokenRateLimiter } from 'limiter';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { gcra, memoryStore, rateLimit, slidingWindow, tokenBucket } from '../../src/index.js';
import { type BenchSuite, leaf } from '../lib.js';

const HUGE = 1e9;
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user:${i}`);
let next = 0;
const nextKey = (): string => KEYS[(next = (next + 1) % KEYS.length)] as string;

const wBucket = tokenBucket({ capacity: HUGE, refillPerSecond: HUGE / 1000 });
const wBucketSync = wBucket.takeSync!;
const wGcra = gcra({ ratePerSecond: HUGE / 1000, burst: HUGE });
const wCounter = slidingWindow({ limit: HUGE, windowMs: 1000, mode: 'counter' });
// The log keeps one entry per admitted take in the window: a 1 ms window keeps it to what 1 ms admits.
const wLog = slidingWindow({ limit: 1_000_000, windowMs: 1, mode: 'log' });
const wMany = tokenBucket({ capacity: HUGE, refillPerSecond: HUGE / 1000, store: memoryStore({ maxKeys: 100_000 }) });
const wManySync = wMany.takeSync!;

// A flood: unique keys, each charged, well beyond maxKeys: every key is evicted with usage (folded into the
// store's sketch), the case that used to give keys their budget back.
const FLOOD = Array.from({ length: 400_000 }, (_, i) => `flood:${i}`);
let flooded = 0;
const nextFloodKey = (): string => FLOOD[(flooded = (flooded + 1) % FLOOD.length)] as string;
const wFlood = tokenBucket({ capacity: 10, refillPerSecond: 1, store: memoryStore({ maxKeys: 100_000 }) }).takeSync!;
// Per-key tiers: the same decision with a resolver picking one of two tiers.
const wTiered = tokenBucket({
  capacity: HUGE,
  refillPerSecond: HUGE / 1000,
  tiers: { pro: { capacity: HUGE, refillPerSecond: HUGE / 100 } },
  tierOf: (key) => (key.charCodeAt(5) & 1 ? 'pro' : undefined),
}).takeSync!;

const rlf = new RateLimiterMemory({ points: HUGE, duration: 1000 });
const lBucket = new TokenBucket({ bucketSize: HUGE, tokensPerInterval: HUGE / 1000, interval: 'second' });
const lLimiter = new TokenRateLimiter({ tokensPerInterval: HUGE, interval: 'second' });

const okPolicy = rateLimit(tokenBucket({ capacity: HUGE, refillPerSecond: HUGE / 1000 }));
const guarded = okPolicy(leaf);
const drained = tokenBucket({ capacity: 1, refillPerSecond: 1e-6 });
void drained.take();
const refused = rateLimit(drained)(leaf);
const rlfDrained = new RateLimiterMemory({ points: 1, duration: 1_000_000 });
void rlfDrained.consume('default').catch(() => {});
const noop = (): void => {};

const suite: BenchSuite = {
  name: 'rate-limit: take and the rateLimit policy',
  description:
    'One decision per op on one key (and over 10 000 keys, with two tiers, and a flood of unique keys past maxKeys) with a limit never reached: weir memory store (`take` returns a promise, `takeSync` does not) vs rate-limiter-flexible RateLimiterMemory.consume and limiter TokenBucket / RateLimiter.tryRemoveTokens (one bucket, no keys). Then rateLimit(tokenBucket)(leaf) admitted, and refused (RateLimitedError, caught) vs rlf consume refused.',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir tokenBucket.take(key)', lib: 'weir', path: 'success', fn: () => wBucket.take('k') },
    { name: 'weir tokenBucket.takeSync(key)', lib: 'weir', path: 'success', fn: () => wBucketSync('k') },
    { name: 'weir gcra.take(key)', lib: 'weir', path: 'success', fn: () => wGcra.take('k') },
    { name: 'weir slidingWindow counter.take(key)', lib: 'weir', path: 'success', fn: () => wCounter.take('k') },
    { name: 'weir slidingWindow log.take(key)', lib: 'weir', path: 'success', fn: () => wLog.take('k') },
    { name: 'rlf RateLimiterMemory.consume(key)', lib: 'rate-limiter-flexible', path: 'success', fn: () => rlf.consume('k') },
    { name: 'weir tokenBucket.take(10k keys)', lib: 'weir', path: 'success', fn: () => wMany.take(nextKey()) },
    { name: 'weir tokenBucket.takeSync(10k keys)', lib: 'weir', path: 'success', fn: () => wManySync(nextKey()) },
    {
      name: 'weir tokenBucket.takeSync(10k keys, 2 tiers)',
      lib: 'weir',
      path: 'success',
      fn: () => wTiered(nextKey()),
    },
    {
      name: 'weir tokenBucket.takeSync(flood of unique keys > maxKeys)',
      lib: 'weir',
      path: 'success',
      fn: () => wFlood(nextFloodKey()),
    },
    { name: 'rlf consume(10k keys)', lib: 'rate-limiter-flexible', path: 'success', fn: () => rlf.consume(nextKey()) },
    { name: 'limiter TokenBucket.tryRemoveTokens', lib: 'limiter', path: 'success', fn: () => lBucket.tryRemoveTokens(1) },
    { name: 'limiter RateLimiter.tryRemoveTokens', lib: 'limiter', path: 'success', fn: () => lLimiter.tryRemoveTokens(1) },
    { name: 'weir rateLimit(tokenBucket) admitted', lib: 'weir', path: 'success', fn: () => guarded(1) },
    { name: 'weir rateLimit refused', lib: 'weir', path: 'rejection', fn: () => refused(1).catch(noop) },
    {
      name: 'rlf consume refused',
      lib: 'rate-limiter-flexible',
      path: 'rejection',
      fn: () => rlfDrained.consume('default').catch(noop),
    },
  ],
};

export default suite;

/** Bytes per key with 1M distinct keys held: weir's memory store vs rate-limiter-flexible's. */
export async function memoryPerKey(keys = 1_000_000): Promise<{ weir: number; rlf: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const used = (): number => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const hold: unknown[] = [];
  let before = used();
  const w = tokenBucket({ capacity: 10, refillPerSecond: 1, store: memoryStore({ maxKeys: 2 * keys }) });
  for (let i = 0; i < keys; i++) w.takeSync!(`user:${i}`);
  hold.push(w);
  const weir = (used() - before) / keys;
  before = used();
  const r = new RateLimiterMemory({ points: 10, duration: 10 });
  for (let i = 0; i < keys; i++) await r.consume(`user:${i}`);
  hold.push(r);
  const rlfBytes = (used() - before) / keys;
  if (hold.length !== 2) throw new Error('unreachable');
  return { weir, rlf: rlfBytes };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { weir, rlf: r } = await memoryPerKey();
  console.log(
    `bytes per key at 1M keys: weir memory store ${weir.toFixed(0)}, rate-limiter-flexible RateLimiterMemory ${r.toFixed(0)}`,
  );
  process.exit(0);
}
