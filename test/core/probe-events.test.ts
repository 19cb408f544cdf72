import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { Emitter, type EventTally, type ListenerErrorInfo, setListenerErrorHandler } from '../../src/core/events.js';
import { TALLY } from '../../src/core/policy.js';
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

describe('tallies of hot events (what weir/otel counts)', () => {
  type Tallies = { tally(event: string, sampler?: (weight: number) => void): EventTally };
  const talliesOf = (policy: object): Tallies => ({
    tally: (policy as Record<symbol, Tallies['tally']>)[TALLY] as Tallies['tally'],
  });

  test('only declared events can be tallied; a tally counts from when it is taken, until stopped', () => {
    const emitter = new Emitter<{ hot: number; cold: number }>(new Set(['hot', 'cold']));
    const probe = emitter.probe('hot', true);
    expect(() => emitter.tally('cold')).toThrow(/event "cold" is not tallied; tallied events: hot/);
    expect(() => emitter.tally('nope' as never)).toThrow(/unknown event "nope"/);
    expect(() => emitter.tally('hot', 42 as never)).toThrow(/sampler for "hot" must be a function, got number/);
    expect(probe.tallying).toBe(0);
    const first = emitter.tally('hot');
    probe.tally(0);
    probe.tally(2);
    const samples: number[] = [];
    const second = emitter.tally('hot', (weight) => samples.push(weight));
    expect(probe.tallying).toBe(2);
    probe.tally(3);
    probe.tally(0);
    expect([first.count, first.sum, second.count, second.sum]).toEqual([4, 5, 2, 3]);
    expect(samples).toEqual([3]);
    second.stop();
    second.stop();
    expect(probe.tallying).toBe(1);
    expect(probe.samplers).toBeUndefined();
    probe.tally(1);
    expect([first.count, second.count]).toEqual([5, 2]);
    first.stop();
    expect(probe.tallying).toBe(0);
    // A tally is not a listener: the probe stays inactive and builds no payload.
    expect(probe.active).toBe(false);
  });

  test('a throwing sampler is reported under its event and the other samplers still run', () => {
    const errors = reported();
    const emitter = new Emitter<{ hot: number }>(new Set(['hot']));
    const probe = emitter.probe('hot', true);
    emitter.tally('hot', () => {
      throw new Error('broken sampler');
    });
    const samples: number[] = [];
    emitter.tally('hot', (weight) => samples.push(weight));
    probe.tally(7);
    expect(samples).toEqual([7]);
    expect(errors.map(({ error, event }) => `${event}: ${(error as Error).message}`)).toEqual(['hot: broken sampler']);
  });

  test('property: each policy tallies exactly the events its listeners hear, with the documented weights', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Per call: how many attempts fail before one succeeds (3 and more: the call fails), and the cost.
        fc.array(fc.record({ failures: fc.nat(3), cost: fc.integer({ min: 1, max: 4 }) }), { maxLength: 25 }),
        fc.array(fc.nat(50), { minLength: 1, maxLength: 6 }),
        async (calls, holds) => {
          const clock = new VirtualClock();
          const retrier = retry({ maxAttempts: 3, backoff: 0, clock });
          const breaker = circuitBreaker({ clock, consecutiveFailures: 1000 });
          const limit = rateLimit(tokenBucket({ capacity: 30, refillPerSecond: 0.001, clock }), {
            cost: (n: { cost: number }) => n.cost,
          });
          const pool = bulkhead({ maxConcurrent: 1, maxQueue: 10, clock });
          const stack = compose(retrier, breaker, limit);
          const heard = { retry: 0, retried: 0, breaker: 0, limit: 0, pool: 0, waited: [] as number[] };
          retrier.on('success', (event) => {
            heard.retry++;
            heard.retried += event.attempts - 1;
          });
          breaker.on('success', () => heard.breaker++);
          limit.on('allowed', () => heard.limit++);
          pool.on('acquired', (event) => {
            heard.pool++;
            if (event.waitedMs !== 0) heard.waited.push(event.waitedMs);
          });
          const retries = talliesOf(retrier).tally('success');
          const successes = talliesOf(breaker).tally('success');
          const allowed = talliesOf(limit).tally('allowed');
          const samples: number[] = [];
          const acquired = talliesOf(pool).tally('acquired', (weight) => samples.push(weight));

          for (const { failures, cost } of calls) {
            let attempt = 0;
            await stack(async (_n: { cost: number }) => {
              if (attempt++ < failures) throw new Error('attempt fails');
              return attempt;
            })({ cost }).catch(() => undefined);
          }
          // Bulkhead permits: each holds its slot for a while; the next waits for it on the virtual clock.
          const permits = holds.map(() => pool.acquire());
          for (const hold of holds) {
            const permit = await permits.shift();
            clock.advance(hold);
            permit?.release();
          }

          expect([retries.count, retries.sum]).toEqual([heard.retry, heard.retried]);
          expect(successes.count).toBe(heard.breaker);
          expect(allowed.count).toBe(heard.limit);
          expect(acquired.count).toBe(heard.pool);
          expect(samples).toEqual(heard.waited);
          expect(acquired.sum).toBe(heard.waited.reduce((a, b) => a + b, 0));
        },
      ),
      { numRuns: 60 },
    );
  });
});
