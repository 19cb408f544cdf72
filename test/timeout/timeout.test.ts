import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  compose,
  definePolicy,
  isTimeoutError,
  setListenerErrorHandler,
  TimeoutError,
  timeout,
  VirtualClock,
} from '../../src/index.js';

/** A function that settles after `ms` on the virtual clock (never when ms is undefined). */
function settleAfter<T>(clock: VirtualClock, ms: number | undefined, value: T, fails = false): () => Promise<T> {
  return () =>
    new Promise<T>((resolve, reject) => {
      if (ms !== undefined) clock.setTimer(() => (fails ? reject(new Error('late failure')) : resolve(value)), ms);
    });
}

describe('timeout', () => {
  test('fires exactly once, at the deadline, for calls that outlive it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 500 }),
        fc.array(fc.record({ start: fc.integer({ min: 0, max: 300 }), duration: fc.option(fc.integer({ min: 0, max: 1000 })) }), {
          minLength: 1,
          maxLength: 8,
        }),
        async (ms, calls) => {
          const clock = new VirtualClock();
          const policy = timeout({ ms, clock });
          let events = 0;
          policy.on('timeout', () => events++);
          const outcomes: { at: number; ok: boolean; error?: unknown }[] = new Array(calls.length);
          calls.forEach((c, i) => {
            clock.setTimer(() => {
              const startedAt = clock.now();
              policy(settleAfter(clock, c.duration ?? undefined, i))().then(
                () => {
                  outcomes[i] = { at: clock.now() - startedAt, ok: true };
                },
                (error: unknown) => {
                  outcomes[i] = { at: clock.now() - startedAt, ok: false, error };
                },
              );
            }, c.start);
          });
          await clock.advanceAsync(2000);
          let expectedTimeouts = 0;
          calls.forEach((c, i) => {
            const outcome = outcomes[i];
            expect(outcome).toBeDefined();
            const duration = c.duration ?? undefined;
            // A call that settles at the same instant as its deadline may land either side; that is the only tie.
            if (duration === undefined || duration > ms) {
              expectedTimeouts++;
              expect(outcome?.ok).toBe(false);
              expect(isTimeoutError(outcome?.error)).toBe(true);
              expect(outcome?.at).toBe(ms);
            } else if (duration < ms) {
              expect(outcome).toEqual({ at: duration, ok: true });
            } else if (!outcome?.ok) {
              expectedTimeouts++;
            }
          });
          expect(events).toBe(expectedTimeouts);
          expect(policy.pending).toBe(0);
          // Only the never-settling functions' own timers may remain: the policy leaves none.
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('aborts the context signal with the TimeoutError at the deadline', async () => {
    const clock = new VirtualClock();
    let signal: AbortSignal | undefined;
    const pending = timeout({ ms: 30, clock })
      .execute((ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    await clock.advanceAsync(29);
    expect(signal?.aborted).toBe(false);
    await clock.advanceAsync(1);
    const error = await pending;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(signal?.reason).toBe(error);
    expect((error as TimeoutError).timeoutMs).toBe(30);
  });

  test('a late rejection after an aggressive timeout is not an unhandled rejection', async () => {
    const clock = new VirtualClock();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pending = timeout({ ms: 10, clock })(settleAfter(clock, 20, 0, true))().catch((e: unknown) => e);
      await clock.advanceAsync(30);
      expect(isTimeoutError(await pending)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('cooperative: waits for the function; its rejection becomes a TimeoutError with the cause', async () => {
    const clock = new VirtualClock();
    const policy = timeout({ ms: 10, clock, cooperative: true });
    const failing = policy
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => clock.setTimer(() => reject(new Error('stopped')), 5));
          }),
      )
      .catch((e: unknown) => e);
    let settled = false;
    void failing.then(() => {
      settled = true;
    });
    await clock.advanceAsync(10);
    expect(settled).toBe(false);
    await clock.advanceAsync(5);
    const error = (await failing) as TimeoutError;
    expect(isTimeoutError(error)).toBe(true);
    expect((error.cause as Error).message).toBe('stopped');
    // A function that ignores the abort and resolves late keeps its value.
    const late = policy(settleAfter(clock, 20, 'late'))();
    await clock.advanceAsync(20);
    expect(await late).toBe('late');
  });

  test('nested timeouts: the inner signal aborts when the outer deadline passes', async () => {
    const clock = new VirtualClock();
    let signal: AbortSignal | undefined;
    const pending = compose(timeout({ ms: 10, clock }), timeout({ ms: 100, clock }))
      .execute((ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    await clock.advanceAsync(10);
    const error = (await pending) as TimeoutError;
    expect(error.timeoutMs).toBe(10);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    await clock.advanceAsync(100);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a signal read after the deadline passed is already aborted', async () => {
    const clock = new VirtualClock();
    let read: (() => AbortSignal) | undefined;
    const pending = timeout({ ms: 5, clock, cooperative: true }).execute((ctx) => {
      read = () => ctx.signal;
      return new Promise((resolve) => clock.setTimer(() => resolve(read?.().aborted), 10));
    });
    await clock.advanceAsync(10);
    expect(await pending).toBe(true);
  });

  test('one clock timer serves many concurrent calls', async () => {
    const clock = new VirtualClock();
    const policy = timeout({ ms: 100, clock });
    const settled = Array.from({ length: 50 }, () => policy(() => new Promise(() => {}))().catch((e: unknown) => e));
    expect(clock.pendingTimers).toBe(1);
    expect(policy.pending).toBe(50);
    await clock.advanceAsync(100);
    expect((await Promise.all(settled)).every(isTimeoutError)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a throwing timeout listener changes nothing and is reported', async () => {
    const clock = new VirtualClock();
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((error, info) => reported.push([error, info.event]));
    try {
      const policy = timeout({ ms: 10, clock });
      const boom = new Error('listener');
      policy.on('timeout', () => {
        throw boom;
      });
      let calls = 0;
      const pending = policy(() => {
        calls++;
        return new Promise(() => {});
      })().catch((e: unknown) => e);
      await clock.advanceAsync(10);
      expect(isTimeoutError(await pending)).toBe(true);
      expect(calls).toBe(1);
      expect(reported).toEqual([[boom, 'timeout']]);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  test('a deadline that passes while the stages inside admit the call: the function never runs, the call rejects with that TimeoutError', async () => {
    for (const cooperative of [false, true]) {
      const clock = new VirtualClock();
      // A stage whose admission takes the clock past the deadline (as a slow synchronous check would).
      const slowAdmission = definePolicy({ family: 'slow-admission', clock, enter: () => clock.advance(20) });
      let calls = 0;
      const fn = async (x: number) => {
        calls++;
        return x;
      };
      const inner = timeout({ ms: 10, cooperative, clock });
      const outer = timeout({ ms: 50, clock });
      for (const policy of [compose(inner, slowAdmission), compose(outer, inner, slowAdmission)]) {
        const error = await policy(fn)(1).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isTimeoutError(error)).toBe(true);
        expect((error as TimeoutError).timeoutMs).toBe(10);
        expect(calls).toBe(0);
        expect([inner.pending, outer.pending]).toEqual([0, 0]);
        // Admitted in time, the next call runs.
        expect(await compose(outer, inner)(fn)(2)).toBe(2);
        expect(calls).toBe(1);
        calls = 0;
      }
    }
  });

  test('validates its options', () => {
    expect(() => timeout(-1)).toThrow(RangeError);
    expect(() => timeout(-1)).toThrow('timeout: option "ms" must be a finite number of milliseconds >= 0, got -1');
    expect(() => timeout(Number.NaN)).toThrow(/got NaN/);
    expect(() => timeout(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => timeout({ ms: 5, cooperativ: true } as never)).toThrow(
      'timeout: unknown option "cooperativ"; known options: ms, cooperative, clock',
    );
    expect(() => timeout({ ms: 5, cooperative: 'yes' } as never)).toThrow(TypeError);
    expect(() => timeout({ ms: 5, clock: {} } as never)).toThrow(/option "clock" must implement/);
    expect(() => timeout(undefined as never)).toThrow(TypeError);
  });
});

describe('the per-attempt context after the call', () => {
  test('a signal first read after the call ended adds no listener to the caller signal', async () => {
    const controller = new AbortController();
    const { EventEmitter } = await import('node:events');
    const saved: { signal: AbortSignal }[] = [];
    for (let i = 0; i < 20; i++) {
      await timeout(1000).execute((ctx) => {
        saved.push(ctx);
        return 1;
      }, controller.signal);
    }
    for (const ctx of saved) expect(ctx.signal.aborted).toBe(false);
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('spreading the context keeps signal and attempt', async () => {
    const copy = await timeout(1000).execute((ctx) => ({ ...ctx }));
    expect(Object.keys(copy).sort()).toEqual(['attempt', 'signal']);
    expect(copy.signal).toBeInstanceOf(AbortSignal);
    expect(copy.attempt).toBe(1);
  });
});
