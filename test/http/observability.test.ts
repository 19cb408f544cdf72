/**
 * What the adapters make observable on real servers (Express 5, Express 4, Fastify 5): every limit's outcome
 * through `onResult` and the `weir:http:rate-limit` diagnostics channel, store failures that are never
 * silent (a warning once per process when nobody listens), and decisions that are checked before use
 * (an invalid one is a store failure).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidDecisionError, invalidDecision, RATE_LIMIT_CHANNEL, type RateLimitOutcome } from '../../adapters/http/limit.js';
import { memoryStore, type RateLimitStore, tokenBucket, VirtualClock } from '../../src/index.js';
import { express4Harness, express5Harness, FailingStore, fastifyHarness, type Running, type Setup } from './harness.js';
import { get } from './scenarios.js';

/** A store that answers every take with `decision` (asynchronously, or synchronously with `sync`). */
function answering(decision: unknown, sync = false): RateLimitStore {
  return {
    bind: () => ({
      take: () => Promise.resolve(decision as never),
      ...(sync ? { takeSync: () => decision as never } : {}),
      reset: () => Promise.resolve(),
    }),
  } as RateLimitStore;
}

const VALID = { allowed: true, limit: 5, remaining: 4, retryAfterMs: 0, resetAfterMs: 200, reason: undefined };

test('invalidDecision accepts what the stores answer and names what is wrong otherwise', () => {
  const limiter = tokenBucket({ capacity: 3, refillPerSecond: 1, clock: new VirtualClock() });
  expect(invalidDecision(limiter.takeSync?.('k', 1))).toBeUndefined();
  expect(invalidDecision(limiter.takeSync?.('k', 5))).toBeUndefined(); // never: retryAfterMs Infinity
  expect(invalidDecision(VALID)).toBeUndefined();
  const cases: [unknown, RegExp][] = [
    [null, /not an object/],
    [{ ...VALID, allowed: 'no' }, /"allowed" must be a boolean, got "no"/],
    [{ ...VALID, limit: Number.NaN }, /"limit"/],
    [{ ...VALID, limit: 0 }, /"limit"/],
    [{ ...VALID, remaining: Number.NaN }, /"remaining"/],
    [{ ...VALID, remaining: 6 }, /"remaining"/],
    [{ ...VALID, remaining: -1 }, /"remaining"/],
    [{ ...VALID, retryAfterMs: Number.NaN }, /"retryAfterMs"/],
    [{ ...VALID, retryAfterMs: Number.POSITIVE_INFINITY }, /"retryAfterMs"/],
    [{ ...VALID, resetAfterMs: Number.POSITIVE_INFINITY }, /"resetAfterMs"/],
    [{ ...VALID, resetAfterMs: '1' }, /"resetAfterMs"/],
  ];
  for (const [decision, reason] of cases) expect(invalidDecision(decision)).toMatch(reason);
});

for (const harness of [express5Harness, express4Harness, fastifyHarness]) {
  describe(harness.name, () => {
    let running: Running | undefined;
    const start = async (setup: Setup): Promise<string> => {
      running = await harness.start(setup);
      return running.url;
    };
    afterEach(async () => {
      await running?.close();
      running = undefined;
    });

    for (const sync of [true, false]) {
      test.each([
        ['allowed: "no"', { ...VALID, allowed: 'no' }],
        ['NaN remaining', { ...VALID, remaining: Number.NaN }],
        ['NaN limit', { ...VALID, limit: Number.NaN }],
        ['not an object', 'yes'],
      ])(
        `an invalid decision (%s, ${sync ? 'sync' : 'async'}) is a store failure: 503 with 'reject'`,
        async (_name, decision) => {
          const errors: unknown[] = [];
          const url = await start({
            global: [
              { limiter: tokenBucket({ capacity: 5, refillPerSecond: 1, store: answering(decision, sync) }), name: 'api' },
            ],
            response: { storeFailure: 'reject', onStoreError: (error) => errors.push(error) },
          });
          const reply = await get(url);
          expect(reply.status).toBe(503);
          expect(reply.headers.get('ratelimit')).toBeNull();
          expect(errors).toHaveLength(1);
          expect(errors[0]).toBeInstanceOf(InvalidDecisionError);
        },
      );
    }

    test("an invalid decision with 'allow' lets the request through without fields (never r=NaN)", async () => {
      const outcomes: RateLimitOutcome[] = [];
      const url = await start({
        global: [
          { limiter: tokenBucket({ capacity: 5, refillPerSecond: 1, store: answering({ ...VALID, remaining: Number.NaN }) }) },
        ],
        response: { onResult: (outcome) => outcomes.push(outcome) },
      });
      const reply = await get(url);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('ratelimit')).toBeNull();
      expect(outcomes.map((o) => [o.result, o.action])).toEqual([['store-error', 'allow']]);
      expect(outcomes[0]?.error).toBeInstanceOf(InvalidDecisionError);
    });

    test('onResult and the diagnostics channel see every outcome, with the route and the limit name', async () => {
      const clock = new VirtualClock();
      const fromOption: RateLimitOutcome[] = [];
      const fromChannel: RateLimitOutcome[] = [];
      const listener = (message: unknown) => fromChannel.push(message as RateLimitOutcome);
      subscribe(RATE_LIMIT_CHANNEL, listener);
      try {
        const url = await start({
          routes: { '/a': [{ limiter: tokenBucket({ capacity: 1, refillPerSecond: 1, clock }), name: 'per-route' }] },
          response: { onResult: (outcome) => fromOption.push(outcome) },
        });
        expect((await get(`${url}/a`)).status).toBe(200);
        expect((await get(`${url}/a`)).status).toBe(429);
      } finally {
        unsubscribe(RATE_LIMIT_CHANNEL, listener);
      }
      for (const outcomes of [fromOption, fromChannel]) {
        expect(outcomes.map((o) => [o.name, o.result, o.route, o.key, o.cost])).toEqual([
          ['per-route', 'allowed', '/a', 'ip:127.0.0.1', 1],
          ['per-route', 'limited', '/a', 'ip:127.0.0.1', 1],
        ]);
        expect(outcomes[1]?.decision?.remaining).toBe(0);
        expect(outcomes[0]?.adapter).toMatch(/^weir\/(express|fastify)/);
      }
    });

    test('a store failure let through with nobody listening prints one warning per process; a listener silences it', async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        // Listened: no warning.
        const listened = await start({
          global: [{ limiter: tokenBucket({ capacity: 5, refillPerSecond: 1, store: new FailingStore('rejects') }) }],
          response: { onStoreError: () => {} },
        });
        expect((await get(listened)).status).toBe(200);
        await running?.close();
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings.filter((w) => (w as { code?: string }).code === 'WEIR_STORE_FAILURE_ALLOWED')).toHaveLength(0);
        // Unlistened: the first failure warns.
        const url = await start({
          global: [{ limiter: tokenBucket({ capacity: 5, refillPerSecond: 1, store: new FailingStore('rejects') }) }],
        });
        expect((await get(url)).status).toBe(200);
        expect((await get(url)).status).toBe(200);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'WEIR_STORE_FAILURE_ALLOWED');
      // Once per process: the first harness of this file warned; later ones find it already said.
      expect(ours.length).toBeLessThanOrEqual(1);
      if (harness === express5Harness) {
        expect(ours).toHaveLength(1);
        expect(ours[0]?.message).toMatch(/failed \(Error: ECONNREFUSED.*storeFailure: 'allow'/);
      }
    });
  });
}

test('storeTimeoutMs past the timer range, or null, is refused at construction', async () => {
  const { rateLimit } = await import('../../adapters/express/index.js');
  const limiter = tokenBucket({ capacity: 3, refillPerSecond: 1, store: memoryStore() });
  for (const value of [2 ** 31, 1e300, null, Number.NaN, 0, -1]) {
    expect(() => rateLimit({ limiter, storeTimeoutMs: value as number })).toThrow(/option "storeTimeoutMs"/);
  }
  expect(() => rateLimit({ limiter, storeTimeoutMs: 2 ** 31 - 1 })).not.toThrow();
  expect(() => rateLimit({ limiter, storeTimeoutMs: Number.POSITIVE_INFINITY })).not.toThrow();
  expect(() => rateLimit({ limiter, storeFailure: null as never })).toThrow(/option "storeFailure"/);
});
