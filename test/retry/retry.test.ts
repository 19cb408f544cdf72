import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BulkheadFullError,
  CircuitOpenError,
  compose,
  constantBackoff,
  exponentialBackoff,
  isRetryExhaustedError,
  isTimeoutError,
  type Jitter,
  markNonRetryable,
  type PolicyContext,
  RateLimitedError,
  type RetryEvents,
  RetryExhaustedError,
  type RetryPolicy,
  retry,
  retryBudget,
  setListenerErrorHandler,
  type TimeoutError,
  timeout,
  VirtualClock,
} from '../../src/index.js';
import { jitteredDelay } from '../../src/retry/backoff.js';
import { expectEveryFormRejects } from '../helpers/call-forms.js';

afterEach(() => {
  setListenerErrorHandler(undefined);
});

/** Records every event of a policy, in order. */
function record(policy: RetryPolicy): { name: keyof RetryEvents; event: any }[] {
  const log: { name: keyof RetryEvents; event: any }[] = [];
  for (const name of ['retry', 'giveUp', 'success', 'failure'] as const) policy.on(name, (event) => log.push({ name, event }));
  return log;
}

/** Settles `promise` without an unhandled rejection, for inspection after the clock has run. */
function settle<T>(promise: Promise<T>): { readonly done: boolean; readonly ok?: boolean; readonly value?: unknown } {
  const state: { done: boolean; ok?: boolean; value?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, ok: true, value }),
    (value) => Object.assign(state, { done: true, ok: false, value }),
  );
  return state;
}

/** A function that waits `durations[i]` ms on the clock (abortably) and then fails, or succeeds when `succeedAt` is reached. */
function worker(clock: VirtualClock, durations: readonly number[], succeedAt = Number.POSITIVE_INFINITY) {
  const starts: number[] = [];
  const fn = (ctx: PolicyContext) => {
    starts.push(clock.now());
    const attempt = starts.length;
    expect(ctx.attempt).toBe(attempt);
    return new Promise<number>((resolve, reject) => {
      const done = () => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (attempt >= succeedAt) resolve(attempt);
        else reject(new Error(`fail ${attempt}`));
      };
      const timer = clock.setTimer(done, durations[(attempt - 1) % Math.max(1, durations.length)] ?? 0);
      const onAbort = () => {
        clock.clearTimer(timer);
        reject(ctx.signal.reason);
      };
      ctx.signal.addEventListener('abort', onAbort);
    });
  };
  return { fn, starts };
}

describe('retry: attempts', () => {
  test('maxAttempts counts every call: 3 means at most 3 calls', async () => {
    let calls = 0;
    const policy = retry({ maxAttempts: 3, backoff: 0 });
    await expect(
      policy.execute(() => {
        calls++;
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(calls).toBe(3);
  });

  test('calls never exceed maxAttempts, and a success stops at once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 12 }), async (maxAttempts, failures) => {
        const clock = new VirtualClock();
        const policy = retry({ maxAttempts, clock, backoff: exponentialBackoff({ initialMs: 10, maxMs: 100 }) });
        const log = record(policy);
        let calls = 0;
        const result = settle(
          policy.execute(({ attempt }) => {
            calls++;
            expect(attempt).toBe(calls);
            if (calls <= failures) throw new Error(`fail ${calls}`);
            return calls;
          }),
        );
        await clock.runAllAsync();
        expect(result.done).toBe(true);
        expect(calls).toBe(Math.min(failures + 1, maxAttempts));
        expect(result.ok).toBe(failures < maxAttempts);
        if (result.ok) expect(result.value).toBe(failures + 1);
        else expect((result.value as Error).message).toBe(`fail ${maxAttempts}`);
        expect(log.filter((e) => e.name === 'retry')).toHaveLength(calls - 1);
        expect(log.at(-1)?.name).toBe(result.ok ? 'success' : 'failure');
        expect(log.at(-1)?.event.attempts).toBe(calls);
        expect(clock.pendingTimers).toBe(0);
      }),
    );
  });

  test('Infinity attempts (bounded by time) retry until success', async () => {
    let calls = 0;
    const value = await retry({ maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 60_000, backoff: 0 }).execute(() => {
      if (++calls < 50) throw new Error('again');
      return 'ok';
    });
    expect([value, calls]).toEqual(['ok', 50]);
  });

  test('decorates functions and methods, keeping this and arguments', async () => {
    const policy = retry({ backoff: 0 });
    class Repo {
      calls = 0;
      @policy
      async load(id: number) {
        if (++this.calls < 2) throw new Error('flaky');
        return `row ${id}`;
      }
    }
    const repo = new Repo();
    expect(await repo.load(7)).toBe('row 7');
    expect(repo.calls).toBe(2);
    let n = 0;
    const add = policy((a: number, b: number) => {
      if (++n < 3) throw new Error('flaky');
      return a + b;
    });
    expect(await add(2, 3)).toBe(5);
  });
});

describe('retry: delays', () => {
  const jitter = fc.constantFrom<Jitter>('none', 'full', 'equal', 'decorrelated');

  test('the waits are the backoff delays, within their jitter bounds, raised to a Retry-After hint up to maxDelayMs (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          initialMs: fc.integer({ min: 0, max: 500 }),
          factor: fc.integer({ min: 1, max: 4 }),
          extra: fc.integer({ min: 0, max: 3_000 }),
          jitter,
          maxAttempts: fc.integer({ min: 1, max: 7 }),
          maxDelayMs: fc.integer({ min: 0, max: 10_000 }),
          seed: fc.integer(),
          hints: fc.array(fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }), { minLength: 7, maxLength: 7 }),
          durations: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 7 }),
        }),
        async (p) => {
          const clock = new VirtualClock({ seed: p.seed });
          const maxMs = p.initialMs + p.extra;
          const policy = retry({
            maxAttempts: p.maxAttempts,
            maxDelayMs: p.maxDelayMs,
            clock,
            backoff: exponentialBackoff({ initialMs: p.initialMs, factor: p.factor, maxMs, jitter: p.jitter }),
          });
          const delays: number[] = [];
          policy.on('retry', ({ delayMs }) => delays.push(delayMs));
          const starts: number[] = [];
          const ends: number[] = [];
          const result = settle(
            policy.execute(
              () =>
                new Promise((_, reject) => {
                  const i = starts.length;
                  starts.push(clock.now());
                  clock.setTimer(
                    () => {
                      ends.push(clock.now());
                      const hint = p.hints[i];
                      reject(Object.assign(new Error(`fail ${i + 1}`), hint === undefined ? {} : { retryAfterMs: hint }));
                    },
                    p.durations[i % p.durations.length] as number,
                  );
                }),
            ),
          );
          await clock.runAllAsync();
          expect(result.ok).toBe(false);
          expect(starts).toHaveLength(p.maxAttempts);
          expect(delays).toHaveLength(p.maxAttempts - 1);
          let previous: number | undefined;
          delays.forEach((d, i) => {
            // The wait really is the announced delay.
            expect(starts[i + 1]! - ends[i]!).toBeCloseTo(d, 6);
            const hint = p.hints[i];
            const floor = hint === undefined ? 0 : Math.min(hint, p.maxDelayMs);
            expect(d).toBeGreaterThanOrEqual(floor);
            expect(d).toBeLessThanOrEqual(Math.max(maxMs, floor));
            if (d > floor) {
              // The backoff's own delay decided: check it against its jitter kind.
              const expo = Math.min(maxMs, p.initialMs * p.factor ** i);
              if (p.jitter === 'none') expect(d).toBeCloseTo(expo, 6);
              if (p.jitter === 'full') expect(d).toBeLessThan(expo);
              if (p.jitter === 'equal') expect(d).toBeGreaterThanOrEqual(expo / 2 - 1e-9);
              if (p.jitter === 'equal') expect(d).toBeLessThanOrEqual(expo);
              if (p.jitter === 'decorrelated')
                expect(d).toBeLessThanOrEqual(Math.min(maxMs, 3 * (previous ?? p.initialMs)) + 1e-9);
              previous = d;
            } else {
              previous = undefined; // the backoff's own value is hidden under the hint; skip the next chain check
            }
            if (previous === undefined && p.jitter === 'decorrelated') previous = Number.POSITIVE_INFINITY;
          });
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('decorrelated jitter chains each delay on the previous one, drawing from the injected clock', async () => {
    const clock = new VirtualClock({ seed: 7 });
    const twin = new VirtualClock({ seed: 7 });
    const policy = retry({
      clock,
      maxAttempts: 8,
      backoff: exponentialBackoff({ initialMs: 100, maxMs: 10_000, jitter: 'decorrelated' }),
    });
    const delays: number[] = [];
    policy.on('retry', (e) => delays.push(e.delayMs));
    const result = settle(
      policy.execute(() => {
        throw new Error('x');
      }),
    );
    await clock.runAllAsync();
    expect(result.ok).toBe(false);
    const expected: number[] = [];
    let previous: number | undefined;
    for (let attempt = 1; attempt < 8; attempt++) {
      previous = jitteredDelay('decorrelated', 100, 2, 10_000, attempt, previous, twin.random());
      expected.push(previous);
    }
    expect(delays).toEqual(expected);
  });

  test('a custom backoff function gets the failed attempt and its outcome', async () => {
    const clock = new VirtualClock();
    const seen: unknown[] = [];
    const policy = retry({
      clock,
      maxAttempts: 3,
      backoff: (attempt, outcome) => {
        seen.push([attempt, outcome.ok ? outcome.value : (outcome.error as Error).message]);
        return attempt * 100;
      },
    });
    const delays: number[] = [];
    policy.on('retry', (e) => delays.push(e.delayMs));
    let n = 0;
    const result = settle(
      policy.execute(() => {
        throw new Error(`e${++n}`);
      }),
    );
    await clock.runAllAsync();
    expect(result.ok).toBe(false);
    expect(seen).toEqual([
      [1, 'e1'],
      [2, 'e2'],
    ]);
    expect(delays).toEqual([100, 200]);
    expect(clock.now()).toBe(300);
  });

  test('a backoff that returns a bad delay fails the call with a RangeError whose cause is the failure', async () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5', undefined]) {
      const original = new Error('original');
      const policy = retry({ backoff: () => bad as number });
      const error = await policy
        .execute(() => {
          throw original;
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/the backoff returned .* after attempt 1/);
      expect((error as Error).cause).toBe(original);
    }
  });

  test('zero delays schedule no timer', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const p = retry({ clock, backoff: constantBackoff(0) }).execute(() => {
      if (++n < 3) throw new Error('x');
      return n;
    });
    expect(clock.pendingTimers).toBe(0);
    expect(await p).toBe(3);
  });
});

describe('retry: maxElapsedMs', () => {
  test('no attempt starts at or after the time budget, and giving up early says why (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2_000 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 12 }),
        async (maxElapsedMs, durations, delay, maxAttempts) => {
          const clock = new VirtualClock({ start: 5_000 });
          const policy = retry({ clock, maxAttempts, maxElapsedMs, backoff: constantBackoff(delay) });
          const log = record(policy);
          const { fn, starts } = worker(clock, durations);
          const result = settle(policy.execute(fn));
          await clock.runAllAsync();
          expect(result.ok).toBe(false);
          expect(starts[0]).toBe(5_000);
          for (const start of starts.slice(1)) expect(start - 5_000).toBeLessThan(maxElapsedMs);
          const giveUp = log.find((e) => e.name === 'giveUp');
          if (starts.length < maxAttempts) {
            expect(giveUp?.event.reason).toBe('elapsed');
            // It gave up only because the next attempt could not have started in time.
            expect(clock.now() + delay - 5_000).toBeGreaterThanOrEqual(maxElapsedMs);
          } else {
            expect(giveUp?.event.reason).toBe('attempts');
          }
        },
      ),
    );
  });
});

describe('retry: aborts', () => {
  test('an abort at a random moment stops everything: no further call, no pending timer (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 3_000 }),
        fc.integer({ min: 1, max: 10 }),
        async (durations, initialMs, abortAt, maxAttempts) => {
          const clock = new VirtualClock();
          const policy = retry({
            clock,
            maxAttempts,
            backoff: exponentialBackoff({ initialMs, maxMs: initialMs * 4, jitter: 'equal' }),
          });
          const log = record(policy);
          const { fn, starts } = worker(clock, durations);
          const controller = new AbortController();
          const reason = new Error('caller gave up');
          let callsAtAbort = -1;
          let settledBeforeAbort = false;
          let result: ReturnType<typeof settle> | undefined;
          clock.setTimer(() => {
            callsAtAbort = starts.length;
            settledBeforeAbort = result?.done === true;
            controller.abort(reason);
          }, abortAt);
          result = settle(policy.execute(fn, controller.signal));
          await clock.advanceAsync(abortAt);
          expect(result.done).toBe(true);
          expect(clock.pendingTimers).toBe(0);
          await clock.runAllAsync();
          expect(starts.length).toBe(callsAtAbort);
          if (!settledBeforeAbort) {
            expect(result.value).toBe(reason);
            expect(log.at(-1)).toEqual({ name: 'failure', event: { attempts: starts.length, ok: false, error: reason } });
          } else {
            expect((result.value as Error).message).toBe(`fail ${maxAttempts}`);
          }
          for (const start of starts) expect(start).toBeLessThanOrEqual(abortAt);
        },
      ),
    );
  });

  test('an abort during the sleep rejects at once with the reason and makes no further call', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    let calls = 0;
    const policy = retry({ clock, backoff: constantBackoff(1_000) });
    const failures: unknown[] = [];
    policy.on('failure', (e) => failures.push(e));
    const result = settle(
      policy.execute(() => {
        calls++;
        throw new Error('down');
      }, controller.signal),
    );
    await clock.advanceAsync(10);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('stop'));
    await clock.advanceAsync(0);
    expect(result).toMatchObject({ done: true, ok: false });
    expect((result.value as Error).message).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
    expect(calls).toBe(1);
    expect(failures).toEqual([{ attempts: 1, ok: false, error: result.value }]);
  });

  test('an already aborted signal makes no call; AbortErrors are never retried', async () => {
    let calls = 0;
    const fn = () => {
      calls++;
      throw new DOMException('aborted', 'AbortError');
    };
    await expect(retry({ backoff: 0 }).execute(fn, AbortSignal.abort())).rejects.toThrow();
    expect(calls).toBe(0);
    await expect(retry({ backoff: 0, retryOn: () => true }).execute(fn)).rejects.toThrow('aborted');
    expect(calls).toBe(1);
  });

  test('an outer timeout ends the retries (during the sleep) with its TimeoutError; an inner one is retried', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const total = compose(
      timeout({ ms: 250, clock }),
      retry({ clock, maxAttempts: 10, backoff: constantBackoff(100) }),
      timeout({ ms: 50, clock }),
    );
    const result = settle(total.execute(() => new Promise(() => calls++)));
    await clock.runAllAsync();
    // Attempts at 0 and 150 time out after 50 ms; the sleep from 200 is cut at 250 by the outer deadline.
    expect(calls).toBe(2);
    expect(result.ok).toBe(false);
    expect(isTimeoutError(result.value)).toBe(true);
    expect((result.value as TimeoutError).timeoutMs).toBe(250);
    expect(clock.now()).toBe(250);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('retry: what is retried', () => {
  test('retryOn selects errors and sees the attempt; a non-boolean answer is an error', async () => {
    let calls = 0;
    const fail = () => {
      calls++;
      throw Object.assign(new Error('x'), { status: calls === 1 ? 503 : 400 });
    };
    const attempts: number[] = [];
    const policy = retry({
      backoff: 0,
      maxAttempts: 5,
      retryOn: (e, attempt) => {
        attempts.push(attempt);
        return (e as { status: number }).status === 503;
      },
    });
    await expect(policy.execute(fail)).rejects.toMatchObject({ status: 400 });
    expect([calls, attempts]).toEqual([2, [1, 2]]);
    const asyncPredicate = retry({ backoff: 0, retryOn: (async () => true) as never });
    await expect(asyncPredicate.execute(fail)).rejects.toThrow(/"retryOn" must return a boolean \(synchronously\)/);
  });

  test('non-retryable markers win over retryOn', async () => {
    for (const error of [markNonRetryable(new Error('invalid')), Object.assign(new Error('invalid'), { retryable: false })]) {
      let calls = 0;
      await expect(
        retry({ backoff: 0, retryOn: () => true }).execute(() => {
          calls++;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });

  test("weir's rejections are retried only when opted in", async () => {
    const rejections = [new CircuitOpenError(0), new BulkheadFullError('full', 1), new RateLimitedError(0)];
    const names = ['circuitOpen', 'bulkheadFull', 'rateLimited'] as const;
    for (const [i, error] of rejections.entries()) {
      const count = async (options: Parameters<typeof retry>[0]) => {
        let calls = 0;
        await retry({ backoff: 0, maxAttempts: 3, ...options })
          .execute(() => {
            calls++;
            throw error;
          })
          .catch(() => {});
        return calls;
      };
      expect(await count({})).toBe(1);
      expect(await count({ retryOn: () => true })).toBe(1);
      expect(await count({ retryRejections: true })).toBe(3);
      expect(await count({ retryRejections: [names[i]!] })).toBe(3);
      expect(await count({ retryRejections: names.filter((n) => n !== names[i]) })).toBe(1);
      expect(await count({ retryRejections: true, retryOn: () => false })).toBe(1);
    }
  });

  test('a rate limit that can never pass (retryAfterMs Infinity) is not retried, even when opted in', async () => {
    const policy = retry({ backoff: 0, retryRejections: true });
    const log = record(policy);
    let calls = 0;
    const error = new RateLimitedError(Number.POSITIVE_INFINITY, { reason: 'cost-exceeds-limit' });
    await expect(
      policy.execute(() => {
        calls++;
        throw error;
      }),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
    expect(log).toEqual([{ name: 'failure', event: { attempts: 1, ok: false, error } }]);
  });

  test('result-based retries return the last result by default, or throw RetryExhaustedError', async () => {
    let n = 0;
    const fn = () => ({ status: 500, n: ++n });
    const returning = retry({ backoff: 0, retryOnResult: (r: { status: number }) => r.status >= 500 });
    const log = record(returning);
    expect(await returning.execute(fn)).toEqual({ status: 500, n: 3 });
    expect(log.map((e) => e.name)).toEqual(['retry', 'retry', 'giveUp', 'failure']);
    expect(log[2]!.event).toEqual({ attempts: 3, reason: 'attempts', ok: true, value: { status: 500, n: 3 } });

    n = 0;
    const throwing = retry({ backoff: 0, retryOnResult: (r: { status: number }) => r.status >= 500, exhaustedResult: 'throw' });
    const error = await throwing.execute(fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(isRetryExhaustedError(error)).toBe(true);
    expect(error).toMatchObject({
      name: 'RetryExhaustedError',
      code: 'ERR_WEIR_RETRY_EXHAUSTED',
      attempts: 3,
      reason: 'attempts',
      value: { n: 3 },
    });

    n = 0;
    const recovering = retry({ backoff: 0, retryOnResult: (r: { n: number }) => r.n < 2 });
    expect(await recovering.execute(fn)).toEqual({ status: 500, n: 2 });
  });
});

describe('retry: Retry-After', () => {
  test("weir errors' retryAfterMs lengthens the wait; maxDelayMs caps it", async () => {
    const clock = new VirtualClock();
    const policy = retry({
      clock,
      maxAttempts: 3,
      backoff: constantBackoff(10),
      maxDelayMs: 1_000,
      retryRejections: ['circuitOpen'],
    });
    const delays: number[] = [];
    policy.on('retry', (e) => delays.push(e.delayMs));
    let n = 0;
    const result = settle(
      policy.execute(() => {
        n++;
        throw new CircuitOpenError(n === 1 ? 400 : 5_000);
      }),
    );
    await clock.runAllAsync();
    expect(result.ok).toBe(false);
    expect(delays).toEqual([400, 1_000]);
  });

  test('a Retry-After header on a result, in delta-seconds or HTTP-date form, read with wallNow()', async () => {
    const wallStart = Date.UTC(2024, 5, 1, 12, 0, 0);
    const clock = new VirtualClock({ wallStart });
    const responses = [
      { status: 503, headers: new Headers({ 'Retry-After': '2' }) },
      { status: 429, headers: new Headers({ 'Retry-After': new Date(wallStart + 2_000 + 3_000).toUTCString() }) },
      { status: 503, headers: new Headers({ 'Retry-After': 'whenever' }) },
      { status: 200, headers: new Headers() },
    ];
    const policy = retry({ clock, maxAttempts: 4, backoff: constantBackoff(7), retryOnResult: (r: Response) => r.status >= 429 });
    const delays: number[] = [];
    policy.on('retry', (e) => delays.push(e.delayMs));
    let i = 0;
    const result = settle(policy.execute(() => responses[i++]));
    await clock.runAllAsync();
    expect(result.value).toBe(responses[3]);
    expect(delays).toEqual([2_000, 3_000, 7]);
  });

  test('honorRetryAfter: false ignores hints', async () => {
    const clock = new VirtualClock();
    const policy = retry({ clock, maxAttempts: 2, backoff: constantBackoff(5), honorRetryAfter: false });
    const delays: number[] = [];
    policy.on('retry', (e) => delays.push(e.delayMs));
    const result = settle(
      policy.execute(() => {
        throw Object.assign(new Error('busy'), { retryAfterMs: 10_000 });
      }),
    );
    await clock.runAllAsync();
    expect(result.ok).toBe(false);
    expect(delays).toEqual([5]);
  });

  test('a hint that does not fit in maxElapsedMs gives up at once', async () => {
    const clock = new VirtualClock();
    const policy = retry({ clock, backoff: 0, maxElapsedMs: 1_000 });
    const log = record(policy);
    let calls = 0;
    await expect(
      policy.execute(() => {
        calls++;
        throw Object.assign(new Error('busy'), { retryAfterMs: 1_000 });
      }),
    ).rejects.toThrow('busy');
    expect(calls).toBe(1);
    expect(log[0]).toMatchObject({ name: 'giveUp', event: { reason: 'elapsed', attempts: 1 } });
  });
});

describe('retry: budget', () => {
  test('an exhausted budget returns the original error at once', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ clock, minRetriesPerSec: 0.1, ttlMs: 10_000, percentCanRetry: 0 });
    const a = retry({ clock, budget, backoff: 0, maxAttempts: 5 });
    const b = retry({ clock, budget, backoff: 0, maxAttempts: 5 });
    const logB = record(b);
    let calls = 0;
    const error = new Error('down');
    const fail = () => {
      calls++;
      throw error;
    };
    await expect(a.execute(fail)).rejects.toBe(error);
    expect(calls).toBe(2);
    calls = 0;
    await expect(b.execute(fail)).rejects.toBe(error);
    expect(calls).toBe(1);
    expect(logB).toEqual([
      { name: 'giveUp', event: { attempts: 1, reason: 'budget', ok: false, error } },
      { name: 'failure', event: { attempts: 1, ok: false, error } },
    ]);
    expect(a.budget).toBe(budget);
  });

  test('shared by many calls, retries stay under percent × calls + reserve (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ failures: fc.integer({ min: 0, max: 6 }), gap: fc.integer({ min: 0, max: 500 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        async (calls, percentCanRetry, minRetriesPerSec) => {
          const clock = new VirtualClock();
          const budget = retryBudget({ clock, ttlMs: 1_000, minRetriesPerSec, percentCanRetry });
          const policy = retry({ clock, budget, backoff: 0, maxAttempts: 7 });
          let retries = 0;
          policy.on('retry', () => retries++);
          for (const { failures, gap } of calls) {
            clock.advance(gap);
            let n = 0;
            await policy
              .execute(() => {
                if (++n <= failures) throw new Error('x');
              })
              .catch(() => {});
          }
          // Everything within one ttl: the whole run is bounded when it fits in one window.
          const span = calls.reduce((sum, c, i) => sum + (i === 0 ? 0 : c.gap), 0);
          if (span < 900) expect(retries).toBeLessThanOrEqual(percentCanRetry * calls.length + minRetriesPerSec + 1e-9);
        },
      ),
    );
  });
});

describe('retry: events', () => {
  test('retry, giveUp, success and failure carry the attempt, delay and outcome', async () => {
    const clock = new VirtualClock();
    const policy = retry({ clock, maxAttempts: 2, backoff: constantBackoff(20) });
    const log = record(policy);
    const e1 = new Error('one');
    const e2 = new Error('two');
    let n = 0;
    const result = settle(
      policy.execute(() => {
        throw ++n === 1 ? e1 : e2;
      }),
    );
    await clock.runAllAsync();
    expect(result.value).toBe(e2);
    expect(log).toEqual([
      { name: 'retry', event: { attempt: 1, delayMs: 20, ok: false, error: e1 } },
      { name: 'giveUp', event: { attempts: 2, reason: 'attempts', ok: false, error: e2 } },
      { name: 'failure', event: { attempts: 2, ok: false, error: e2 } },
    ]);
    log.length = 0;
    expect(await policy.execute(() => 'fine')).toBe('fine');
    expect(log).toEqual([{ name: 'success', event: { attempts: 1 } }]);
  });

  test('a throwing listener changes neither the outcome nor the number of calls', async () => {
    const reported: string[] = [];
    setListenerErrorHandler((_, info) => reported.push(info.event));
    const policy = retry({ backoff: 0, maxAttempts: 3 });
    for (const name of ['retry', 'giveUp', 'success', 'failure'] as const) {
      policy.on(name, () => {
        throw new Error('listener');
      });
    }
    let n = 0;
    expect(
      await policy.execute(() => {
        if (++n < 3) throw new Error('x');
        return n;
      }),
    ).toBe(3);
    expect(reported).toEqual(['retry', 'retry', 'success']);
    expect(() => policy.on('retrying' as never, () => {})).toThrow(/unknown event "retrying"/);
  });
});

describe('retry: options', () => {
  test('exposes maxAttempts and budget', () => {
    const policy = retry();
    expect(policy.maxAttempts).toBe(3);
    expect(policy.budget).toBeUndefined();
  });

  test('rejects bad input with clear errors at construction', () => {
    const cases: [unknown, RegExp, ErrorConstructor][] = [
      [{ maxAttempts: 0 }, /retry: option "maxAttempts" must be an integer >= 1 .* got 0/, RangeError],
      [{ maxAttempts: 2.5 }, /"maxAttempts".*got 2.5/, RangeError],
      [{ maxAttempts: Number.NaN }, /"maxAttempts".*got NaN/, RangeError],
      [{ maxAttempts: '3' }, /"maxAttempts"/, RangeError],
      [{ backoff: -1 }, /retry: option "backoff" must be a finite number of milliseconds >= 0, got -1/, RangeError],
      [{ backoff: Number.NaN }, /"backoff"/, RangeError],
      [{ backoff: {} }, /option "backoff" must be a backoff object/, TypeError],
      [{ backoff: 'fast' }, /option "backoff"/, TypeError],
      [{ retryOn: true }, /retry: option "retryOn" must be a function, got true/, TypeError],
      [{ retryOnResult: 'x' }, /option "retryOnResult" must be a function/, TypeError],
      [{ retryRejections: 'yes' }, /option "retryRejections" must be a boolean or a list/, TypeError],
      [{ retryRejections: ['circuit'] }, /option "retryRejections" must be one of .* got "circuit"/, TypeError],
      [{ honorRetryAfter: 1 }, /option "honorRetryAfter" must be a boolean/, TypeError],
      [{ maxDelayMs: -5 }, /option "maxDelayMs" .* got -5/, RangeError],
      [{ maxDelayMs: Number.NaN }, /"maxDelayMs"/, RangeError],
      [{ maxElapsedMs: -1 }, /option "maxElapsedMs"/, RangeError],
      [{ maxElapsedMs: Number.POSITIVE_INFINITY }, /option "maxElapsedMs"/, RangeError],
      [{ budget: {} }, /option "budget" must be a retry budget/, TypeError],
      [{ exhaustedResult: 'ignore' }, /option "exhaustedResult" must be one of "return", "throw"/, TypeError],
      [{ clock: Date }, /option "clock"/, TypeError],
      [{ attempts: 3 }, /retry: unknown option "attempts"/, TypeError],
      [42, /retry: options must be an object/, TypeError],
    ];
    for (const [options, message, type] of cases) {
      expect(() => retry(options as never), JSON.stringify(options)).toThrow(message);
      expect(() => retry(options as never)).toThrow(type);
    }
    expect(retry({ maxDelayMs: Number.POSITIVE_INFINITY }).maxAttempts).toBe(3);
  });
});

test('a clock that throws when the first attempt starts (maxElapsedMs reads it) rejects every call form, never throws synchronously', async () => {
  const clock = new VirtualClock();
  const broken = new Error('clock broken');
  clock.now = () => {
    throw broken;
  };
  let runs = 0;
  await expectEveryFormRejects(retry({ maxAttempts: 3, maxElapsedMs: 1000, clock }), async () => ++runs, broken);
  expect(runs).toBe(0);
});
