import { afterEach, describe, expect, test } from 'vitest';
import { Emitter, type ListenerErrorInfo, setListenerErrorHandler } from '../../src/core/events.js';
import { bulkhead, circuitBreaker, compose, rateLimit, retry, timeout, tokenBucket, VirtualClock } from '../../src/index.js';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

/** Collects what the listener-error handler receives until the test ends. */
function reported(): { error: unknown; event: string }[] {
  const seen: { error: unknown; event: string }[] = [];
  const previous = setListenerErrorHandler((error: unknown, info: ListenerErrorInfo) => seen.push({ error, event: info.event }));
  restore = () => setListenerErrorHandler(previous);
  return seen;
}

describe('hot events sent through their probe', () => {
  test('a probe answers has() and sends what emit(name) sends, with the policy info once attached', () => {
    type E = { a: { n: number }; b: string };
    const emitter = new Emitter<E>(new Set(['a', 'b']));
    const probe = emitter.probe('a');
    expect(emitter.probe('a')).toBe(probe);
    expect(() => emitter.probe('c' as never)).toThrow(/unknown event "c"; known events: a, b/);
    expect(probe.active).toBe(false);
    const seen: unknown[] = [];
    const off = emitter.on('a', (payload, info) => seen.push([payload.n, { ...info }]));
    expect(probe.active).toBe(true);
    expect(emitter.has('a')).toBe(true);
    expect(emitter.has('b')).toBe(false);
    probe.emit({ n: 1 });
    emitter.attach('custom', 'mine');
    probe.emit({ n: 2 });
    emitter.emit('a', { n: 3 });
    off();
    expect(probe.active).toBe(false);
    probe.emit({ n: 4 });
    expect(seen).toEqual([
      [1, { policy: '', family: '', event: 'a' }],
      [2, { policy: 'mine', family: 'custom', event: 'a' }],
      [3, { policy: 'mine', family: 'custom', event: 'a' }],
    ]);
  });

  test('a listener that unsubscribes itself or another during an emit changes only later emits', () => {
    const emitter = new Emitter<{ a: number }>(new Set(['a']));
    const probe = emitter.probe('a');
    const seen: string[] = [];
    const offFirst = emitter.on('a', (n) => {
      seen.push(`first ${n}`);
      offFirst();
      offThird();
    });
    emitter.on('a', (n) => seen.push(`second ${n}`));
    const offThird = emitter.on('a', (n) => seen.push(`third ${n}`));
    probe.emit(1);
    probe.emit(2);
    // The emit in progress had its listeners already: the third still hears 1.
    expect(seen).toEqual(['first 1', 'second 1', 'third 1', 'second 2']);
  });

  test('throwing and rejecting listeners of every hot event change no outcome and are reported by event name', async () => {
    const errors = reported();
    const clock = new VirtualClock();
    const retrier = retry({ maxAttempts: 2, clock });
    const breaker = circuitBreaker({ clock });
    const limit = rateLimit(tokenBucket({ capacity: 10, refillPerSecond: 1, clock }));
    const pool = bulkhead({ maxConcurrent: 1, clock });
    const stack = compose(retrier, breaker, limit, pool, timeout({ ms: 1000, clock }));
    const hot = [
      [retrier, 'success'],
      [breaker, 'success'],
      [limit, 'allowed'],
      [pool, 'acquired'],
      [pool, 'released'],
    ] as const;
    for (const [policy, event] of hot) {
      (policy.on as (event: string, listener: () => unknown) => void)(event, () => {
        throw new Error(`sync ${event}`);
      });
      (policy.on as (event: string, listener: () => unknown) => void)(event, async () => {
        throw new Error(`async ${event}`);
      });
    }
    let runs = 0;
    await expect(stack.execute(async () => ++runs)).resolves.toBe(1);
    await expect(stack.execute(async () => ++runs)).resolves.toBe(2);
    expect(runs).toBe(2);
    // The rejections are reported a few turns later.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    const messages = errors.map(({ error, event }) => `${event}: ${(error as Error).message}`).sort();
    const expected = hot.flatMap(([, event]) => [`${event}: sync ${event}`, `${event}: async ${event}`]);
    expect(messages).toEqual([...expected, ...expected].sort());
    expect(pool.running).toBe(0);
    expect(breaker.state).toBe('closed');
  });
});
