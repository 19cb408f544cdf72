/**
 * Run by memory.test.ts as `node --expose-gc --import tsx test/pipeline/memory-run.ts [calls]`: a long run
 * of composed calls (the six-policy stack, success and retried-failure paths, decorated and `execute` with
 * a long-lived caller signal), with the heap measured after forced GCs. Prints one JSON line.
 */
import {
  bulkhead,
  circuitBreaker,
  compose,
  constantBackoff,
  fallback,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
} from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const total = Number(process.argv[2] ?? 1_000_000);
const warmup = Math.min(100_000, Math.floor(total / 10));
const batch = 100;

const breaker = circuitBreaker({ window: { type: 'count', size: 100 }, minimumCalls: 100, failureRateThreshold: 0.5 });
const pool = bulkhead({ maxConcurrent: batch, maxQueue: batch });
const deadline = timeout(60_000);
const stack = compose(
  fallback('fallback'),
  retry({ maxAttempts: 3, backoff: constantBackoff(0) }),
  breaker,
  rateLimit(tokenBucket({ capacity: 10_000_000, refillPerSecond: 10_000_000 })),
  pool,
  deadline,
);

// Every 10th call fails on its first attempt and is retried.
const failedOnce = new Set<number>();
const work = (i: number): number => {
  if (i % 10 === 0 && !failedOnce.delete(i)) {
    failedOnce.add(i);
    throw new Error('transient');
  }
  return i;
};
const guarded = stack(work);
const caller = new AbortController();
const viaExecute = (i: number) => stack.execute(({ signal }) => (signal.aborted ? -1 : work(i)), caller.signal);

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

let done = 0;
let wrong = 0;
async function runCalls(count: number): Promise<void> {
  const pending: Promise<unknown>[] = new Array(batch);
  for (let end = done + count; done < end; ) {
    const size = Math.min(batch, end - done);
    for (let k = 0; k < size; k++, done++) pending[k] = done % 20 === 1 ? viaExecute(done) : guarded(done);
    for (let k = 0; k < size; k++) {
      const value = await pending[k];
      if (typeof value !== 'number') {
        if (wrong++ === 0) console.error('first wrong value', value);
      }
    }
  }
}

const started = performance.now();
await runCalls(warmup);
const baseline = heapAfterGc();
const samples: { calls: number; heapUsed: number }[] = [{ calls: done, heapUsed: baseline }];
const step = Math.ceil((total - warmup) / 9);
while (done < total) {
  await runCalls(Math.min(step, total - done));
  samples.push({ calls: done, heapUsed: heapAfterGc() });
}
const final = samples[samples.length - 1]!.heapUsed;
const peak = Math.max(...samples.map((s) => s.heapUsed));
console.log(
  JSON.stringify({
    calls: done,
    warmup,
    wrong,
    elapsedMs: Math.round(performance.now() - started),
    baseline,
    final,
    growth: final - baseline,
    peakGrowth: peak - baseline,
    samples,
    state: { running: pool.running, queued: pool.queued, pending: deadline.pending, breaker: breaker.state },
  }),
);
