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

const suite: BenchSuite = {
  name: 'OpenTelemetry metrics (weir/otel)',
  description:
    'Success path of the six-policy stack compose(fallback, retry, circuitBreaker, rateLimit, bulkhead, timeout) uninstrumented, and the same stack after instrument() on a real SDK MeterProvider (collection not running), and the same again behind measure() (one duration histogram record per call). The overhead is the ratio of the two rows of the same run; an uninstrumented stack is unchanged by another stack being instrumented (its row is taken while one is).',
  cases: [
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1), baseline: true },
    { name: 'weir 6-policy stack, uninstrumented', lib: 'weir', path: 'success', fn: () => plainCall(1) },
    { name: 'weir 6-policy stack, instrument()ed', lib: 'weir', path: 'success', fn: () => observedCall(1) },
    { name: 'weir 6-policy stack, instrument()ed and measure()d', lib: 'weir', path: 'success', fn: () => timedCall(1) },
  ],
};

export default suite;
