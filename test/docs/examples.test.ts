// Runs the example files of the docs that no family test runs (the others: test/docs.test.ts and
// test/<family>/*example*.test.ts). Their regions are the samples of the pages (test/docs/samples.test.ts).
import { describe, expect, test } from 'vitest';
import { events, recommendedOrder, testWithVirtualClock, threeWays } from '../../docs/examples/concepts.js';
import * as weir from '../../docs/examples/migrating.js';
import * as peers from '../../docs/examples/migrating-peers.js';
import { VirtualClock } from '../../src/index.js';

describe('docs/examples/concepts.ts', () => {
  test('a policy as a function decorator, a method decorator and an executor', async () => {
    expect(await threeWays('7')).toEqual(['user 42', 'user 43', 'user 7']);
  });

  test('the recommended composition returns fresh values, and the fallback on a non-retryable failure', async () => {
    expect(await recommendedOrder()).toEqual(['fresh', 'default']);
  });

  test('the VirtualClock sample passes as a test', async () => {
    await testWithVirtualClock(expect);
  });

  test('a listener sees events until it unsubscribes', async () => {
    const clock = new VirtualClock();
    const done = events(clock);
    await clock.runAllAsync();
    expect(await done).toEqual(['timeouts {"timeoutMs":50}']);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('docs/examples/migrating.ts and migrating-peers.ts: each recipe does what its peer does', () => {
  test('cockatiel: wrap(retry, breaker, timeout) and compose(retry, breaker, timeout) return the value', async () => {
    expect(await peers.cockatielPolicy()).toEqual(['user 42']);
    expect(await weir.fromCockatiel()).toEqual(['user 42']);
  });

  test("cockatiel's maxAttempts counts retries, weir's counts calls; both breakers reject with their own class", async () => {
    expect(await peers.cockatielCounts()).toEqual(['cockatiel maxAttempts: 3 made 4 calls', 'open: true']);
    expect(await weir.weirCounts()).toEqual(['weir maxAttempts: 3 made 3 calls', 'markNonRetryable: 1 call', 'open: true']);
  });

  test('opossum: a call succeeds through both', async () => {
    expect(await peers.opossumBreaker()).toEqual(['user 42']);
    expect(await weir.fromOpossum()).toEqual(['user 42']);
  });

  test('opossum: a failure gets the fallback in both; a filtered error skips it in both', async () => {
    const down = async (): Promise<peers.User> => {
      throw new Error('down');
    };
    expect(await peers.opossumBreaker(down)).toEqual(['cached user']);
    expect(await weir.fromOpossum(down)).toEqual(['cached user']);
    const invalid = async (): Promise<peers.User> => {
      throw new peers.ValidationError('bad id');
    };
    await expect(peers.opossumBreaker(invalid)).rejects.toThrow('bad id');
    await expect(weir.fromOpossum(invalid)).rejects.toThrow('bad id');
  });

  test("p-retry's retries counts retries (maxAttempts = retries + 1); AbortError and markNonRetryable stop at once", async () => {
    expect(await peers.pRetryCall()).toEqual(['user 42']);
    expect(await weir.fromPRetry()).toEqual(['user 42']);
    expect(await peers.pRetryCounts()).toEqual(['p-retry retries: 3 made 4 calls', 'AbortError: 1 call']);
  });

  test('rate-limiter-flexible: a first consume and a first take are allowed with 9 left', async () => {
    expect(await peers.rlfConsume()).toEqual(['allowed, 9 left']);
    expect(await weir.fromRateLimiterFlexible()).toEqual(['allowed, 9 left']);
  });

  test('a rejected consume is charged in rate-limiter-flexible, a refused take costs nothing in weir', async () => {
    expect(await peers.rlfCounts()).toEqual(['8: allowed', '5: rejected', '2: rejected']);
    expect(await weir.weirRefusedTakes()).toEqual(['8: allowed', '5: rejected', '2: allowed']);
  });

  test('express-rate-limit (draft-8) and weir/express (draft-10): same statuses and header fields', async () => {
    const expected = [
      '200 ratelimit ratelimit-policy',
      '200 ratelimit ratelimit-policy',
      '429 ratelimit ratelimit-policy retry-after',
    ];
    expect(await peers.expressRateLimit()).toEqual(expected);
    expect(await weir.fromExpressRateLimit()).toEqual(expected);
  });

  test("@fastify/rate-limit and weir/fastify with headers: 'legacy': same statuses and header fields", async () => {
    const limited = [
      '200 x-ratelimit-limit x-ratelimit-remaining x-ratelimit-reset',
      '200 x-ratelimit-limit x-ratelimit-remaining x-ratelimit-reset',
      '429 retry-after x-ratelimit-limit x-ratelimit-remaining x-ratelimit-reset',
    ];
    expect(await peers.fastifyRateLimitPlugin()).toEqual(limited);
    // weir: the same on '/', then the stricter route's own limit (1 per second) on '/search'.
    expect(await weir.fromFastifyRateLimit()).toEqual([...limited, limited[0], limited[2], limited[2]]);
  });
});
