import { ConsecutiveBreaker, circuitBreaker as cBreaker, bulkhead as cBulkhead, handleAll } from 'cockatiel';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { bulkhead, circuitBreaker, rateLimit, tokenBucket } from '../../src/index.js';
import { type BenchSuite, failingLeaf, leaf } from '../lib.js';

const noop = (): void => {};
const LONG = 3_600_000;
const hang = () => new Promise<number>(() => {});

// An open breaker.
const openPolicy = circuitBreaker({ window: { type: 'count', size: 1 }, minimumCalls: 1, openDurationMs: LONG });
openPolicy(failingLeaf)(1).catch(noop);
const open = openPolicy(leaf);
const cOpen = cBreaker(handleAll, { halfOpenAfter: LONG, breaker: new ConsecutiveBreaker(1) });
cOpen.execute(() => failingLeaf(1)).catch(noop);

// A full bulkhead: its one slot is held forever, no queue.
const full = bulkhead({ maxConcurrent: 1 });
full(hang)();
const fullGuarded = full(leaf);
const cFull = cBulkhead(1, 0);
cFull.execute(hang);

// A drained rate limiter.
const drained = tokenBucket({ capacity: 1, refillPerSecond: 1e-3 });
drained.takeSync?.();
const limited = rateLimit(drained)(leaf);
const rlfDrained = new RateLimiterMemory({ points: 1, duration: 1_000_000 });
rlfDrained.consume('k').catch(noop);

const suite: BenchSuite = {
  name: 'fast rejections',
  description:
    'Calls refused without running (the rejection is caught), against the call they replace: a bare awaited call that fails (`await failingLeaf()` caught), and the bare successful call as the ratio base.',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'bare await failingLeaf() (caught)', lib: 'bare', path: 'failure', fn: () => failingLeaf(1).then(noop, noop) },
    { name: 'weir open breaker', lib: 'weir', path: 'rejection', fn: () => open(1).then(noop, noop) },
    { name: 'weir full bulkhead', lib: 'weir', path: 'rejection', fn: () => fullGuarded(1).then(noop, noop) },
    { name: 'weir rate limited', lib: 'weir', path: 'rejection', fn: () => limited(1).then(noop, noop) },
    {
      name: 'cockatiel open breaker',
      lib: 'cockatiel',
      path: 'rejection',
      fn: () => cOpen.execute(() => leaf(1)).then(noop, noop),
    },
    {
      name: 'cockatiel full bulkhead',
      lib: 'cockatiel',
      path: 'rejection',
      fn: () => cFull.execute(() => leaf(1)).then(noop, noop),
    },
    {
      name: 'rlf consume refused',
      lib: 'rate-limiter-flexible',
      path: 'rejection',
      fn: () => rlfDrained.consume('k').then(noop, noop),
    },
  ],
};

export default suite;
