import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { instrument } from '../../adapters/otel/index.js';
import { bulkhead, circuitBreaker, compose, fallback, rateLimit, retry, timeout, tokenBucket } from '../../src/index.js';
import { type BenchSuite, leaf } from '../lib.js';

/** A reader that is never collected during the run: what a call costs, not a scrape. */
class IdleReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function sixPolicies() {
  return compose(
    fallback(0),
    retry({ maxAttempts: 3 }),
    circuitBreaker(),
    rateLimit(tokenBucket({ capacity: 1e6, refillPerSecond: 1e7 })),
    bulkhead({ maxConcurrent: 100 }),
    timeout(10_000),
  );
}

const plain = sixPolicies();
const observed = sixPolicies();
const timed = sixPolicies();
const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
instrument(observed, { meterProvider });
const plainCall = plain(leaf);
const observedCall = observed(leaf);
const timedCall = instrument(timed, { meterProvider }).measure(timed)(leaf);

/**
 * Heap bytes one call allocates: the median of 9 runs of 1,000 calls, each after a full GC (the bench runs
 * with --expose-gc; undefined without it). A run short enough that no scavenge empties the young
 * generation in between.
 */
async function bytesPerCall(fn: () => Promise<unknown>): Promise<number | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  for (let i = 0; i < 20_000; i++) await fn();
  const runs: number[] = [];
  for (let r = 0; r < 9; r++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) await fn();
    runs.push((process.memoryUsage().heapUsed - before) / 1000);
  }
  return runs.sort((a, b) => a - b)[4];
}

const [bareBytes, plainBytes, observedBytes] = [
  await bytesPerCall(() => leaf(1)),
  await bytesPerCall(() => plainCall(1)),
  await bytesPerCall(() => observedCall(1)),
];
const bytes = (n: number | undefined) => `${Math.round(n as number)} B`;
const allocation =
  observedBytes === undefined
    ? ''
    : ` Heap allocated per call (measured before the run, median of 9 × 1,000 calls after a GC): bare ${bytes(bareBytes)}, uninstrumented ${bytes(plainBytes)}, instrument()ed ${bytes(observedBytes)}: an instrumented policy tallies its hot events (successes, admissions) in two numbers and builds no payload, so both allocate the same.`;

const suite: BenchSuite = {
  name: 'OpenTelemetry metrics (weir/otel)',
  description: `Success path of the six-policy stack compose(fallback, retry, circuitBreaker, rateLimit, bulkhead, timeout) uninstrumented, and the same stack after instrument() on a real SDK MeterProvider (collection not running), and the same again behind measure() (one duration histogram record per call). The overhead is the ratio of the two rows of the same run; an uninstrumented stack is unchanged by another stack being instrumented (its row is taken while one is).${allocation}`,
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir 6-policy stack, uninstrumented', lib: 'weir', path: 'success', fn: () => plainCall(1) },
    { name: 'weir 6-policy stack, instrument()ed', lib: 'weir', path: 'success', fn: () => observedCall(1) },
    { name: 'weir 6-policy stack, instrument()ed and measure()d', lib: 'weir', path: 'success', fn: () => timedCall(1) },
  ],
};

export default suite;
