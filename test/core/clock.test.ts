import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { sleep, systemClock, VirtualClock } from '../../src/index.js';

describe('VirtualClock', () => {
  test('runs due callbacks in time order, ties in scheduling order, at their due time (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 120 }),
        (delays, step) => {
          const clock = new VirtualClock({ start: 1000 });
          const ran: { id: number; at: number }[] = [];
          delays.forEach((d, id) => {
            clock.setTimer(() => ran.push({ id, at: clock.now() }), d);
          });
          clock.advance(step);
          const expected = delays
            .map((d, id) => ({ id, at: 1000 + d }))
            .filter((t) => t.at <= 1000 + step)
            .sort((a, b) => a.at - b.at || a.id - b.id);
          expect(ran).toEqual(expected);
          expect(clock.now()).toBe(1000 + step);
          expect(clock.pendingTimers).toBe(delays.length - expected.length);
        },
      ),
    );
  });

  test('callbacks scheduled by callbacks run within the same advance when due', () => {
    const clock = new VirtualClock();
    const log: number[] = [];
    clock.setTimer(() => {
      log.push(clock.now());
      clock.setTimer(() => log.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(log).toEqual([5, 10]);
  });

  test('clearTimer cancels; clearing twice or clearing undefined is harmless', () => {
    const clock = new VirtualClock();
    let ran = false;
    const handle = clock.setTimer(() => {
      ran = true;
    }, 1);
    clock.clearTimer(handle);
    clock.clearTimer(handle);
    clock.clearTimer(undefined);
    clock.advance(5);
    expect(ran).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  test('random is seeded and reproducible, in [0, 1)', () => {
    const a = new VirtualClock({ seed: 42 });
    const b = new VirtualClock({ seed: 42 });
    const c = new VirtualClock({ seed: 43 });
    const xs = Array.from({ length: 100 }, () => a.random());
    expect(Array.from({ length: 100 }, () => b.random())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.random())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  test('wall time follows virtual time from wallStart', () => {
    const clock = new VirtualClock({ start: 10, wallStart: Date.UTC(2026, 0, 1) });
    clock.advance(1500);
    expect(clock.wallNow()).toBe(Date.UTC(2026, 0, 1) + 1500);
  });

  test('advanceAsync lets promise continuations run between callbacks', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const chain = async () => {
      await sleep(clock, 10);
      log.push(`a@${clock.now()}`);
      await sleep(clock, 10);
      log.push(`b@${clock.now()}`);
    };
    const done = chain();
    await clock.advanceAsync(25);
    await done;
    expect(log).toEqual(['a@10', 'b@20']);
  });

  test('rejects bad steps and options', () => {
    const clock = new VirtualClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => new VirtualClock({ seed: 1.5 })).toThrow(RangeError);
    expect(() => new VirtualClock({ start: Number.NaN })).toThrow(RangeError);
  });
});

describe('sleep', () => {
  test('resolves after the delay and leaves no timer', async () => {
    const clock = new VirtualClock();
    let done = false;
    const p = sleep(clock, 100).then(() => {
      done = true;
    });
    await clock.advanceAsync(99);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an abort rejects at once with the reason and clears the timer', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const p = sleep(clock, 100, controller.signal).catch((e: unknown) => e);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await p).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await expect(sleep(clock, 5, controller.signal)).rejects.toBe(reason);
  });
});

describe('systemClock', () => {
  test('is monotonic and its timers do not keep the process alive', () => {
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    const handle = systemClock.setTimer(() => {}, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    systemClock.clearTimer(handle);
  });
});

describe('long sleeps', () => {
  test('an infinite sleep arms no timer and ends only on abort', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const pending = sleep(clock, Number.POSITIVE_INFINITY, controller.signal).catch((e: unknown) => e);
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(1e12);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await pending).toBe(reason);
  });

  test('a sleep longer than a Node timer can hold is taken in steps and ends on time', async () => {
    const clock = new VirtualClock();
    let done = false;
    const ms = 2 ** 31 * 3;
    const pending = sleep(clock, ms).then(() => {
      done = true;
    });
    await clock.advanceAsync(ms - 1);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await pending;
    expect(done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('bad durations reject with a RangeError', async () => {
    await expect(sleep(new VirtualClock(), Number.NaN)).rejects.toThrow(RangeError);
    await expect(sleep(new VirtualClock(), -1)).rejects.toThrow(RangeError);
  });
});

describe('systemClock: keep-alive', () => {
  test('idle timers never hold the process; awaited ones do until released', () => {
    const idle = systemClock.setTimer(() => {}, 60_000) as NodeJS.Timeout;
    expect(idle.hasRef()).toBe(false);
    systemClock.clearTimer(idle);
    const awaited = systemClock.setTimer(() => {}, 60_000, true) as NodeJS.Timeout;
    expect(awaited.hasRef()).toBe(true);
    systemClock.refTimer?.(awaited, false);
    expect(awaited.hasRef()).toBe(false);
    systemClock.refTimer?.(awaited, true);
    expect(awaited.hasRef()).toBe(true);
    systemClock.clearTimer(awaited);
  });

  test('VirtualClock counts the timers that would hold a process', () => {
    const clock = new VirtualClock();
    const idle = clock.setTimer(() => {}, 10);
    const awaited = clock.setTimer(() => {}, 10, true);
    expect([clock.pendingTimers, clock.keepAliveTimers]).toEqual([2, 1]);
    clock.refTimer(awaited, false);
    clock.refTimer(idle, true);
    expect(clock.keepAliveTimers).toBe(1);
    clock.advance(10);
    expect([clock.pendingTimers, clock.keepAliveTimers]).toEqual([0, 0]);
  });
});
