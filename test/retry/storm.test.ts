import { describe, expect, test } from 'vitest';
import { compose, isTimeoutError, retry, retryBudget, timeout, VirtualClock } from '../../src/index.js';

/** Drives the virtual clock 1 ms at a time (each step lets the event loop turn) until `done()` or `limit` ms. */
async function drive(clock: VirtualClock, done: () => boolean, limit = 1_000): Promise<void> {
  for (let i = 0; i < limit && !done(); i++) await clock.advanceAsync(1);
}

function storm(clock: VirtualClock) {
  const state = { attempts: 0, ticks: 0, settledAt: -1, error: undefined as unknown };
  const tick = (): void => {
    state.ticks++;
    clock.setTimer(tick, 10);
  };
  clock.setTimer(tick, 10);
  const fail = (): never => {
    state.attempts++;
    throw new Error('instant failure');
  };
  return { state, fail };
}

describe('retry: zero-delay storms yield to the event loop', () => {
  test('timers keep firing during the storm, and an outer timeout ends it at its deadline', async () => {
    const clock = new VirtualClock();
    const { state, fail } = storm(clock);
    const policy = compose(timeout({ ms: 50, clock }), retry({ maxAttempts: 20_000, backoff: 0, clock }));
    policy.execute(fail).catch((error: unknown) => {
      state.error = error;
      state.settledAt = clock.now();
    });
    await drive(clock, () => state.settledAt >= 0);
    expect(isTimeoutError(state.error)).toBe(true);
    expect(state.settledAt).toBe(50);
    // The 10 ms interval ticked at 10, 20, 30, 40 and 50 while the storm ran.
    expect(state.ticks).toBe(5);
    expect(state.attempts).toBeGreaterThan(1);
    expect(state.attempts).toBeLessThan(20_000);
    const atEnd = state.attempts;
    await clock.advanceAsync(100);
    expect(state.attempts).toBe(atEnd);
  });

  test("the caller's abort ends the storm at the moment it fires", async () => {
    const clock = new VirtualClock();
    const { state, fail } = storm(clock);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    clock.setTimer(() => controller.abort(reason), 30);
    retry({ maxAttempts: 20_000, backoff: 0, clock })
      .execute(fail, controller.signal)
      .catch((error: unknown) => {
        state.error = error;
        state.settledAt = clock.now();
      });
    await drive(clock, () => state.settledAt >= 0);
    expect(state.error).toBe(reason);
    expect(state.settledAt).toBe(30);
    expect(state.ticks).toBe(3);
    expect(state.attempts).toBeLessThan(20_000);
    const atEnd = state.attempts;
    await clock.advanceAsync(100);
    expect(state.attempts).toBe(atEnd);
  });

  test('an unbounded retry is refused at construction, saying how to bound it', () => {
    const build = () => retry({ maxAttempts: Number.POSITIVE_INFINITY });
    expect(build).toThrow(RangeError);
    expect(build).toThrow(/"maxAttempts" is Infinity .*set "maxElapsedMs".*"budget".*finite "maxAttempts"/);
    expect(retry({ maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 1_000 }).maxAttempts).toBe(Number.POSITIVE_INFINITY);
    expect(retry({ maxAttempts: Number.POSITIVE_INFINITY, budget: retryBudget() }).maxAttempts).toBe(Number.POSITIVE_INFINITY);
  });
});
