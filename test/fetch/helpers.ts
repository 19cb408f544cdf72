import type { VirtualClock } from '../../src/index.js';

/**
 * Awaits `promise` while moving `clock` to each timer it schedules (retry waits, rate-limit waits); real
 * I/O in between gets real time. Only for calls whose virtual timers are all waits, not timeouts.
 */
export async function drive<T>(clock: VirtualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  while (!done) {
    const due = clock.nextDue;
    if (due !== undefined) await clock.advanceAsync(Math.max(0, due - clock.now()));
    else await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return promise;
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a resolution');
}
