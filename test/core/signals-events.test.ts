/**
 * Shared caller signals (one listener however many calls share it), listeners that reject, the same
 * stateful policy twice in one composition, and policy events on diagnostics channels.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  compose,
  definePolicy,
  type EventInfo,
  fallback,
  type ListenerErrorInfo,
  rateLimit,
  retry,
  setListenerErrorHandler,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

function collectWarnings(): { warnings: Error[]; stop(): void } {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  return { warnings, stop: () => process.off('warning', onWarning) };
}

describe('one listener per shared signal', () => {
  test('10 000 concurrent calls sharing one signal add one listener, and none is left after they end', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { warnings, stop } = collectWarnings();
    const policy = compose(retry({ maxAttempts: 2, backoff: 5, clock }), bulkhead({ maxConcurrent: 20_000, clock }));
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      calls.push(
        policy.execute(
          ({ attempt }) => (attempt === 1 ? Promise.reject(new Error('first attempt fails')) : i),
          controller.signal,
        ),
      );
    }
    await clock.advanceAsync(1); // every call now sleeps before its retry
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await clock.runAllAsync();
    expect((await Promise.all(calls)).length).toBe(10_000);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  test('timeouts whose signal is read and bulkhead waiters share the one listener too', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { warnings, stop } = collectWarnings();
    const policy = compose(bulkhead({ maxConcurrent: 10, maxQueue: 10_000, clock }), timeout({ ms: 1_000, clock }));
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      calls.push(
        policy.execute(
          ({ signal }) => new Promise((resolve) => clock.setTimer(() => resolve(signal.aborted), 1)),
          controller.signal,
        ),
      );
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await clock.runAllAsync();
    expect((await Promise.all(calls)).every((aborted) => aborted === false)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  test('calls waiting for a rate limiter share the one listener too', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1_000, clock });
    const policy = rateLimit(limiter, { wait: { maxWaitMs: 10_000 } });
    const calls = Array.from({ length: 200 }, (_, i) =>
      policy
        .execute(() => i, controller.signal)
        .then(
          () => 'ran',
          (error: unknown) => error,
        ),
    );
    await clock.advanceAsync(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await clock.runAllAsync();
    expect(await Promise.all(calls)).toHaveLength(200);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an abort of the shared signal reaches every call at once', async () => {
    const controller = new AbortController();
    const policy = compose(retry({ maxAttempts: 2 }), circuitBreaker({}));
    const calls = Array.from({ length: 100 }, () =>
      policy.execute(() => new Promise(() => {}), controller.signal).catch((error: unknown) => error),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const reason = new Error('request closed');
    controller.abort(reason);
    for (const outcome of await Promise.all(calls)) expect(outcome).toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('listeners', () => {
  test('a listener that returns a rejected promise is reported like a throwing one, and changes nothing', async () => {
    const reported: [unknown, ListenerErrorInfo][] = [];
    const previous = setListenerErrorHandler((error, info) => reported.push([error, info]));
    try {
      const policy = fallback('substitute');
      const boom = new Error('async listener failed');
      policy.on('fallback', async () => {
        throw boom;
      });
      await expect(policy.execute(() => Promise.reject(new Error('x')))).resolves.toBe('substitute');
      await new Promise((resolve) => setImmediate(resolve));
      expect(reported).toEqual([[boom, { event: 'fallback' }]]);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  test('listeners get the policy name, family and event', async () => {
    const seen: EventInfo[] = [];
    const policy = fallback('x', { name: 'cache-miss' });
    policy.on('fallback', (_, info) => seen.push(info));
    await policy.execute(() => Promise.reject(new Error('x')));
    expect(policy.name).toBe('cache-miss');
    expect(seen).toEqual([{ policy: 'cache-miss', family: 'fallback', event: 'fallback' }]);
  });
});

describe('the same stateful policy twice in one composition', () => {
  test.each([
    ['circuit breaker', () => circuitBreaker({ name: 'payments' } as never)],
    ['bulkhead', () => bulkhead({ maxConcurrent: 1, name: 'payments' } as never)],
    ['rate limit', () => rateLimit(tokenBucket({ capacity: 1, refillPerSecond: 1 }))],
  ])('%s: a TypeError naming it', (_, make) => {
    const policy = make();
    expect(() => compose(policy, timeout(10), policy)).toThrow(TypeError);
    expect(() => compose(policy, compose(timeout(10), policy))).toThrow(new RegExp(`"${policy.name}" appears twice`));
  });

  test('stateless policies may repeat: a timeout twice is two deadlines, a retry twice multiplies attempts', async () => {
    const t = timeout(1_000);
    const r = retry({ maxAttempts: 2, backoff: 0 });
    let calls = 0;
    await expect(
      compose(r, t, r, t).execute(() => {
        calls++;
        throw new Error('always');
      }),
    ).rejects.toThrow('always');
    expect(calls).toBe(4);
  });

  test('a custom policy declares itself stateful', () => {
    const lock = definePolicy({ family: 'lock', name: 'tenant-lock', stateful: true });
    expect(() => compose(lock, lock)).toThrow(/"tenant-lock" appears twice \(arguments 0 and 1\)/);
    const log = definePolicy({ family: 'log' });
    expect(() => compose(log, log)).not.toThrow();
  });
});
