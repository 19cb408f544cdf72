import { describe, expect, test } from 'vitest';
import { refreshOnce, singleFlight, timed, timedInAStack, withCockatiel } from '../../docs/examples/custom-policies.js';
import { compose, retry, timeout, VirtualClock } from '../../src/index.js';

describe('docs/examples/custom-policies.ts', () => {
  test('single flight: concurrent calls join the one in flight', async () => {
    expect(await refreshOnce()).toEqual({ results: ['token 1', 'token 1', 'token 1'], calls: 1, joined: 2 });
  });

  test('timed inside a retry sees each attempt', async () => {
    expect(await timedInAStack()).toEqual({
      value: 'ok after 2 attempts',
      events: [
        { ok: false, ms: 0 },
        { ok: true, ms: 0 },
      ],
    });
  });

  test('a cockatiel policy composes as a nested stage', async () => {
    expect(await withCockatiel()).toEqual({ value: 'ok', attempts: 2 });
  });

  test('single flight: a failing leader fails every joiner with its error, and the next call starts afresh', async () => {
    const clock = new VirtualClock();
    const policy = singleFlight();
    let calls = 0;
    const work = policy(
      () =>
        new Promise((_, reject) => {
          calls++;
          clock.setTimer(() => reject(new Error(`boom ${calls}`)), 5);
        }),
    );
    const outcomes = Promise.allSettled([work(), work()]);
    await clock.runAllAsync();
    expect((await outcomes).map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value))).toEqual([
      'boom 1',
      'boom 1',
    ]);
    const third = work().catch((error: Error) => error.message);
    await clock.runAllAsync();
    expect(await third).toBe('boom 2');
  });

  test('single flight is stateful: composing it twice is a TypeError naming it', () => {
    const once = singleFlight({ name: 'refresh' });
    expect(() => compose(once, timeout(10), once)).toThrow(TypeError);
    expect(() => compose(once, timeout(10), once)).toThrow(/"refresh" appears twice \(arguments 0 and 2\)/);
    // A stateless custom policy may appear twice.
    const t = timed();
    expect(() => compose(t, retry({ maxAttempts: 2 }), t)).not.toThrow();
  });
});
