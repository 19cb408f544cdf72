import { ConstantBackoff, retry as cRetry, handleAll } from 'cockatiel';
import pRetry from 'p-retry';
import { retry } from '../../src/index.js';
import { type BenchSuite, failingLeaf, failure, leaf } from '../lib.js';

/** Fails on every odd call and succeeds on every even one: each operation is one failure plus one retry. */
function flaky(): (x: number) => Promise<number> {
  let calls = 0;
  return async (x: number) => {
    if ((calls++ & 1) === 0) throw failure;
    return x + 1;
  };
}

// Success path: default options, the function succeeds at once.
const wRetry = retry();
const retried = wRetry(leaf);
const cRetrySuccess = cRetry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) });

// Failure path: one failure, one retry after a zero delay, then success.
const wFlaky = retry({ maxAttempts: 2, backoff: 0 })(flaky());
const cFlakyFn = flaky();
const cRetryOnce = cRetry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(0) });
const pFlakyFn = flaky();

const success: BenchSuite = {
  name: 'retry: success path',
  description: 'An async function that succeeds at once, wrapped in weir retry (defaults), cockatiel retry and p-retry.',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir retry()', lib: 'weir', path: 'success', fn: () => retried(1) },
    { name: 'cockatiel retry', lib: 'cockatiel', path: 'success', fn: () => cRetrySuccess.execute(() => leaf(1)) },
    { name: 'p-retry', lib: 'p-retry', path: 'success', fn: () => pRetry(() => leaf(1), { retries: 2 }) },
  ],
};

const bareFailThenCall = {
  name: 'bare: fail, then call again',
  lib: 'bare',
  path: 'failure' as const,
  fn: () => failingLeaf(1).catch(() => leaf(1)),
  baseline: true,
};

const failurePath: BenchSuite = {
  name: 'retry: one retry, zero delay',
  description:
    "Each operation fails once and succeeds on the one retry, with a zero delay. The baseline does the same two calls by hand, without yielding; weir's zero delay lets the event loop turn once (setImmediate) so that a storm never starves timers and I/O, which is most of its cost here.",
  cases: [
    bareFailThenCall,
    { name: 'weir retry (1 retry, 0 ms)', lib: 'weir', path: 'failure', fn: () => wFlaky(1) },
    {
      name: 'p-retry (1 retry, 0 ms)',
      lib: 'p-retry',
      path: 'failure',
      fn: () => pRetry(() => pFlakyFn(1), { retries: 1, minTimeout: 0, randomize: false }),
    },
  ],
};

// cockatiel sleeps through setTimeout(0) even for a zero delay (about 1 ms per retry), so it gets a small
// batch of its own; the baseline is repeated so that its ratio is measured like the others.
const cockatielFailurePath: BenchSuite = {
  name: 'retry: one retry, zero delay (cockatiel)',
  description: 'As above, for cockatiel retry, whose zero-delay sleep still goes through setTimeout(0).',
  batch: 20,
  cases: [
    bareFailThenCall,
    {
      name: 'cockatiel retry (1 retry, 0 ms)',
      lib: 'cockatiel',
      path: 'failure',
      fn: () => cRetryOnce.execute(() => cFlakyFn(1)),
    },
  ],
};

// A storm: an instant failure retried with a zero delay. Each retry lets the event loop turn once (timers
// and I/O run in between), so the floor is a hand loop that yields with setImmediate between two calls.
const STORM = 100;
const stormRetry = retry({ maxAttempts: STORM, backoff: 0 })(failingLeaf);
async function handStorm(): Promise<void> {
  for (let i = 0; i < STORM; i++) {
    try {
      await failingLeaf(1);
    } catch {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

const storm: BenchSuite = {
  name: 'retry: a zero-delay storm that yields',
  description: `${STORM} attempts of an instantly failing call with a zero delay; ns/op is per storm. Every retry lets the event loop turn once, so an outer timeout, an abort or the caller's own timers are never starved.`,
  batch: 5,
  cases: [
    { name: `hand loop: ${STORM} failures, setImmediate between`, lib: 'bare', path: 'failure', fn: handStorm, baseline: true },
    {
      name: `weir retry (${STORM} attempts, 0 ms)`,
      lib: 'weir',
      path: 'failure',
      fn: () => stormRetry(1).catch(() => undefined),
    },
  ],
};

export default [success, failurePath, cockatielFailurePath, storm];
