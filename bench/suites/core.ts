import { fallback as cFallback, timeout as cTimeout, handleAll, TimeoutStrategy, wrap } from 'cockatiel';
import { compose, fallback, timeout } from '../../src/index.js';
import { type BenchSuite, failingLeaf, leaf } from '../lib.js';

const wTimeout = timeout(10_000);
const wFallback = fallback(0);
const wBoth = compose(fallback(0), timeout(10_000));
const timed = wTimeout(leaf);
const guarded = wFallback(leaf);
const both = wBoth(leaf);
const guardedFailure = wFallback(failingLeaf);

const cTimeoutCoop = cTimeout(10_000, TimeoutStrategy.Cooperative);
const cTimeoutAggressive = cTimeout(10_000, TimeoutStrategy.Aggressive);
const cFb = cFallback(handleAll, () => 0);
const cBoth = wrap(
  cFallback(handleAll, () => 0),
  cTimeout(10_000, TimeoutStrategy.Aggressive),
);

const suite: BenchSuite = {
  name: 'core: timeout, fallback, compose',
  description:
    'Success path of an async function wrapped in weir timeout / fallback / compose(fallback, timeout) against cockatiel, plus the handled-failure path of fallback.',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir timeout(10 s)', lib: 'weir', path: 'success', fn: () => timed(1) },
    { name: 'cockatiel timeout cooperative', lib: 'cockatiel', path: 'success', fn: () => cTimeoutCoop.execute(() => leaf(1)) },
    {
      name: 'cockatiel timeout aggressive',
      lib: 'cockatiel',
      path: 'success',
      fn: () => cTimeoutAggressive.execute(() => leaf(1)),
    },
    { name: 'weir fallback', lib: 'weir', path: 'success', fn: () => guarded(1) },
    { name: 'cockatiel fallback', lib: 'cockatiel', path: 'success', fn: () => cFb.execute(() => leaf(1)) },
    { name: 'weir compose(fallback, timeout)', lib: 'weir', path: 'success', fn: () => both(1) },
    { name: 'cockatiel wrap(fallback, timeout)', lib: 'cockatiel', path: 'success', fn: () => cBoth.execute(() => leaf(1)) },
    { name: 'weir fallback on failure', lib: 'weir', path: 'failure', fn: () => guardedFailure(1) },
    { name: 'cockatiel fallback on failure', lib: 'cockatiel', path: 'failure', fn: () => cFb.execute(() => failingLeaf(1)) },
  ],
};

export default suite;
