import { ConsecutiveBreaker, CountBreaker, circuitBreaker as cBreaker, handleAll, SamplingBreaker } from 'cockatiel';
import Opossum from 'opossum';
import { circuitBreaker } from '../../src/index.js';
import { type BenchSuite, failingLeaf, leaf } from '../lib.js';

const noop = (): void => {};
const LONG = 3_600_000;

// ---- closed state: the success path -----------------------------------------------------------------
const wCount = circuitBreaker({ window: { type: 'count', size: 100 } })(leaf);
const wTime = circuitBreaker({ window: { type: 'time', durationMs: 10_000, buckets: 10 } })(leaf);
const wSlow = circuitBreaker({ window: { type: 'count', size: 100 }, slowCallDurationMs: 1000 })(leaf);
const cConsecutive = cBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
const cCount = cBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new CountBreaker({ threshold: 0.5, size: 100 }) });
const cSampling = cBreaker(handleAll, {
  halfOpenAfter: 10_000,
  breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }),
});
// opossum arms a 10 s timer per call by default; `timeout: false` compares the breaker alone.
const oNoTimeout = new Opossum(leaf, { timeout: false });
const oDefault = new Opossum(leaf);

const closed: BenchSuite = {
  name: 'circuit-breaker: closed state (success path)',
  description:
    'A resolving async function behind a closed breaker: weir with a count window, a time window, and slow-call measurement (which reads the clock twice per call), against cockatiel (consecutive, count and sampling breakers) and opossum (without and with its default per-call timeout).',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir breaker, count window 100', lib: 'weir', path: 'success', fn: () => wCount(1) },
    { name: 'weir breaker, time window 10 s', lib: 'weir', path: 'success', fn: () => wTime(1) },
    { name: 'weir breaker, count window + slow calls', lib: 'weir', path: 'success', fn: () => wSlow(1) },
    { name: 'cockatiel ConsecutiveBreaker', lib: 'cockatiel', path: 'success', fn: () => cConsecutive.execute(() => leaf(1)) },
    { name: 'cockatiel CountBreaker(100)', lib: 'cockatiel', path: 'success', fn: () => cCount.execute(() => leaf(1)) },
    { name: 'cockatiel SamplingBreaker(10 s)', lib: 'cockatiel', path: 'success', fn: () => cSampling.execute(() => leaf(1)) },
    { name: 'opossum, timeout: false', lib: 'opossum', path: 'success', fn: () => oNoTimeout.fire(1) },
    { name: 'opossum, default (10 s timeout)', lib: 'opossum', path: 'success', fn: () => oDefault.fire(1) },
  ],
};

// ---- open state: the rejection path ------------------------------------------------------------------
const wOpenPolicy = circuitBreaker({ window: { type: 'count', size: 1 }, minimumCalls: 1, openDurationMs: LONG });
const wOpen = wOpenPolicy(leaf);
wOpenPolicy(failingLeaf)(1).catch(noop);
const cOpen = cBreaker(handleAll, { halfOpenAfter: LONG, breaker: new ConsecutiveBreaker(1) });
cOpen.execute(() => failingLeaf(1)).catch(noop);
const oOpen = new Opossum(leaf, { timeout: false, resetTimeout: LONG });
oOpen.open();

const open: BenchSuite = {
  name: 'circuit-breaker: open state (rejection path)',
  description:
    'Calls refused by an open breaker (the rejection is caught). weir rejects with a CircuitOpenError created without a stack trace.',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir open: rejected', lib: 'weir', path: 'rejection', fn: () => wOpen(1).then(noop, noop) },
    {
      name: 'cockatiel open: rejected',
      lib: 'cockatiel',
      path: 'rejection',
      fn: () => cOpen.execute(() => leaf(1)).then(noop, noop),
    },
    { name: 'opossum open: rejected', lib: 'opossum', path: 'rejection', fn: () => oOpen.fire(1).then(noop, noop) },
  ],
};

// ---- failing calls with N calls in the window: must stay flat ------------------------------------------
/** One call in 64 succeeds so that a threshold of 99 % is never reached and the breaker stays closed. */
function mostlyFailing(call: (fail: boolean) => Promise<unknown>): () => Promise<void> {
  let i = 0;
  return () => call((++i & 63) !== 0).then(noop, noop);
}

function weirWindow(size: number): () => Promise<void> {
  const policy = circuitBreaker({ window: { type: 'count', size }, minimumCalls: size, failureRateThreshold: 0.99 });
  const ok = policy(leaf);
  const bad = policy(failingLeaf);
  return mostlyFailing((fail) => (fail ? bad(1) : ok(1)));
}

function cockatielWindow(size: number): () => Promise<void> {
  const policy = cBreaker(handleAll, {
    halfOpenAfter: LONG,
    breaker: new CountBreaker({ threshold: 0.99, size, minimumNumberOfCalls: size }),
  });
  return mostlyFailing((fail) => policy.execute(() => (fail ? failingLeaf(1) : leaf(1))));
}

const flat: BenchSuite = {
  name: 'circuit-breaker: failing calls vs window size',
  description:
    'Failing calls (1 in 64 succeeds, to stay under a 99 % threshold) through a count window of 100, 10 000 and 100 000 calls: weir updates a ring and running totals, so the cost must not grow with the window. cockatiel CountBreaker alongside.',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir count window 100', lib: 'weir', path: 'failure', fn: weirWindow(100) },
    { name: 'weir count window 10 000', lib: 'weir', path: 'failure', fn: weirWindow(10_000) },
    { name: 'weir count window 100 000', lib: 'weir', path: 'failure', fn: weirWindow(100_000) },
    { name: 'cockatiel CountBreaker 100', lib: 'cockatiel', path: 'failure', fn: cockatielWindow(100) },
    { name: 'cockatiel CountBreaker 100 000', lib: 'cockatiel', path: 'failure', fn: cockatielWindow(100_000) },
  ],
};

// ---- opossum with many calls in its rolling window --------------------------------------------------
// opossum sorts every latency of its rolling window when it computes stats on a failure, so its failing call
// grows with the calls in the window; a small batch keeps this suite short.
async function opossumWindow(calls: number): Promise<() => Promise<void>> {
  const breaker = new Opossum((fail: boolean) => (fail ? failingLeaf(1) : leaf(1)), {
    timeout: false,
    rollingCountTimeout: LONG,
    errorThresholdPercentage: 99,
  });
  for (let i = 0; i < calls; i++) await breaker.fire(false);
  return mostlyFailing((fail) => breaker.fire(fail));
}

const [o100, o10k] = await Promise.all([opossumWindow(100), opossumWindow(10_000)]);

const opossumFlat: BenchSuite = {
  name: 'circuit-breaker: failing calls vs calls in the window (with opossum)',
  description:
    'As above, with opossum holding 100 and 10 000 calls in its rolling window (which it sorts on each failure). Batch of 20 calls per sample.',
  batch: 20,
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir count window 100 000', lib: 'weir', path: 'failure', fn: weirWindow(100_000) },
    { name: 'opossum, 100 calls in window', lib: 'opossum', path: 'failure', fn: o100 as () => Promise<void> },
    { name: 'opossum, 10 000 calls in window', lib: 'opossum', path: 'failure', fn: o10k as () => Promise<void> },
  ],
};

export default [closed, open, flat, opossumFlat];
