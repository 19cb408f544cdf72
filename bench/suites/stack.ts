import {
  ConsecutiveBreaker,
  circuitBreaker as cBreaker,
  bulkhead as cBulkhead,
  retry as cRetry,
  timeout as cTimeout,
  handleAll,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { bulkhead, circuitBreaker, compose, fallback, rateLimit, retry, timeout, tokenBucket } from '../../src/index.js';
import { type BenchSuite, leaf } from '../lib.js';

/** The floor: an async wrapper that awaits the function in a try/finally and does nothing else. */
const floored = async (x: number): Promise<number> => {
  try {
    return await leaf(x);
  } finally {
  }
};

const stack = compose(
  fallback(0),
  retry({ maxAttempts: 3 }),
  circuitBreaker(),
  rateLimit(tokenBucket({ capacity: 1e6, refillPerSecond: 1e7 })),
  bulkhead({ maxConcurrent: 100 }),
  timeout(10_000),
);
const stacked = stack(leaf);
const four = compose(retry({ maxAttempts: 3 }), circuitBreaker(), bulkhead({ maxConcurrent: 100 }), timeout(10_000))(leaf);
const cockatielFour = wrap(
  cRetry(handleAll, { maxAttempts: 2 }),
  cBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  cBulkhead(100),
  cTimeout(10_000, TimeoutStrategy.Aggressive),
);

const suite: BenchSuite = {
  name: 'composed stack',
  description:
    'Success path of the six-policy stack compose(fallback, retry, circuitBreaker, rateLimit, bulkhead, timeout), the four-policy stack (retry, breaker, bulkhead, timeout), and cockatiel wrap() of its four equivalents; ratios to the floor row.',
  cases: [
    {
      name: 'floor: async wrapper, try/finally around await fn()',
      lib: 'floor',
      path: 'success',
      fn: () => floored(1),
      baseline: true,
    },
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1) },
    { name: 'weir 6-policy stack', lib: 'weir', path: 'success', fn: () => stacked(1) },
    { name: 'weir 4-policy stack', lib: 'weir', path: 'success', fn: () => four(1) },
    {
      name: 'cockatiel wrap(retry, breaker, bulkhead, timeout)',
      lib: 'cockatiel',
      path: 'success',
      fn: () => cockatielFour.execute(() => leaf(1)),
    },
  ],
};

export default suite;
