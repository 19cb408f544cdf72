import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  CircuitOpenError,
  circuitBreaker,
  compose,
  isCircuitOpenError,
  retry,
  setListenerErrorHandler,
  TimeoutError,
  timeout,
  VirtualClock,
} from '../../src/index.js';
import { expectEveryFormRejects } from '../helpers/call-forms.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const boom = new Error('boom');
const ok = () => Promise.resolve('ok');
const fail = () => Promise.reject(boom);
const noop = (): void => {};

/** Runs `fn` through the breaker and returns its outcome without throwing. */
async function attempt(breaker: CircuitBreakerPolicy, fn: () => unknown): Promise<{ ok: boolean; value: unknown }> {
  try {
    return { ok: true, value: await breaker.execute(fn) };
  } catch (error) {
    return { ok: false, value: error };
  }
}

interface Gate {
  promise: Promise<unknown>;
  resolve(value?: unknown): void;
  reject(error: unknown): void;
}
function gate(): Gate {
  let resolve!: (v?: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function make(options: CircuitBreakerOptions = {}) {
  const clock = new VirtualClock();
  const breaker = circuitBreaker({ clock, ...options });
  const changes: string[] = [];
  breaker.on('stateChange', (e) => changes.push(`${e.from}>${e.to}:${e.reason}`));
  return { clock, breaker, changes };
}

async function trip(breaker: CircuitBreakerPolicy, failures: number): Promise<void> {
  for (let i = 0; i < failures; i++) await attempt(breaker, fail);
}

afterEach(() => {
  setListenerErrorHandler(undefined);
});

describe('construction', () => {
  test.each([
    [{ failureRateThreshold: 0 }, RangeError, /failureRateThreshold.*\(0, 1\].*got 0/],
    [{ failureRateThreshold: 1.5 }, RangeError, /failureRateThreshold/],
    [{ failureRateThreshold: Number.NaN }, RangeError, /failureRateThreshold.*NaN/],
    [{ slowCallDurationMs: 10, slowCallRateThreshold: 0 }, RangeError, /slowCallRateThreshold/],
    [{ slowCallRateThreshold: 0.5 }, TypeError, /needs "slowCallDurationMs"/],
    [{ window: { type: 'count', size: 0 } }, RangeError, /window.size.*integer >= 1.*got 0/],
    [{ window: { type: 'count', size: 2.5 } }, RangeError, /window.size/],
    [{ window: { type: 'time', durationMs: -1 } }, RangeError, /window.durationMs/],
    [{ window: { type: 'time', durationMs: 1000, buckets: 0 } }, RangeError, /window.buckets/],
    [{ window: { type: 'sliding', size: 3 } }, TypeError, /window.type/],
    [{ window: { type: 'count', size: 3, buckets: 2 } }, TypeError, /unknown option "buckets"/],
    [{ window: { type: 'count', size: 5 }, minimumCalls: 6 }, RangeError, /minimumCalls.*\(6\).*size \(5\)/],
    [{ minimumCalls: 0 }, RangeError, /minimumCalls/],
    [{ consecutiveFailures: 0 }, RangeError, /consecutiveFailures/],
    [{ slowCallDurationMs: -5 }, RangeError, /slowCallDurationMs.*-5/],
    [{ openDurationMs: -1 }, RangeError, /openDurationMs.*-1/],
    [{ openDurationMs: { initialMs: 100, maxMs: 50 } }, RangeError, /openDurationMs.maxMs.*>= 100/],
    [{ openDurationMs: { initialMs: 100, maxMs: 500, multiplier: 0.5 } }, RangeError, /multiplier/],
    [{ halfOpen: { permits: 0 } }, RangeError, /halfOpen.permits/],
    [{ halfOpen: { permits: 1.5 } }, RangeError, /halfOpen.permits/],
    [{ halfOpen: { maxWaitMs: -1 } }, RangeError, /halfOpen.maxWaitMs/],
    [{ halfOpen: { tries: 1 } }, TypeError, /unknown option "tries"/],
    [{ isFailure: 'yes' }, TypeError, /isFailure.*function/],
    [{ innerRejections: 'count' }, TypeError, /innerRejections/],
    [{ initialState: { state: 'ajar', reopens: 0 } }, TypeError, /initialState.state/],
    [{ initialState: { state: 'open', reopens: 0 } }, RangeError, /halfOpenAt/],
    [{ failureThreshold: 0.5 }, TypeError, /unknown option "failureThreshold"/],
  ])('%j is refused', (options, type, message) => {
    expect(() => circuitBreaker(options as CircuitBreakerOptions)).toThrow(type);
    expect(() => circuitBreaker(options as CircuitBreakerOptions)).toThrow(message);
  });

  test('defaults: count window of 100, 10 calls minimum, 50 %, closed', async () => {
    const { breaker } = make();
    expect(breaker.state).toBe('closed');
    await trip(breaker, 9);
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1);
    expect(breaker.state).toBe('open');
  });
});

describe('closed → open', () => {
  test('opens at the failure-rate threshold once minimumCalls is reached', async () => {
    const { breaker, changes } = make({ window: { type: 'count', size: 10 }, minimumCalls: 4, failureRateThreshold: 0.5 });
    await attempt(breaker, ok);
    await attempt(breaker, fail);
    await attempt(breaker, ok);
    expect(breaker.state).toBe('closed'); // 3 calls < minimumCalls
    await attempt(breaker, fail); // 2 / 4 = 0.5
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['closed>open:failure-rate']);
  });

  test('a success that brings the window to minimumCalls opens it when the failure rate is already over (both success paths)', async () => {
    // Without a result predicate a success takes the breaker's short path; with one, the general path.
    for (const judge of [undefined, () => false]) {
      const { breaker, changes } = make({
        window: { type: 'count', size: 10 },
        minimumCalls: 3,
        failureRateThreshold: 0.5,
        ...(judge === undefined ? {} : { isResultFailure: judge }),
      });
      const events: string[] = [];
      breaker.on('success', ({ state }) => events.push(`success:${state}`));
      breaker.on('stateChange', ({ to }) => events.push(`to:${to}`));
      await attempt(breaker, fail);
      await attempt(breaker, fail);
      expect(breaker.state).toBe('closed'); // 2 calls < minimumCalls
      expect(await attempt(breaker, ok)).toEqual({ ok: true, value: 'ok' }); // 2 / 3 >= 0.5
      expect(breaker.state).toBe('open');
      expect(changes).toEqual(['closed>open:failure-rate']);
      expect(events).toEqual(['success:closed', 'to:open']);
      // The same through the executor (the pipeline's exit, not the solo path).
      const composed = make({ window: { type: 'count', size: 10 }, minimumCalls: 3, failureRateThreshold: 0.5 });
      const stack = compose(composed.breaker, retry({ maxAttempts: 1 }));
      for (const fn of [fail, fail, ok]) await stack(fn)().then(noop, noop);
      expect(composed.breaker.state).toBe('open');
    }
  });

  test('consecutiveFailures opens before minimumCalls; an ignored error does not break the streak', async () => {
    const { breaker, changes } = make({
      window: { type: 'count', size: 100 },
      minimumCalls: 100,
      consecutiveFailures: 3,
      isFailure: (e) => e !== 'ignored',
    });
    await trip(breaker, 2);
    await attempt(breaker, () => Promise.reject('ignored'));
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1);
    expect(changes).toEqual(['closed>open:consecutive-failures']);
  });

  test('slow calls open at the slow-call rate, and are reported', async () => {
    const { breaker, clock, changes } = make({
      window: { type: 'count', size: 4 },
      minimumCalls: 4,
      slowCallDurationMs: 100,
      slowCallRateThreshold: 0.5,
    });
    const slow: unknown[] = [];
    breaker.on('slowCall', (e) => slow.push(e));
    const run = async (ms: number) => {
      const p = breaker.execute(() => new Promise((resolve) => clock.setTimer(() => resolve('ok'), ms)));
      await clock.advanceAsync(ms);
      return p;
    };
    await run(100); // exactly the duration: not slow
    await run(150);
    await run(10);
    expect(breaker.state).toBe('closed');
    await run(101);
    expect(slow).toEqual([
      { durationMs: 150, failed: false, state: 'closed' },
      { durationMs: 101, failed: false, state: 'closed' },
    ]);
    expect(changes).toEqual(['closed>open:slow-call-rate']);
  });

  test('a time window forgets failures after an idle gap (cockatiel counts hour-old failures)', async () => {
    const { breaker, clock } = make({ window: { type: 'time', durationMs: 10_000, buckets: 10 }, minimumCalls: 5 });
    await trip(breaker, 4);
    clock.advance(3_600_000);
    await trip(breaker, 1);
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics).toMatchObject({ calls: 1, failures: 1, failureRate: 1 });
  });

  test('an inner timeout counts as a failure; the caller aborting counts neither way', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ clock, window: { type: 'count', size: 2 }, minimumCalls: 1, failureRateThreshold: 1 });
    const guarded = compose(breaker, timeout({ ms: 50, clock }));
    const controller = new AbortController();
    const aborted = guarded.execute(() => new Promise(() => {}), controller.signal);
    controller.abort(new Error('caller left'));
    await expect(aborted).rejects.toThrow('caller left');
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics.calls).toBe(0);
    const timed = guarded.execute(() => new Promise(() => {})).catch((error: unknown) => error);
    await clock.advanceAsync(50);
    expect(await timed).toBeInstanceOf(TimeoutError);
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(0);
  });

  test('isResultFailure counts a result as a failure and still returns it', async () => {
    const { breaker } = make({
      window: { type: 'count', size: 2 },
      minimumCalls: 2,
      failureRateThreshold: 1,
      isResultFailure: (v) => (v as { status: number }).status >= 500,
    });
    const failures: unknown[] = [];
    breaker.on('failure', (e) => failures.push(e));
    expect(await breaker.execute(() => ({ status: 503 }))).toEqual({ status: 503 });
    expect(await breaker.execute(() => ({ status: 200 }))).toEqual({ status: 200 });
    expect(breaker.metrics).toMatchObject({ calls: 2, failures: 1 });
    expect(failures).toEqual([{ error: { status: 503 }, fromResult: true, state: 'closed' }]);
  });

  test("inner weir rejections are ignored by default and counted with innerRejections: 'failure'", async () => {
    for (const innerRejections of ['ignore', 'failure'] as const) {
      const clock = new VirtualClock();
      const outer = circuitBreaker({ clock, window: { type: 'count', size: 2 }, minimumCalls: 1, innerRejections });
      const inner = circuitBreaker({ clock });
      inner.isolate();
      const both = compose(outer, inner);
      await expect(both.execute(ok)).rejects.toSatisfy(isCircuitOpenError);
      expect(outer.state).toBe(innerRejections === 'ignore' ? 'closed' : 'open');
    }
  });
});

describe('open', () => {
  test('rejects fast with the time until half-open, turns half-open from the clock alone', async () => {
    const { breaker, clock, changes } = make({ window: { type: 'count', size: 2 }, minimumCalls: 1, openDurationMs: 1000 });
    const rejected: unknown[] = [];
    breaker.on('rejected', (e) => rejected.push(e));
    await trip(breaker, 1);
    clock.advance(300);
    let invoked = false;
    const result = await attempt(breaker, () => {
      invoked = true;
    });
    expect(invoked).toBe(false);
    expect(result.value).toBeInstanceOf(CircuitOpenError);
    expect(result.value).toMatchObject({ code: 'ERR_WEIR_CIRCUIT_OPEN', state: 'open', retryAfterMs: 700 });
    expect(String((result.value as Error).stack)).toContain('without a stack trace');
    expect(rejected).toEqual([{ state: 'open', retryAfterMs: 700 }]);
    clock.advance(699);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open'); // no traffic, no timer
    expect(clock.pendingTimers).toBe(0);
    expect(changes).toEqual(['closed>open:failure-rate', 'open>half-open:open-elapsed']);
  });

  test('re-opens back off (initial × multiplier^n, capped) and a close resets the backoff', async () => {
    const { breaker, clock } = make({
      window: { type: 'count', size: 1 },
      minimumCalls: 1,
      openDurationMs: { initialMs: 100, maxMs: 350, multiplier: 2 },
      halfOpen: { maxWaitMs: 10 },
    });
    const retryAfter = async () => ((await attempt(breaker, ok)).value as CircuitOpenError).retryAfterMs;
    await trip(breaker, 1);
    const waits: number[] = [await retryAfter()];
    for (let i = 0; i < 3; i++) {
      clock.advance(waits[waits.length - 1] as number);
      await attempt(breaker, fail); // the trial fails: open again, longer
      waits.push(await retryAfter());
    }
    expect(waits).toEqual([100, 200, 350, 350]);
    clock.advance(350);
    await attempt(breaker, ok);
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1);
    expect(await retryAfter()).toBe(100);
  });
});

describe('half-open', () => {
  test('admits exactly `permits` trials, fails the rest fast, then decides by the rates', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        async (permits, extra, outcomes) => {
          const { breaker, clock } = make({
            window: { type: 'count', size: 1 },
            minimumCalls: 1,
            failureRateThreshold: 0.5,
            openDurationMs: 100,
            halfOpen: { permits, maxWaitMs: 1000 },
          });
          await trip(breaker, 1);
          clock.advance(100);
          const gates: Gate[] = [];
          const results = Array.from({ length: permits + extra }, () =>
            attempt(breaker, () => {
              const g = gate();
              gates.push(g);
              return g.promise;
            }),
          );
          expect(gates.length).toBe(permits);
          for (let i = 0; i < permits; i++) {
            expect(breaker.state).toBe('half-open');
            if (outcomes[i]) gates[i]?.resolve('ok');
            else gates[i]?.reject(boom);
            await flush();
          }
          const settled = await Promise.all(results);
          const refused = settled.filter((r) => isCircuitOpenError(r.value));
          expect(refused.length).toBe(extra);
          for (const r of refused) expect(r.value).toMatchObject({ state: 'half-open', retryAfterMs: 1000 });
          const failures = outcomes.slice(0, permits).filter((o) => !o).length;
          expect(breaker.state).toBe(failures / permits >= 0.5 ? 'open' : 'closed');
        },
      ),
      { numRuns: 60 },
    );
  });

  test('trials that outlast maxWaitMs re-open the breaker; their late results are not counted', async () => {
    const { breaker, clock, changes } = make({
      window: { type: 'count', size: 1 },
      minimumCalls: 1,
      openDurationMs: 100,
      halfOpen: { permits: 1, maxWaitMs: 50 },
    });
    await trip(breaker, 1);
    clock.advance(100);
    const hung = gate();
    const trial = attempt(breaker, () => hung.promise);
    clock.advance(49);
    expect(breaker.state).toBe('half-open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
    hung.resolve('late');
    expect(await trial).toEqual({ ok: true, value: 'late' });
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['closed>open:failure-rate', 'open>half-open:open-elapsed', 'half-open>open:half-open-timeout']);
  });

  test('an ignored trial gives its permit back', async () => {
    const { breaker, clock } = make({
      window: { type: 'count', size: 1 },
      minimumCalls: 1,
      openDurationMs: 10,
      isFailure: (e) => e !== 'ignored',
    });
    await trip(breaker, 1);
    clock.advance(10);
    await attempt(breaker, () => Promise.reject('ignored'));
    expect(breaker.state).toBe('half-open');
    await attempt(breaker, ok);
    expect(breaker.state).toBe('closed');
  });
});

describe('concurrency', () => {
  test('calls in flight when the breaker opens do not count afterwards', async () => {
    const { breaker, clock, changes } = make({
      window: { type: 'count', size: 10 },
      minimumCalls: 5,
      openDurationMs: 1000,
      halfOpen: { permits: 2 },
    });
    const gates: Gate[] = [];
    const results = Array.from({ length: 50 }, () =>
      attempt(breaker, () => {
        const g = gate();
        gates.push(g);
        return g.promise;
      }),
    );
    expect(gates.length).toBe(50);
    for (let i = 0; i < 5; i++) gates[i]?.reject(boom);
    await flush();
    expect(breaker.state).toBe('open');
    // The other 45 finish while open, half of them failing: nothing changes, nothing is counted.
    for (let i = 5; i < 50; i++) {
      if (i % 2 === 0) gates[i]?.reject(boom);
      else gates[i]?.resolve('ok');
    }
    await Promise.all(results);
    expect(changes).toEqual(['closed>open:failure-rate']);
    clock.advance(1000);
    expect(breaker.metrics).toMatchObject({ state: 'half-open', trialsInFlight: 0, trialsCompleted: 0 });
    await attempt(breaker, ok);
    await attempt(breaker, ok);
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics.calls).toBe(0); // a fresh window: nothing from before the open
  });
});

describe('manual control', () => {
  test('isolate() holds until every handle is released; release is idempotent', async () => {
    const { breaker, changes } = make();
    const a = breaker.isolate();
    const b = breaker.isolate();
    expect((await attempt(breaker, ok)).value).toMatchObject({ state: 'isolated', retryAfterMs: Number.POSITIVE_INFINITY });
    a.release();
    a.release();
    expect(breaker.state).toBe('isolated');
    b.release();
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['closed>isolated:isolated', 'isolated>closed:released']);
  });

  test('disable() lets everything through and records nothing; isolation wins over it', async () => {
    const { breaker } = make({ window: { type: 'count', size: 2 }, minimumCalls: 1 });
    const failures: unknown[] = [];
    breaker.on('failure', (e) => failures.push(e));
    const off = breaker.disable();
    await trip(breaker, 5);
    expect(breaker.state).toBe('disabled');
    expect(failures).toEqual([]);
    const iso = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    iso.release();
    expect(breaker.state).toBe('disabled');
    off.release();
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics.calls).toBe(0);
  });

  test('reset() closes with a fresh window, clears the backoff, and makes older handles inert', async () => {
    const { breaker, changes } = make({ window: { type: 'count', size: 4 }, minimumCalls: 4 });
    await trip(breaker, 3);
    breaker.reset();
    await trip(breaker, 3);
    expect(breaker.state).toBe('closed'); // the 3 failures before reset do not count
    const handle = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('closed');
    const again = breaker.isolate();
    handle.release(); // from before the reset: does nothing
    expect(breaker.state).toBe('isolated');
    again.release();
    expect(changes).toEqual([
      'closed>isolated:isolated',
      'isolated>closed:reset',
      'closed>isolated:isolated',
      'isolated>closed:released',
    ]);
  });
});

describe('toJSON / initialState', () => {
  test('an open breaker survives a restart with its remaining time and backoff, in wall-clock time', async () => {
    const clock = new VirtualClock({ start: 5_000, wallStart: 1_700_000_000_000 });
    const breaker = circuitBreaker({
      clock,
      window: { type: 'count', size: 1 },
      minimumCalls: 1,
      openDurationMs: { initialMs: 1000, maxMs: 60_000 },
    });
    await trip(breaker, 1);
    clock.advance(1000);
    await attempt(breaker, fail); // re-open: 2000 ms
    clock.advance(500);
    const saved = JSON.parse(JSON.stringify(breaker));
    expect(saved).toEqual({ state: 'open', reopens: 1, halfOpenAt: 1_700_000_003_000 });

    // A new process: another monotonic origin, 200 ms later on the wall clock.
    const clock2 = new VirtualClock({ start: 0, wallStart: 1_700_000_001_700 });
    const restored = circuitBreaker({
      clock: clock2,
      window: { type: 'count', size: 1 },
      minimumCalls: 1,
      initialState: saved,
      openDurationMs: { initialMs: 1000, maxMs: 60_000 },
    });
    expect(restored.state).toBe('open');
    expect((await attempt(restored, ok)).value).toMatchObject({ retryAfterMs: 1300 });
    clock2.advance(1300);
    await attempt(restored, fail);
    expect(restored.toJSON()).toEqual({ state: 'open', reopens: 2, halfOpenAt: 1_700_000_003_000 + 4000 });
  });

  test('closed, half-open, isolated and disabled round-trip; a restored isolation ends with reset()', () => {
    for (const state of ['closed', 'half-open', 'isolated', 'disabled'] as const) {
      const breaker = circuitBreaker({ clock: new VirtualClock(), initialState: { state, reopens: 0 } });
      expect(breaker.toJSON()).toEqual({ state, reopens: 0 });
    }
    const isolated = circuitBreaker({ clock: new VirtualClock(), initialState: { state: 'isolated', reopens: 0 } });
    isolated.reset();
    expect(isolated.state).toBe('closed');
  });
});

describe('runtime faults', () => {
  test('a throwing isFailure makes its error the outcome, counts a failure, and keeps no permit', async () => {
    const bad = new Error('predicate broke');
    const { breaker, clock } = make({
      window: { type: 'count', size: 1 },
      minimumCalls: 1,
      openDurationMs: 10,
      isFailure: () => {
        throw bad;
      },
    });
    expect((await attempt(breaker, fail)).value).toBe(bad);
    expect(breaker.state).toBe('open');
    clock.advance(10);
    expect((await attempt(breaker, fail)).value).toBe(bad);
    expect(breaker.state).toBe('open'); // the trial was counted (as a failure), not leaked
  });

  test('a throwing listener changes neither the outcome nor the state', async () => {
    const reported: unknown[] = [];
    setListenerErrorHandler((error) => reported.push(error));
    const { breaker } = make({ window: { type: 'count', size: 1 }, minimumCalls: 1 });
    for (const event of ['success', 'failure', 'stateChange', 'rejected'] as const) {
      breaker.on(event, () => {
        throw new Error(event);
      });
    }
    let runs = 0;
    expect(
      await breaker.execute(() => {
        runs++;
        return 'v';
      }),
    ).toBe('v');
    expect((await attempt(breaker, fail)).value).toBe(boom);
    expect(isCircuitOpenError((await attempt(breaker, ok)).value)).toBe(true);
    expect(runs).toBe(1);
    expect(breaker.state).toBe('open');
    expect(reported.map((e) => (e as Error).message)).toEqual(['success', 'failure', 'stateChange', 'rejected']);
  });
});

test('works as a decorator and a method decorator', async () => {
  const breaker = circuitBreaker({ clock: new VirtualClock(), window: { type: 'count', size: 1 }, minimumCalls: 1 });
  class Client {
    base = 1;
    @breaker
    async get(x: number) {
      if (x < 0) throw boom;
      return this.base + x;
    }
  }
  const client = new Client();
  expect(await client.get(1)).toBe(2);
  await expect(client.get(-1)).rejects.toBe(boom);
  await expect(breaker((x: number) => x)(1)).rejects.toSatisfy(isCircuitOpenError);
});

test('a clock that throws on the solo path rejects the call (every call form), never throws synchronously', async () => {
  // An isolated breaker reads the clock at admission (for its refusal's retry time): the solo path's
  // out-of-line case.
  const clock = new VirtualClock();
  const broken = new Error('clock broken');
  let breakClock = false;
  const now = clock.now.bind(clock);
  clock.now = () => {
    if (breakClock) throw broken;
    return now();
  };
  const breaker = circuitBreaker({ clock });
  expect(await breaker(ok)()).toBe('ok');
  breaker.isolate();
  breakClock = true;
  await expectEveryFormRejects(breaker, ok, broken);
});
