/**
 * A caller's abort is honoured at any moment: before the call, inside a stage's admission, during the
 * function's synchronous part, during its await, during a retry's sleep and while queued in a bulkhead.
 * The call rejects at once with the caller's reason; the stages keep their books straight (the breaker
 * records nothing for the aborted attempt, the bulkhead frees its slot, a limiter the call never reached
 * spends no token) and nothing is left listening on the caller's signal.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fanoutOf } from '../../src/core/signal.js';
import {
  type AnyPolicy,
  bulkhead,
  circuitBreaker,
  compose,
  definePolicy,
  fallback,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

describe('an abort during the function synchronous part', () => {
  test('timeout: the call rejects at once with the reason, even if the function never settles', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const call = timeout(60_000).execute(() => {
      controller.abort(reason);
      return new Promise(() => {});
    }, controller.signal);
    await expect(call).rejects.toBe(reason);
    expect(fanoutOf(controller.signal)?.size ?? 0).toBe(0);
  });

  test('circuit breaker: records nothing for the aborted call', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    const controller = new AbortController();
    await breaker
      .execute(async () => {
        controller.abort();
        await null;
        throw new Error('x');
      }, controller.signal)
      .catch(() => {});
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics.calls).toBe(0);
  });

  test('a synchronous throw after the abort still rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const call = compose(retry({ maxAttempts: 3, backoff: 0 }), fallback('fallback')).execute(() => {
      controller.abort(reason);
      throw new Error('own error');
    }, controller.signal);
    await expect(call).rejects.toBe(reason);
  });

  test('an abort dispatched by a stage admitting the call stops it before the function', async () => {
    const controller = new AbortController();
    const reason = new Error('from a listener');
    const aborter = definePolicy({ family: 'aborter', enter: () => controller.abort(reason) });
    let ran = false;
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    const call = compose(aborter, rateLimit(limiter)).execute(() => {
      ran = true;
    }, controller.signal);
    await expect(call).rejects.toBe(reason);
    expect(ran).toBe(false);
    expect(limiter.takeSync?.('default', 0).remaining).toBe(5);
  });
});

// --- The property -------------------------------------------------------------------------------------------

type Kind = 'retry' | 'breaker' | 'bulkhead' | 'rateLimit' | 'timeout' | 'aborter';
type Point = 'before' | 'enter' | 'sync' | 'await' | 'sleep' | 'queue';

const REASON = 'caller abort';

interface Built {
  policies: AnyPolicy[];
  breaker?: ReturnType<typeof circuitBreaker>;
  pool?: ReturnType<typeof bulkhead>;
  limiter?: ReturnType<typeof tokenBucket>;
  deadline?: ReturnType<typeof timeout>;
}

function build(kinds: Kind[], clock: VirtualClock, abort: () => void): Built {
  const built: Built = { policies: [] };
  for (const kind of kinds) {
    switch (kind) {
      case 'retry':
        built.policies.push(retry({ maxAttempts: 2, backoff: 5, clock }));
        break;
      case 'breaker':
        built.breaker = circuitBreaker({ consecutiveFailures: 5, clock });
        built.policies.push(built.breaker);
        break;
      case 'bulkhead':
        built.pool = bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
        built.policies.push(built.pool);
        break;
      case 'rateLimit':
        built.limiter = tokenBucket({ capacity: 10, refillPerSecond: 1, clock });
        built.policies.push(rateLimit(built.limiter));
        break;
      case 'timeout':
        built.deadline = timeout({ ms: 100, clock });
        built.policies.push(built.deadline);
        break;
      case 'aborter':
        built.policies.push(definePolicy({ family: 'aborter', enter: abort }));
        break;
    }
  }
  return built;
}

const stackArb = fc
  .uniqueArray(fc.constantFrom<Kind>('retry', 'breaker', 'bulkhead', 'rateLimit', 'timeout'), { maxLength: 5 })
  .chain((kinds) => fc.shuffledSubarray(kinds, { minLength: kinds.length, maxLength: kinds.length }));

test('property: an abort at any point rejects with the reason at once and leaves every stage clean', async () => {
  await fc.assert(
    fc.asyncProperty(
      stackArb,
      fc.constantFrom<Point>('before', 'enter', 'sync', 'await', 'sleep', 'queue'),
      fc.nat(),
      async (stack, wanted, where) => {
        // A point the stack cannot reach falls back to an abort during the function's await.
        let point = wanted;
        if (point === 'sleep' && !stack.includes('retry')) point = 'await';
        if (point === 'queue' && !stack.includes('bulkhead')) point = 'await';
        const kinds = [...stack];
        if (point === 'enter') kinds.splice(where % (kinds.length + 1), 0, 'aborter');
        const clock = new VirtualClock();
        const controller = new AbortController();
        const reason = new Error(REASON);
        const abort = () => controller.abort(reason);
        const built = build(kinds, clock, abort);
        const policy = compose(...built.policies);

        // A blocker holds the bulkhead's one slot, so that the call queues.
        let releaseBlocker: (() => void) | undefined;
        const blocker =
          point === 'queue'
            ? (built.pool as AnyPolicy).execute(() => new Promise<void>((resolve) => (releaseBlocker = resolve)))
            : undefined;
        const tokensBefore = built.limiter?.takeSync?.('default', 0).remaining;

        if (point === 'before') abort();
        if (point === 'queue' || point === 'sleep') clock.setTimer(abort, 2);
        let invocations = 0;
        let settledAt: number | undefined;
        let outcome: unknown;
        policy
          .execute(async () => {
            invocations++;
            if (point === 'sync') abort();
            if (point === 'sleep') throw new Error('first attempt fails');
            await null;
            if (point === 'await') abort();
            return new Promise(() => {}); // never settles by itself
          }, controller.signal)
          .then(
            (value) => {
              settledAt = clock.now();
              outcome = { value };
            },
            (error: unknown) => {
              settledAt = clock.now();
              outcome = error;
            },
          );
        await clock.advanceAsync(2);
        releaseBlocker?.();
        await blocker;
        await clock.runAllAsync();

        expect(outcome).toBe(reason);
        expect(settledAt).toBe(point === 'queue' || point === 'sleep' ? 2 : 0);
        // Nothing left listening on the caller's signal.
        expect(fanoutOf(controller.signal)?.size ?? 0).toBe(0);
        const ran = invocations > 0;
        if (point === 'before' || point === 'enter' || point === 'queue') expect(ran).toBe(false);
        if (built.breaker !== undefined) {
          // Only a failure that happened before the abort (the first attempt, before a retry's sleep) counts.
          const breakerInsideRetry = kinds.indexOf('breaker') > kinds.indexOf('retry') && kinds.includes('retry');
          const expected = point === 'sleep' && breakerInsideRetry ? 1 : 0;
          expect(built.breaker.metrics.failures).toBe(expected);
          expect(built.breaker.metrics.calls).toBe(expected);
        }
        if (built.pool !== undefined) {
          expect(built.pool.running).toBe(0);
          expect(built.pool.queued).toBe(0);
        }
        if (built.deadline !== undefined) expect(built.deadline.pending).toBe(0);
        if (built.limiter !== undefined) {
          const spent = (tokensBefore as number) - (built.limiter.takeSync?.('default', 0).remaining as number);
          // A call stopped before the limiter's admission spends nothing.
          const limiterAt = kinds.indexOf('rateLimit');
          const stoppedAbove =
            point === 'before' ||
            (point === 'enter' && kinds.indexOf('aborter') < limiterAt) ||
            (point === 'queue' && kinds.indexOf('bulkhead') < limiterAt);
          if (stoppedAbove) expect(spent).toBe(0);
          expect(spent).toBeLessThanOrEqual(Math.max(invocations, 1) + (point === 'sleep' ? 1 : 0));
        }
      },
    ),
    { numRuns: 300 },
  );
});
