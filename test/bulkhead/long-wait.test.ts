import { describe, expect, test } from 'vitest';
import { BulkheadFullError, bulkhead, VirtualClock } from '../../src/index.js';

const DAY = 24 * 3600 * 1000;

describe('bulkhead: queue waits beyond the timer range', () => {
  test('maxQueueWaitMs of 30 days: a virtual day passes with no timer callback, and the wait ends on time', async () => {
    const clock = new VirtualClock();
    let callbacks = 0;
    const setTimer = clock.setTimer.bind(clock);
    clock.setTimer = (callback, ms, keepAlive) =>
      setTimer(
        () => {
          callbacks++;
          callback();
        },
        ms,
        keepAlive,
      );
    const pool = bulkhead({ maxConcurrent: 1, maxQueue: 1, maxQueueWaitMs: 30 * DAY, clock });
    const held = pool.tryAcquire();
    const waiting = pool.execute(() => 'ran').catch((error: unknown) => error);
    expect(clock.keepAliveTimers).toBe(1);
    await clock.advanceAsync(DAY);
    expect(callbacks).toBe(0);
    expect(pool.queued).toBe(1);
    await clock.advanceAsync(29 * DAY);
    const error = (await waiting) as BulkheadFullError;
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect(error.reason).toBe('queue-timeout');
    expect(clock.now()).toBe(30 * DAY);
    expect(callbacks).toBeLessThanOrEqual(3);
    expect([clock.pendingTimers, clock.keepAliveTimers]).toEqual([0, 0]);
    held?.release();
  });

  test('a value past any meaning (1e300) is accepted as a wait that never ends in practice, without spinning', async () => {
    const clock = new VirtualClock();
    const pool = bulkhead({ maxConcurrent: 1, maxQueue: 1, maxQueueWaitMs: 1e300, clock });
    const held = pool.tryAcquire();
    const waiting = pool.execute(() => 'ran');
    await clock.advanceAsync(365 * DAY);
    expect(clock.pendingTimers).toBe(1);
    held?.release();
    expect(await waiting).toBe('ran');
    expect(clock.pendingTimers).toBe(0);
  });
});
