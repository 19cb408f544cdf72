import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { Emitter, setListenerErrorHandler } from '../../src/core/events.js';
import {
  BulkheadFullError,
  CircuitOpenError,
  isAbortError,
  isBulkheadFullError,
  isCircuitOpenError,
  isNonRetryable,
  isRateLimitedError,
  isRetryExhaustedError,
  isTimeoutError,
  isWeirError,
  markNonRetryable,
  RateLimitedError,
  RetryExhaustedError,
  TimeoutError,
  WeirError,
} from '../../src/index.js';

describe('errors', () => {
  test('have name, stable code, message and fields', () => {
    const cases = [
      [new TimeoutError(50), 'TimeoutError', 'ERR_WEIR_TIMEOUT', isTimeoutError],
      [new CircuitOpenError(1200, 'open'), 'CircuitOpenError', 'ERR_WEIR_CIRCUIT_OPEN', isCircuitOpenError],
      [new BulkheadFullError('full', 4), 'BulkheadFullError', 'ERR_WEIR_BULKHEAD_FULL', isBulkheadFullError],
      [new RateLimitedError(300, { limit: 10 }), 'RateLimitedError', 'ERR_WEIR_RATE_LIMITED', isRateLimitedError],
    ] as const;
    for (const [error, name, code, guard] of cases) {
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(WeirError);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(guard(error)).toBe(true);
      expect(isWeirError(error)).toBe(true);
      expect(error.stack).toContain(name);
      for (const [other, , , otherGuard] of cases) if (other !== error) expect(otherGuard(error)).toBe(false);
    }
    expect(new CircuitOpenError(1200).retryAfterMs).toBe(1200);
    expect(new RateLimitedError(300).retryAfterMs).toBe(300);
    expect(new TimeoutError(5, { cause: 'x' }).cause).toBe('x');
    const exhausted = new RetryExhaustedError(3, { status: 503 }, 'attempts');
    expect(isWeirError(exhausted) && isRetryExhaustedError(exhausted) && exhausted.code === 'ERR_WEIR_RETRY_EXHAUSTED').toBe(
      true,
    );
    expect(exhausted.name).toBe('RetryExhaustedError');
    expect(isRetryExhaustedError(new TimeoutError(1))).toBe(false);
    expect(isWeirError(new Error('x'))).toBe(false);
    expect(isWeirError(null)).toBe(false);
  });

  test('fast rejections capture no stack yet behave as errors', () => {
    const error = CircuitOpenError.fast(250, 'half-open');
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(Error);
    expect(Object.getOwnPropertyNames(error)).not.toContain('stack');
    expect(error.stack).toContain('without a stack trace');
    expect(error.message).toBe('Circuit is half-open; retry after 250 ms');
    expect(error.retryAfterMs).toBe(250);
    expect(error.state).toBe('half-open');
    expect(String(error)).toBe('CircuitOpenError: Circuit is half-open; retry after 250 ms');
    expect(TimeoutError.fast(10, 'why').cause).toBe('why');
    expect(RateLimitedError.fast(Number.POSITIVE_INFINITY, 'cost-exceeds-limit', 5, 5).message).toContain('can never pass');
    expect(BulkheadFullError.fast('queue-timeout', 3).reason).toBe('queue-timeout');
    const withStack = TimeoutError.fast(1);
    withStack.stack = 'custom';
    expect(withStack.stack).toBe('custom');
  });

  test('guards work across two copies of the package (the ESM and the CommonJS build)', async () => {
    const require = createRequire(import.meta.url);
    const cjs = require('../../dist/index.cjs') as unknown as typeof import('../../src/index.js');
    const esm = (await import('../../dist/index.js')) as unknown as typeof import('../../src/index.js');
    expect(cjs.TimeoutError).not.toBe(esm.TimeoutError);
    const fromCjs = new cjs.TimeoutError(5);
    expect(fromCjs instanceof esm.TimeoutError).toBe(false);
    expect(esm.isTimeoutError(fromCjs)).toBe(true);
    expect(isTimeoutError(fromCjs)).toBe(true);
    expect(esm.isCircuitOpenError(cjs.CircuitOpenError.fast(1))).toBe(true);
  });

  test('abort and non-retryable markers', () => {
    const controller = new AbortController();
    controller.abort();
    expect(isAbortError(controller.signal.reason)).toBe(true);
    expect(isAbortError(new Error('x'))).toBe(false);
    const error = markNonRetryable(new Error('bad input'));
    expect(isNonRetryable(error)).toBe(true);
    expect(isNonRetryable({ retryable: false })).toBe(true);
    expect(isNonRetryable(new Error('x'))).toBe(false);
    expect(isNonRetryable('x')).toBe(false);
  });
});

describe('events', () => {
  type E = { a: number; b: string };
  test('on returns an unsubscribe; listeners run in order; unknown events are refused', () => {
    const emitter = new Emitter<E>(new Set(['a', 'b']));
    const seen: string[] = [];
    expect(emitter.has('a')).toBe(false);
    const off1 = emitter.on('a', (n) => seen.push(`1:${n}`));
    const off2 = emitter.on('a', (n) => seen.push(`2:${n}`));
    expect(emitter.has('a')).toBe(true);
    emitter.emit('a', 1);
    off1();
    off1();
    emitter.emit('a', 2);
    off2();
    expect(emitter.has('a')).toBe(false);
    emitter.emit('a', 3);
    expect(seen).toEqual(['1:1', '2:1', '2:2']);
    expect(() => emitter.on('c' as never, () => {})).toThrow(/unknown event "c"; known events: a, b/);
    expect(() => emitter.on('a', 5 as never)).toThrow(TypeError);
  });

  test('a throwing listener goes to the handler, the others still run, a throwing handler is contained', () => {
    const emitter = new Emitter<E>(new Set(['a']));
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((error) => {
      reported.push(error);
      throw new Error('handler broken');
    });
    try {
      const boom = new Error('boom');
      let second = 0;
      emitter.on('a', () => {
        throw boom;
      });
      emitter.on('a', () => second++);
      expect(() => emitter.emit('a', 1)).not.toThrow();
      expect(reported).toEqual([boom]);
      expect(second).toBe(1);
    } finally {
      setListenerErrorHandler(previous);
    }
    expect(() => setListenerErrorHandler(5 as never)).toThrow(TypeError);
  });

  test('the default handler emits a process warning with code WEIR_LISTENER_ERROR', async () => {
    const emitter = new Emitter<E>(new Set(['b']));
    emitter.on('b', () => {
      throw new Error('oops');
    });
    const warning = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
    emitter.emit('b', 'x');
    const w = await warning;
    expect(w.code).toBe('WEIR_LISTENER_ERROR');
    expect(w.message).toContain('a listener of "b" threw: Error: oops');
  });
});
