import { describe, expect, test } from 'vitest';
import { resilientFetch } from '../../adapters/fetch/index.js';
import { tokenBucket } from '../../src/index.js';

describe('bad options fail at construction, naming the option and the value', () => {
  const cases: Array<[string, unknown, RegExp, ErrorConstructor]> = [
    ['unknown option', { retries: 3 }, /unknown option "retries"/, TypeError],
    ['options not an object', 5, /options must be an object, got 5/, TypeError],
    ['timeoutMs', { timeoutMs: 0 }, /"timeoutMs" must be a finite number of milliseconds > 0 .*got 0/, RangeError],
    ['deadlineMs', { deadlineMs: Number.NaN }, /"deadlineMs" .* got NaN/, RangeError],
    ['maxOrigins', { maxOrigins: 1.5 }, /"maxOrigins" must be an integer >= 1.*got 1.5/, RangeError],
    ['fetch', { fetch: 'x' }, /"fetch" must be a function/, TypeError],
    ['retry type', { retry: true }, /"retry" must be retry options or false, got true/, TypeError],
    ['retry.statuses', { retry: { statuses: [503, 700] } }, /"retry.statuses" .* got \[503,700\]/, RangeError],
    ['retry.methods', { retry: { methods: ['GET', 'BAD METHOD'] } }, /"retry.methods"/, TypeError],
    ['retry.retryOnResult', { retry: { retryOnResult: () => true } }, /use|statuses/, TypeError],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }, /option "retry.maxAttempts" must be an integer >= 1.*got 0/, RangeError],
    ['retry unknown', { retry: { attempts: 2 } }, /option "retry": unknown option "attempts"/, TypeError],
    ['retry.backoff', { retry: { backoff: -1 } }, /"retry.backoff" .* got -1/, RangeError],
    ['retry.idempotencyKeyHeader', { retry: { idempotencyKeyHeader: 'a b' } }, /idempotencyKeyHeader/, TypeError],
    [
      'retry.replayRequestBodies',
      { retry: { replayRequestBodies: 'yes' } },
      /"retry.replayRequestBodies" must be a boolean, got "yes"/,
      TypeError,
    ],
    [
      'circuitBreaker',
      { circuitBreaker: { failureRateThreshold: 2 } },
      /option "circuitBreaker": circuitBreaker: option "failureRateThreshold"/,
      RangeError,
    ],
    ['bulkhead', { bulkhead: 0 }, /option "bulkhead": bulkhead/, RangeError],
    ['bulkhead type', { bulkhead: 'x' }, /"bulkhead" must be a number or bulkhead options/, TypeError],
    ['rateLimit', { rateLimit: {} }, /option "rateLimit": rateLimit: .*limiter/, TypeError],
    ['clock', { clock: {} }, /option "clock"/, TypeError],
  ];
  test.each(cases)('%s', (_name, options, message, kind) => {
    let thrown: unknown;
    try {
      resilientFetch(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(kind);
    expect((thrown as Error).message).toMatch(message);
  });

  test('rateLimit with wait: a bad maxWaitMs fails at construction', () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1 });
    expect(() => resilientFetch({ rateLimit: { limiter, wait: { maxWaitMs: -1 } } })).toThrow(/wait.maxWaitMs/);
    expect(() => resilientFetch({ rateLimit: { limiter, extra: 1 } as never })).toThrow(/unknown option "extra"/);
  });

  test('the result is a function with fetch members', () => {
    const fetch = resilientFetch({ retry: false });
    expect(typeof fetch).toBe('function');
    expect(fetch.retry).toBeUndefined();
    expect(fetch.origins).toEqual([]);
    expect(fetch.policies('http://a.test')).toBeUndefined();
    // Type-level: assignable to the global fetch.
    const plain: typeof globalThis.fetch = fetch;
    expect(plain).toBe(fetch);
  });
});
