/** What the scenario suite must report on every runtime: the behaviour the policies promise. */
import { expect } from 'vitest';
import type { HttpFacts, SuiteResult } from './scenarios.js';

export type WarningChannel = 'process.emitWarning' | 'console.warn';

export function expectSuite(result: SuiteResult, warnings: WarningChannel): void {
  // The stack's first call retries its first failure (2 calls), like every later call.
  expect(result.firstCall).toEqual({ calls: 2, outcome: { ok: true, value: 'second attempt' } });
  // Every other scenario reported facts rather than throwing (a crash shows its stack here).
  const crashes = Object.entries(result).filter(([, facts]) => typeof facts === 'object' && facts !== null && 'crashed' in facts);
  expect(Object.fromEntries(crashes)).toEqual({});

  expect(result.retry).toEqual({ calls: 3, outcome: { ok: true, value: 'attempt 3' } });

  const breaker = result.circuitBreaker;
  expect(breaker.first).toMatchObject({ ok: false, error: 'Error' });
  expect(breaker.second).toMatchObject({ ok: false, error: 'Error' });
  expect(breaker.afterTwo).toBe('open');
  expect(breaker.rejected).toMatchObject({ ok: false, error: 'CircuitOpenError', code: 'ERR_WEIR_CIRCUIT_OPEN' });
  expect(breaker.callsWhileOpen).toBe(2);
  expect(breaker.afterCooldown).toBe('half-open');
  expect(breaker.probe).toEqual({ ok: true, value: 'recovered' });
  expect(breaker.end).toBe('closed');

  expect(result.bulkhead.refused).toMatchObject({ ok: false, error: 'BulkheadFullError', code: 'ERR_WEIR_BULKHEAD_FULL' });
  expect(result.bulkhead.first).toEqual({ ok: true, value: 'first' });
  expect(result.bulkhead.third).toEqual({ ok: true, value: 'third' });

  expect(result.rateLimit.outcomes).toEqual([
    { ok: true, value: 0 },
    { ok: true, value: 1 },
    { ok: false, error: 'RateLimitedError', code: 'ERR_WEIR_RATE_LIMITED' },
  ]);
  expect(result.rateLimit.retryAfterMs).toBe(1000);
  expect(result.rateLimit.afterRefill).toEqual({ ok: true, value: 'refilled' });

  expect(result.timeout.aggressive).toMatchObject({ ok: false, error: 'TimeoutError', code: 'ERR_WEIR_TIMEOUT' });
  expect(result.timeout.signalAborted).toBe(true);
  expect(result.timeout.cooperative).toMatchObject({ ok: false, error: 'TimeoutError', cause: 'stopped by the signal' });
  expect(result.timeout.inTime).toEqual({ ok: true, value: 'in time' });

  expect(result.fallback.value).toEqual({ ok: true, value: 'fallback value' });
  expect(result.fallback.computed).toEqual({ ok: true, value: 'recovered from broken' });

  expect(result.compose).toEqual({
    flakyCalls: 3,
    flaky: { ok: true, value: 'third time' },
    brokenCalls: 3,
    broken: { ok: true, value: 'fallback value' },
  });

  // A throwing listener changes nothing, and its error is reported where the runtime can.
  expect(result.listenerError.calls).toBe(2);
  expect(result.listenerError.outcome).toEqual({ ok: true, value: 'ok' });
  expect(result.listenerError.channels).toEqual([warnings]);

  expect(result.virtualClock).toEqual({ before: false, after: true });

  expect(result.sharedTimeout.slow).toMatchObject({ ok: false, error: 'TimeoutError' });
  expect(result.sharedTimeout.quick).toEqual({ ok: true, value: 'quick' });

  expectHonoLimits(result.hono.limited);
  // Shedding answers 503 with a problem-details body while the only slot is held; the held request completes.
  expect(result.hono.shed).toEqual({ status: 503, contentType: 'application/problem+json' });
  expect(result.hono.held).toEqual({ status: 200, body: 'slow' });
}

export function expectFetch(result: SuiteResult): void {
  expect(result.fetch).toEqual({ status: 200, body: 'recovered', attempts: '2' });
}

/** Client a: two allowed, the third refused (429, Retry-After, problem details); client b: its own budget. */
export function expectHonoLimits(responses: readonly HttpFacts[], retryAfter = '1'): void {
  expect(responses.map((r) => r.status)).toEqual([200, 200, 429, 200]);
  expect(responses.map((r) => r.retryAfter)).toEqual([null, null, retryAfter, null]);
  expect(responses[2]?.contentType).toBe('application/problem+json');
  expect(JSON.parse(responses[2]?.body ?? '{}')).toMatchObject({ status: 429 });
  // The IETF RateLimit field on every answer: remaining 1, 0, 0 for client a, 1 for client b.
  expect(responses.map((r) => /\br=(\d+)/.exec(r.rateLimit ?? '')?.[1])).toEqual(['1', '0', '0', '1']);
}
