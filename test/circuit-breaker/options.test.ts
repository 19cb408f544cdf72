import { describe, expect, test } from 'vitest';
import { CIRCUIT_BREAKER_DEFAULTS, circuitBreaker, MAX_COUNT_WINDOW, MAX_TIME_BUCKETS, VirtualClock } from '../../src/index.js';

describe('circuitBreaker: option bounds', () => {
  test.each([
    [{ type: 'count', size: 1e9 }, /"window.size" must be an integer >= 1 and <= 1000000, got 1000000000/],
    [{ type: 'count', size: 1e300 }, /"window.size" .* got 1e\+300/],
    [{ type: 'time', durationMs: 1000, buckets: 1e8 }, /"window.buckets" must be an integer >= 1 and <= 10000, got 100000000/],
    [{ type: 'time', durationMs: 1000, buckets: 1e300 }, /"window.buckets"/],
    [{ type: 'time', durationMs: Number.POSITIVE_INFINITY }, /"window.durationMs"/],
  ])('a window that would allocate without bound is refused: %j', (window, message) => {
    expect(() => circuitBreaker({ window: window as never })).toThrow(RangeError);
    expect(() => circuitBreaker({ window: window as never })).toThrow(message);
  });

  test('the largest windows are accepted and work', async () => {
    const clock = new VirtualClock();
    const count = circuitBreaker({ window: { type: 'count', size: MAX_COUNT_WINDOW }, clock });
    const time = circuitBreaker({ window: { type: 'time', durationMs: 60_000, buckets: MAX_TIME_BUCKETS }, clock });
    for (const breaker of [count, time]) {
      expect(await breaker.execute(() => 'ok')).toBe('ok');
      expect(breaker.metrics.calls).toBe(1);
    }
  });

  test('null is an error, not the default', () => {
    expect(() => circuitBreaker({ minimumCalls: null as never })).toThrow(/"minimumCalls" must not be null/);
    expect(() => circuitBreaker({ halfOpen: { permits: null as never } })).toThrow(/"halfOpen.permits" must not be null/);
    expect(() => circuitBreaker({ window: null as never })).toThrow(TypeError);
  });

  test('durations are compared, never armed: a long open duration is accepted and honoured', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openDurationMs: 1e12, clock });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    expect(breaker.state).toBe('open');
    clock.advance(1e12 - 1);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(clock.pendingTimers).toBe(0);
  });

  test('the defaults are named', () => {
    const breaker = circuitBreaker();
    expect(CIRCUIT_BREAKER_DEFAULTS.window).toEqual({ type: 'count', size: 100 });
    expect(breaker.metrics.calls).toBe(0);
  });
});
