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

describe('shared success payloads', () => {
  test("a retry's first-attempt success and a breaker's success are frozen, shared, and say what happened", async () => {
    const policy = retry({ maxAttempts: 3, backoff: 0 });
    const retried: unknown[] = [];
    policy.on('success', (event) => retried.push(event));
    let calls = 0;
    await policy(async () => 'once')();
    await policy(async () => 'again')();
    await policy(async () => {
      if (++calls === 1) throw new Error('first attempt fails');
      return 'second';
    })();
    expect(retried).toEqual([{ attempts: 1 }, { attempts: 1 }, { attempts: 2 }]);
    expect(retried[0]).toBe(retried[1]);
    expect(Object.isFrozen(retried[0])).toBe(true);
    // A listener that writes to a shared payload throws (strict mode): reported, the call unchanged.
    const errors = reported();
    policy.on('success', (event) => {
      (event as { attempts: number }).attempts = 99;
    });
    expect(await policy(async () => 'unchanged')()).toBe('unchanged');
    expect(errors.map((e) => e.event)).toEqual(['success']);
    expect(retried.at(-1)).toEqual({ attempts: 1 });

    const clock = new VirtualClock();
    const breaker = circuitBreaker({ clock, openDurationMs: 10, consecutiveFailures: 1, halfOpen: { permits: 1 } });
    const states: unknown[] = [];
    breaker.on('success', (event) => states.push(event));
    await breaker(async () => 1)();
    await breaker(async () => {
      throw new Error('trip');
    })().catch(() => {});
    clock.advance(10);
    await breaker(async () => 2)();
    expect(states).toEqual([{ state: 'closed' }, { state: 'half-open' }]);
    expect(states.every((event) => Object.isFrozen(event))).toBe(true);
  });
});
