import { afterEach, describe, expect, it } from 'vitest';
import { type Instrumentation, instrument } from '../../adapters/otel/index.js';
import {
  bulkhead,
  circuitBreaker,
  compose,
  constantBackoff,
  fallback,
  memoryStore,
  type RateLimitStore,
  rateLimit,
  retry,
  slidingWindow,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';
import { points, sdk, value } from './harness.js';

const fail = (error: unknown) => () => Promise.reject(error);
const ok = () => Promise.resolve('ok');
class HttpError extends Error {}

let active: Instrumentation | undefined;
afterEach(() => {
  active?.stop();
  active = undefined;
});

describe('weir/otel: each policy on the real SDK', () => {
  it('circuit breaker: calls by outcome, transitions, state gauge and time in state', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const breaker = circuitBreaker({ name: 'payments', consecutiveFailures: 2, openDurationMs: 1000, clock });
    active = instrument(breaker, { meterProvider, clock });

    await breaker.execute(ok);
    await expect(breaker.execute(fail(new TypeError('x')))).rejects.toThrow(TypeError);
    clock.advance(250);
    await expect(breaker.execute(fail(new HttpError('y')))).rejects.toThrow(HttpError);
    await expect(breaker.execute(ok)).rejects.toThrow(/open/i);
    let metrics = await collect();
    expect(value(metrics, 'weir.circuit_breaker.state', { 'weir.circuit_breaker.state': 'open' })).toBe(1);
    expect(value(metrics, 'weir.circuit_breaker.state', { 'weir.circuit_breaker.state': 'closed' })).toBe(0);
    clock.advance(1000);
    await breaker.execute(ok);
    metrics = await collect();

    const base = { 'weir.policy.name': 'payments', 'weir.policy.type': 'circuit-breaker' };
    expect(points(metrics, 'weir.policy.calls')).toEqual([
      {
        attributes: {
          ...base,
          'error.type': 'CircuitOpenError',
          'weir.policy.outcome': 'rejected',
          'weir.rejection.reason': 'open',
        },
        value: 1,
      },
      { attributes: { ...base, 'error.type': 'HttpError', 'weir.policy.outcome': 'failure' }, value: 1 },
      { attributes: { ...base, 'error.type': 'TypeError', 'weir.policy.outcome': 'failure' }, value: 1 },
      { attributes: { ...base, 'weir.policy.outcome': 'success' }, value: 2 },
    ]);
    expect(points(metrics, 'weir.circuit_breaker.transitions')).toEqual([
      {
        attributes: {
          ...base,
          'weir.circuit_breaker.previous_state': 'closed',
          'weir.circuit_breaker.state': 'open',
          'weir.circuit_breaker.transition_reason': 'consecutive-failures',
        },
        value: 1,
      },
      {
        attributes: {
          ...base,
          'weir.circuit_breaker.previous_state': 'half-open',
          'weir.circuit_breaker.state': 'closed',
          'weir.circuit_breaker.transition_reason': 'trials-passed',
        },
        value: 1,
      },
      {
        attributes: {
          ...base,
          'weir.circuit_breaker.previous_state': 'open',
          'weir.circuit_breaker.state': 'half-open',
          'weir.circuit_breaker.transition_reason': 'open-elapsed',
        },
        value: 1,
      },
    ]);
    expect(value(metrics, 'weir.circuit_breaker.state', { 'weir.circuit_breaker.state': 'closed' })).toBe(1);
    expect(value(metrics, 'weir.circuit_breaker.state', { 'weir.circuit_breaker.state': 'open' })).toBe(0);
    // 250 ms closed, then open for exactly the open duration; half-open for no time on the virtual clock.
    expect(value(metrics, 'weir.circuit_breaker.time', { 'weir.circuit_breaker.state': 'open' })).toBe(1);
    expect(value(metrics, 'weir.circuit_breaker.time', { 'weir.circuit_breaker.state': 'closed' })).toBe(0.25);
    expect(metrics.get('weir.circuit_breaker.time')?.unit).toBe('s');
  });

  it('retry: calls, attempts by call outcome, retries by error type, delays and give-ups', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const policy = retry({ name: 'fetch-user', maxAttempts: 3, backoff: constantBackoff(100), clock });
    active = instrument(policy, { meterProvider, clock });

    let calls = 0;
    const flaky = () => (++calls === 1 ? Promise.reject(new TypeError('once')) : Promise.resolve('ok'));
    const first = policy.execute(flaky);
    await clock.advanceAsync(100);
    await expect(first).resolves.toBe('ok');
    const second = policy.execute(fail(new HttpError('always')));
    const settled = expect(second).rejects.toThrow(HttpError);
    await clock.advanceAsync(100);
    await clock.advanceAsync(100);
    await settled;
    const metrics = await collect();

    const base = { 'weir.policy.name': 'fetch-user', 'weir.policy.type': 'retry' };
    expect(points(metrics, 'weir.policy.calls')).toEqual([
      { attributes: { ...base, 'error.type': 'HttpError', 'weir.policy.outcome': 'failure' }, value: 1 },
      { attributes: { ...base, 'weir.policy.outcome': 'success' }, value: 1 },
    ]);
    expect(points(metrics, 'weir.retry.attempts')).toEqual([
      { attributes: { ...base, 'weir.policy.outcome': 'failure' }, value: 3 },
      { attributes: { ...base, 'weir.policy.outcome': 'success' }, value: 2 },
    ]);
    expect(points(metrics, 'weir.retry.retries')).toEqual([
      { attributes: { ...base, 'error.type': 'HttpError' }, value: 2 },
      { attributes: { ...base, 'error.type': 'TypeError' }, value: 1 },
    ]);
    expect(points(metrics, 'weir.retry.give_ups')).toEqual([
      { attributes: { ...base, 'weir.retry.give_up_reason': 'attempts' }, value: 1 },
    ]);
    const delay = metrics.get('weir.retry.delay');
    expect(delay?.unit).toBe('s');
    expect(delay?.points).toHaveLength(1);
    expect(delay?.points[0]).toMatchObject({ value: 3, sum: expect.closeTo(0.3, 9) });
    expect(delay?.points[0]?.buckets?.boundaries[0]).toBe(0.001);
  });

  it('bulkhead: admitted, rejected by reason, aborted, running/queued/limit and time in queue', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const pool = bulkhead({ name: 'db', maxConcurrent: 1, maxQueue: 2, maxQueueWaitMs: 500, clock });
    active = instrument(pool, { meterProvider });

    let release!: () => void;
    const holding = pool.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const waiting = pool.execute(ok);
    const caller = new AbortController();
    const abandoned = pool.execute(ok, caller.signal);
    await expect(pool.execute(ok)).rejects.toThrow(/full/i);
    caller.abort();
    await expect(abandoned).rejects.toMatchObject({ name: 'AbortError' });
    let metrics = await collect();
    expect(value(metrics, 'weir.bulkhead.running', {})).toBe(1);
    expect(value(metrics, 'weir.bulkhead.queued', {})).toBe(1);
    expect(value(metrics, 'weir.bulkhead.limit', {})).toBe(1);
    clock.advance(200);
    release();
    await holding;
    await waiting;
    metrics = await collect();

    const base = { 'weir.policy.name': 'db', 'weir.policy.type': 'bulkhead' };
    expect(points(metrics, 'weir.policy.calls')).toEqual([
      { attributes: { ...base, 'error.type': 'AbortError', 'weir.policy.outcome': 'aborted' }, value: 1 },
      {
        attributes: {
          ...base,
          'error.type': 'BulkheadFullError',
          'weir.policy.outcome': 'rejected',
          'weir.rejection.reason': 'full',
        },
        value: 1,
      },
      { attributes: { ...base, 'weir.policy.outcome': 'admitted' }, value: 2 },
    ]);
    expect(value(metrics, 'weir.bulkhead.running', {})).toBe(0);
    expect(value(metrics, 'weir.bulkhead.queued', {})).toBe(0);
    expect(metrics.get('weir.bulkhead.time_in_queue')?.points).toMatchObject([{ attributes: base, value: 1, sum: 0.2 }]);
  });

  it('rate limit: decisions acquired and rejected by limit and reason, admitted calls, and the wait given', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const limiter = tokenBucket({ name: 'shared-bucket', capacity: 2, refillPerSecond: 1, clock });
    const limit = rateLimit(limiter, { name: 'api' });
    const patient = rateLimit(limiter, { name: 'api-patient', wait: { maxWaitMs: 5000 } });
    active = instrument([limit, patient], { meterProvider });

    await limit.execute(ok);
    await limit.execute(ok);
    await expect(limit.execute(ok)).rejects.toThrow(/rate/i);
    const later = patient.execute(ok);
    await clock.advanceAsync(1000);
    await expect(later).resolves.toBe('ok');
    const metrics = await collect();

    const api = { 'weir.policy.name': 'api', 'weir.policy.type': 'rate-limit' };
    const apiPatient = { 'weir.policy.name': 'api-patient', 'weir.policy.type': 'rate-limit' };
    expect(points(metrics, 'weir.policy.calls')).toEqual([
      {
        attributes: {
          ...api,
          'error.type': 'RateLimitedError',
          'weir.policy.outcome': 'rejected',
          'weir.rejection.reason': 'limit',
        },
        value: 1,
      },
      // Admitted after waiting for capacity.
      { attributes: { ...apiPatient, 'weir.policy.outcome': 'admitted' }, value: 1 },
      { attributes: { ...api, 'weir.policy.outcome': 'admitted' }, value: 2 },
    ]);
    expect(points(metrics, 'weir.rate_limiting.requests')).toEqual([
      {
        attributes: { ...apiPatient, 'weir.rate_limiting.limit': 'shared-bucket', 'weir.rate_limiting.result': 'acquired' },
        value: 1,
      },
      {
        attributes: { ...api, 'weir.rate_limiting.limit': 'shared-bucket', 'weir.rate_limiting.result': 'acquired' },
        value: 2,
      },
      {
        attributes: {
          ...api,
          'weir.rate_limiting.limit': 'shared-bucket',
          'weir.rate_limiting.result': 'rejected',
          'weir.rejection.reason': 'limit',
        },
        value: 1,
      },
    ]);
    expect(metrics.get('weir.rate_limiting.request.time_in_queue')?.points).toMatchObject([
      { attributes: { 'weir.policy.name': 'api-patient', 'weir.rate_limiting.limit': 'shared-bucket' }, value: 1, sum: 1 },
    ]);
  });

  it('rate limit on an asynchronous store: decisions acquired and rejected, by the reason of each refusal', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const inner = memoryStore();
    // A store with no synchronous take, as a remote one: every decision is a promise.
    const remote: RateLimitStore = {
      bind: (algorithm, storeClock) => {
        const bound = inner.bind(algorithm, storeClock);
        return { take: (key, cost, consume, limits) => bound.take(key, cost, consume, limits), reset: (key) => bound.reset(key) };
      },
    };
    const limiter = slidingWindow({ name: 'remote', limit: 3, windowMs: 1000, clock, store: remote });
    const policy = rateLimit(limiter, { name: 'uploads', cost: (size: number) => size });
    active = instrument(policy, { meterProvider });
    const upload = policy(async (size: number) => size);

    await expect(upload(1)).resolves.toBe(1);
    await expect(upload(2)).resolves.toBe(2);
    await expect(upload(1)).rejects.toMatchObject({ reason: 'limit' });
    await expect(upload(4)).rejects.toMatchObject({ reason: 'cost-exceeds-limit' });
    const metrics = await collect();

    const attributes = { 'weir.policy.name': 'uploads', 'weir.policy.type': 'rate-limit', 'weir.rate_limiting.limit': 'remote' };
    expect(points(metrics, 'weir.rate_limiting.requests')).toEqual([
      { attributes: { ...attributes, 'weir.rate_limiting.result': 'acquired' }, value: 2 },
      {
        attributes: { ...attributes, 'weir.rate_limiting.result': 'rejected', 'weir.rejection.reason': 'cost-exceeds-limit' },
        value: 1,
      },
      { attributes: { ...attributes, 'weir.rate_limiting.result': 'rejected', 'weir.rejection.reason': 'limit' }, value: 1 },
    ]);
    expect(value(metrics, 'weir.policy.calls', { 'weir.policy.outcome': 'admitted' })).toBe(2);
  });

  it('timeout and fallback: timed-out calls and fallbacks by the error they replaced', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const deadline = timeout({ name: 'slow-call', ms: 100, clock });
    const backup = fallback(() => 'cached', { name: 'cache' });
    const pipeline = compose(backup, deadline);
    active = instrument(pipeline, { meterProvider });

    const pending = pipeline.execute(() => new Promise(() => {}));
    clock.advance(100);
    await expect(pending).resolves.toBe('cached');
    await expect(pipeline.execute(ok)).resolves.toBe('ok');
    const metrics = await collect();

    expect(points(metrics, 'weir.policy.calls')).toEqual([
      {
        attributes: {
          'error.type': 'TimeoutError',
          'weir.policy.name': 'cache',
          'weir.policy.outcome': 'fallback',
          'weir.policy.type': 'fallback',
        },
        value: 1,
      },
      {
        attributes: {
          'error.type': 'TimeoutError',
          'weir.policy.name': 'slow-call',
          'weir.policy.outcome': 'timeout',
          'weir.policy.type': 'timeout',
        },
        value: 1,
      },
    ]);
  });
});
