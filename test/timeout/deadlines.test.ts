import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DeadlineEntry, DeadlineQueue } from '../../src/core/deadlines.js';
import { MAX_TIMER_MS } from '../../src/core/validate.js';
import { timeout, VirtualClock } from '../../src/index.js';

class Entry extends DeadlineEntry {
  constructor(readonly id: number) {
    super();
  }
}

const DAY = 24 * 3600 * 1000;

/** A clock that counts the callbacks it runs. */
function countingClock(): { clock: VirtualClock; fired: () => number } {
  const clock = new VirtualClock();
  let fired = 0;
  const setTimer = clock.setTimer.bind(clock);
  clock.setTimer = (callback, ms, keepAlive) =>
    setTimer(
      () => {
        fired++;
        callback();
      },
      ms,
      keepAlive,
    );
  return { clock, fired: () => fired };
}

describe('DeadlineQueue', () => {
  test('expires every entry once, at its deadline, in deadline order, with at most one timer (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            addAt: fc.integer({ min: 0, max: 100 }),
            wait: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constant(Number.POSITIVE_INFINITY)),
            removeAfter: fc.option(fc.integer({ min: 0, max: 300 })),
          }),
          { maxLength: 12 },
        ),
        fc.constantFrom('clear' as const, 'keep' as const),
        async (plan, idle) => {
          const clock = new VirtualClock();
          const expired: [number, number][] = [];
          const queue = new DeadlineQueue<Entry>(clock, (entry, now) => expired.push([entry.id, now]), idle);
          const deadlines = new Map<number, number>();
          const removed = new Set<number>();
          plan.forEach((step, id) => {
            clock.setTimer(() => {
              const entry = new Entry(id);
              deadlines.set(id, clock.now() + step.wait);
              queue.add(entry, clock.now() + step.wait);
              expect(clock.pendingTimers).toBeLessThanOrEqual(plan.length * 2 + 1);
              if (step.removeAfter !== null) {
                clock.setTimer(() => {
                  if (entry.queued) removed.add(id);
                  queue.remove(entry);
                }, step.removeAfter);
              }
            }, step.addAt);
          });
          await clock.advanceAsync(1000);
          for (const [id, at] of expired) {
            expect(at).toBe(deadlines.get(id));
            expect(removed.has(id)).toBe(false);
          }
          const times = expired.map(([, at]) => at);
          expect(times).toEqual([...times].sort((a, b) => a - b));
          expect(new Set(expired.map(([id]) => id)).size).toBe(expired.length);
          const finite = [...deadlines].filter(([id, at]) => at !== Number.POSITIVE_INFINITY && !removed.has(id));
          expect(expired.length).toBe(finite.length);
          expect(queue.size).toBe(deadlines.size - removed.size - expired.length);
          if (queue.size === 0) expect(clock.keepAliveTimers).toBe(0);
        },
      ),
    );
  });

  test('a deadline beyond the timer range is reached in chunks, never by spinning', async () => {
    const { clock, fired } = countingClock();
    const expired: number[] = [];
    const queue = new DeadlineQueue<Entry>(clock, (_entry, now) => expired.push(now));
    queue.add(new Entry(1), 1e300);
    await clock.advanceAsync(DAY);
    expect(fired()).toBe(0);
    await clock.advanceAsync(60 * DAY);
    expect(fired()).toBeLessThanOrEqual(3);
    expect(expired).toEqual([]);
    expect(clock.nextDue).toBeLessThanOrEqual(clock.now() + MAX_TIMER_MS);
  });

  test('keeps the process alive only while an entry waits (a kept timer lets go one macrotask later)', async () => {
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    for (const idle of ['clear', 'keep'] as const) {
      const clock = new VirtualClock();
      const queue = new DeadlineQueue<Entry>(clock, () => {}, idle);
      const a = new Entry(1);
      queue.add(a, 100);
      expect(clock.keepAliveTimers).toBe(1);
      queue.remove(a);
      await turn();
      expect(clock.keepAliveTimers).toBe(0);
      expect(clock.pendingTimers).toBe(idle === 'keep' ? 1 : 0);
      queue.add(new Entry(2), 200);
      expect([clock.keepAliveTimers, clock.pendingTimers]).toEqual([1, 1]);
    }
  });

  test('entries that come and go within one turn keep the hold without touching the timer', async () => {
    const clock = new VirtualClock();
    let refs = 0;
    const refTimer = clock.refTimer.bind(clock);
    clock.refTimer = (handle, keepAlive) => {
      refs++;
      refTimer(handle, keepAlive);
    };
    const queue = new DeadlineQueue<Entry>(clock, () => {}, 'keep');
    for (let i = 0; i < 100; i++) {
      const entry = new Entry(i);
      queue.add(entry, 1_000 + i);
      queue.remove(entry);
    }
    expect([refs, clock.keepAliveTimers]).toEqual([0, 1]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect([refs, clock.keepAliveTimers]).toEqual([1, 0]);
  });

  test('a queue told not to keep the process alive never does', () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue<Entry>(clock, () => {}, 'clear', false);
    queue.add(new Entry(1), 100);
    expect([clock.pendingTimers, clock.keepAliveTimers]).toEqual([1, 0]);
  });
});

describe('timeout beyond the timer range', () => {
  test('timeout(30 days) with a pending call: a virtual day passes with at most a few timer callbacks', async () => {
    const { clock, fired } = countingClock();
    const policy = timeout({ ms: 30 * DAY, clock });
    const settled = policy.execute(() => new Promise(() => {})).catch((error: unknown) => error);
    await clock.advanceAsync(DAY);
    expect(fired()).toBeLessThanOrEqual(2);
    expect(policy.pending).toBe(1);
    await clock.advanceAsync(29 * DAY);
    expect((await settled) as Error).toMatchObject({ name: 'TimeoutError' });
    expect(fired()).toBeLessThanOrEqual(4);
    expect(clock.keepAliveTimers).toBe(0);
  });
});
