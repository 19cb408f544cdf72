/**
 * The adapters' backstop (`storeTimeoutMs`) against a store's own deadline (the Redis store's `timeoutMs`):
 * the store's `onError` must always decide first, or a fail-closed store would become fail-open behind the
 * adapter (whose `storeFailure` defaults to 'allow'). The end-to-end case on a paused redis-server is in
 * scenarios.ts ("a fail-closed store slower than the default backstop").
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  backstopMs,
  CompiledLimit,
  checkResponseOptions,
  type ResponseOptions,
  STORE_TIMEOUT_MARGIN_MS,
} from '../../adapters/http/limit.js';
import { memoryStore, type RateLimitStore, tokenBucket } from '../../src/index.js';

/** An asynchronous store with its own deadline, as the Redis store's bound store has. */
function slowStore(timeoutMs: unknown): RateLimitStore {
  return {
    bind(algorithm, clock) {
      const inner = memoryStore().bind(algorithm, clock);
      return { take: (key, cost, consume) => Promise.resolve(inner.take(key, cost, consume)), reset: inner.reset, timeoutMs };
    },
  } as RateLimitStore;
}

const WHERE = 'test';
function backstop(store: RateLimitStore, response: ResponseOptions<unknown>): number {
  const settings = checkResponseOptions(WHERE, response);
  const limit = new CompiledLimit<unknown>(
    WHERE,
    { limiter: tokenBucket({ capacity: 5, refillPerSecond: 1, store }), name: 'api' },
    'draft-10',
  );
  return backstopMs(WHERE, limit, settings);
}

test('the default backstop waits for the store: max(1000, timeoutMs + margin)', () => {
  expect(backstop(slowStore(100), {})).toBe(1000);
  expect(backstop(slowStore(2000), {})).toBe(2000 + STORE_TIMEOUT_MARGIN_MS);
  expect(STORE_TIMEOUT_MARGIN_MS).toBe(100);
  fc.assert(
    fc.property(fc.double({ min: 0.001, max: 1e7, noNaN: true }), (own) => {
      const ms = backstop(slowStore(own), {});
      expect(ms).toBeGreaterThanOrEqual(own + STORE_TIMEOUT_MARGIN_MS);
      expect(ms).toBe(Math.max(1000, own + STORE_TIMEOUT_MARGIN_MS));
    }),
  );
});

test('an explicit storeTimeoutMs is kept when it leaves the store its time, and refused when it does not', () => {
  expect(backstop(slowStore(2000), { storeTimeoutMs: 2100 })).toBe(2100);
  expect(backstop(slowStore(2000), { storeTimeoutMs: Number.POSITIVE_INFINITY })).toBe(Number.POSITIVE_INFINITY);
  expect(backstop(slowStore(100), { storeTimeoutMs: 250 })).toBe(250);
  expect(() => backstop(slowStore(2000), { storeTimeoutMs: 1000 })).toThrow(RangeError);
  expect(() => backstop(slowStore(2000), { storeTimeoutMs: 2099 })).toThrow(
    /test: option "storeTimeoutMs" \(2099\) must be at least the store's own timeoutMs \(2000\) \+ 100 for limit "api", so that the store's onError decides before this backstop/,
  );
  fc.assert(
    fc.property(
      fc.double({ min: 0.001, max: 1e6, noNaN: true }),
      fc.double({ min: 0.001, max: 2e6, noNaN: true }),
      (own, explicit) => {
        const ok = explicit >= own + STORE_TIMEOUT_MARGIN_MS;
        if (ok) expect(backstop(slowStore(own), { storeTimeoutMs: explicit })).toBe(explicit);
        else expect(() => backstop(slowStore(own), { storeTimeoutMs: explicit })).toThrow(RangeError);
      },
    ),
  );
});

test('stores without a deadline (or with none that makes sense) keep storeTimeoutMs as given', () => {
  expect(backstop(memoryStore(), { storeTimeoutMs: 5 })).toBe(5);
  expect(backstop(memoryStore(), {})).toBe(1000);
  for (const odd of [undefined, 'slow', Number.NaN, 0, -5, Number.POSITIVE_INFINITY]) {
    expect(backstop(slowStore(odd), { storeTimeoutMs: 5 })).toBe(5);
  }
});
