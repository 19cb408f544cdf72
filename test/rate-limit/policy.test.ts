import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  compose,
  gcra,
  isRateLimitedError,
  isTimeoutError,
  type RateLimitDecision,
  RateLimitedError,
  type RateLimitStore,
  rateLimit,
  slidingWindow,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';
import { expectEveryFormRejects } from '../helpers/call-forms.js';

describe('rateLimit policy', () => {
  test('a throwing key or cost function rejects the call in every form, never throws synchronously; the function does not run', async () => {
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 4, clock: new VirtualClock() });
    const broken = new Error('no key');
    let runs = 0;
    const work = async () => ++runs;
    for (const options of [
      {
        key: () => {
          throw broken;
        },
      },
      {
        cost: () => {
          throw broken;
        },
      },
    ]) {
      await expectEveryFormRejects(rateLimit(limiter, options), work, broken);
    }
    expect(runs).toBe(0);
  });

  test('rejects with RateLimitedError carrying the exact retryAfterMs, without running the function', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 4, clock });
    const policy = rateLimit(limiter);
    let runs = 0;
    const work = policy(async () => ++runs);
    expect(await work()).toBe(1);
    expect(await work()).toBe(2);
    const error = await work().catch((e: unknown) => e);
    expect(isRateLimitedError(error)).toBe(true);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 250, reason: 'limit', limit: 2, remaining: 0 });
    expect(runs).toBe(2);
    clock.advance(250);
    expect(await work()).toBe(3);
  });

  test('key and cost are functions of the arguments; each key has its own budget', async () => {
    const clock = new VirtualClock();
    const limiter = slidingWindow({ limit: 3, windowMs: 1000, clock });
    const policy = rateLimit(limiter, { key: (user: string) => user, cost: (_user: string, n: number) => n });
    const send = policy(async (user: string, n: number) => `${user}:${n}`);
    expect(await send('ann', 3)).toBe('ann:3');
    expect(await send('bob', 2)).toBe('bob:2');
    await expect(send('ann', 1)).rejects.toMatchObject({ reason: 'limit' });
    expect(await send('bob', 1)).toBe('bob:1');
  });

  test('a cost above the limit is rejected at once with its own reason, even in wait mode', async () => {
    const clock = new VirtualClock();
    const limiter = gcra({ ratePerSecond: 1, burst: 2, clock });
    const policy = rateLimit(limiter, { cost: (n: number) => n, wait: { maxWaitMs: 1e9 } });
    const work = policy(async (_n: number) => 'ok');
    await expect(work(3)).rejects.toMatchObject({ reason: 'cost-exceeds-limit', retryAfterMs: Number.POSITIVE_INFINITY });
    expect(clock.pendingTimers).toBe(0);
    expect(() => rateLimit(limiter, { cost: 3 })).toThrow(RangeError);
  });

  test('wait mode: waits exactly retryAfterMs on the clock, then runs', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 10, clock });
    const work = rateLimit(limiter, { wait: { maxWaitMs: 150 } })(async () => clock.now());
    expect(await work()).toBe(0);
    const second = work();
    const third = work().catch((e: unknown) => e);
    await clock.advanceAsync(99);
    expect(clock.pendingTimers).toBe(2);
    await clock.advanceAsync(1);
    expect(await second).toBe(100);
    // The third lost the race at 100 ms; 100 ms more would end past 150 ms after its start, so it rejects.
    expect(await third).toMatchObject({ reason: 'limit', retryAfterMs: 100 });
    expect(clock.pendingTimers).toBe(0);
  });

  test('emits allowed for every admitted call (at once and after a wait) and rejected for the refused one', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 10, clock, name: 'api' });
    const policy = rateLimit(limiter, { wait: { maxWaitMs: 100 }, key: (user: string) => user });
    const seen: string[] = [];
    policy.on('allowed', (e) => seen.push(`allowed ${e.key} ${e.cost} ${e.remaining} ${e.name}`));
    policy.on('rejected', (e) => seen.push(`rejected ${e.key} ${e.reason}`));
    const work = policy(async (_user: string) => clock.now());
    expect(await work('a')).toBe(0);
    expect(await work('a')).toBe(0);
    const waited = work('a');
    await clock.advanceAsync(100);
    expect(await waited).toBe(100);
    expect(seen).toEqual(['allowed a 1 1 api', 'allowed a 1 0 api', 'allowed a 1 0 api']);
    const unsubscribed = rateLimit(limiter, { key: 'b' });
    expect(await unsubscribed(async () => 'no listener')()).toBe('no listener');
  });

  test('wait mode rejects at once when the wait does not fit', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const work = rateLimit(limiter, { wait: { maxWaitMs: 999 } })(async () => 'ok');
    await work();
    await expect(work()).rejects.toMatchObject({ retryAfterMs: 1000 });
    expect(clock.pendingTimers).toBe(0);
  });

  test('an abort during the wait rejects at once with the reason and leaves no timer', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const policy = rateLimit(limiter, { wait: { maxWaitMs: 5000 } });
    await policy.execute(() => 'first');
    const controller = new AbortController();
    const pending = policy.execute(() => 'second', controller.signal);
    await clock.advanceAsync(10);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
    // The aborted waiter consumed nothing.
    expect((await limiter.peek()).remaining).toBe(0);
    clock.advance(990);
    expect((await limiter.peek()).remaining).toBe(1);
  });

  test('waiters never admit more than the bucket allows (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 30 }), async (capacity, calls) => {
        const clock = new VirtualClock();
        const limiter = tokenBucket({ capacity, refillPerSecond: 10, clock });
        const started: number[] = [];
        const work = rateLimit(limiter, { wait: { maxWaitMs: 1000 } })(async () => started.push(clock.now()));
        const all = Promise.allSettled(Array.from({ length: calls }, () => work()));
        await clock.runAllAsync();
        const results = await all;
        for (const t of started) {
          expect(started.filter((s) => s <= t).length).toBeLessThanOrEqual(capacity + Math.floor(t / 100));
        }
        for (const r of results) if (r.status === 'rejected') expect(isRateLimitedError(r.reason)).toBe(true);
        expect(clock.pendingTimers).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  test('an async store (no sync path) works the same way', async () => {
    const clock = new VirtualClock();
    const inner = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const asyncStore: RateLimitStore = {
      bind: () => ({
        take: async (key, cost, consume): Promise<RateLimitDecision> => inner.bound.take(key, cost, consume),
        reset: (key) => inner.reset(key),
      }),
    };
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock, store: asyncStore });
    expect(limiter.takeSync).toBeUndefined();
    const work = rateLimit(limiter, { wait: { maxWaitMs: 1000 } })(async () => clock.now());
    expect(await work()).toBe(0);
    const next = work();
    await clock.advanceAsync(1000);
    expect(await next).toBe(1000);
    const policy = rateLimit(limiter);
    await expect(policy(async () => 1)()).rejects.toMatchObject({ retryAfterMs: 1000 });
  });

  test('events: rejected and waiting; a throwing listener changes nothing', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const policy = rateLimit(limiter, { key: 'k' });
    const seen: unknown[] = [];
    policy.on('rejected', (e) => seen.push(e));
    policy.on('rejected', () => {
      throw new Error('listener');
    });
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on('warning', onWarning);
    const work = policy(async () => 'ok');
    await work();
    await expect(work()).rejects.toMatchObject({ reason: 'limit' });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(seen).toEqual([{ key: 'k', cost: 1, retryAfterMs: 1000, reason: 'limit', name: limiter.name }]);
    expect(warnings).toHaveLength(1);
    expect(() => policy.on('nope' as never, () => {})).toThrow(TypeError);
  });

  test('composes with other policies', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const work = compose(rateLimit(limiter), timeout({ ms: 100, clock }))(async (x: number) => x * 2);
    expect(await work(2)).toBe(4);
    await expect(work(2)).rejects.toMatchObject({ code: 'ERR_WEIR_RATE_LIMITED' });
  });

  test('bad key or cost at the call is a clear error', async () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    const byKey = rateLimit(limiter, { key: (x: unknown) => x as string })(async (_x: unknown) => 1);
    await expect(byKey(42)).rejects.toThrow(/key function must return a string, got 42/);
    const byCost = rateLimit(limiter, { cost: (x: unknown) => x as number })(async (_x: unknown) => 1);
    await expect(byCost(-1)).rejects.toThrow(RangeError);
    await expect(byCost(Number.NaN)).rejects.toThrow(/NaN/);
    await expect(byCost(undefined)).rejects.toThrow(/undefined/);
  });
});

describe('validation', () => {
  test('limiter options', () => {
    expect(() => tokenBucket({ capacity: 0, refillPerSecond: 1 })).toThrow(/capacity.*integer >= 1.*, got 0/);
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: Number.POSITIVE_INFINITY })).toThrow(/refillPerSecond/);
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: -1 })).toThrow(RangeError);
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: 1, burst: 2 } as never)).toThrow(/unknown option "burst"/);
    expect(() => gcra({ ratePerSecond: Number.NaN, burst: 1 })).toThrow(/ratePerSecond.*NaN/);
    expect(() => gcra({ ratePerSecond: 1, burst: 1.5 })).toThrow(/burst/);
    expect(() => slidingWindow({ limit: 1, windowMs: 0 })).toThrow(/windowMs/);
    expect(() => slidingWindow({ limit: -1, windowMs: 10 })).toThrow(/limit/);
    expect(() => slidingWindow({ limit: 1, windowMs: 10, mode: 'fixed' as never })).toThrow(/mode/);
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: 1, store: {} as never })).toThrow(/store/);
  });

  test('take, peek and reset check key and cost', async () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    await expect(limiter.take(1 as never)).rejects.toThrow(TypeError);
    await expect(limiter.take('k', -1)).rejects.toThrow(/cost must be an integer >= 0, got -1/);
    await expect(limiter.take('k', Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    await expect(limiter.peek('k', 0.5)).rejects.toThrow(RangeError);
    await expect(limiter.reset(null as never)).rejects.toThrow(TypeError);
  });

  test('rateLimit options', () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    expect(() => rateLimit({} as never)).toThrow(/must be a rate limiter/);
    expect(() => rateLimit(limiter, { wait: { maxWaitMs: -1 } })).toThrow(/maxWaitMs/);
    expect(() => rateLimit(limiter, { wait: { max: 1 } as never })).toThrow(/unknown option "max"/);
    expect(() => rateLimit(limiter, { key: 3 as never })).toThrow(/key/);
    expect(() => rateLimit(limiter, { cost: -2 })).toThrow(/cost/);
  });

  test('peek does not consume; reset restores a full key', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 3, refillPerSecond: 1, clock });
    expect(await limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 1, resetAfterMs: 2000 });
    expect(await limiter.peek('k', 2)).toMatchObject({ allowed: false, remaining: 1, retryAfterMs: 1000, resetAfterMs: 2000 });
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 1 });
    await limiter.reset('k');
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 3, resetAfterMs: 0 });
  });
});

describe('a store that never answers', () => {
  // A real store object (no mocking library) whose round trips hang, as a paused Redis would.
  const hangingStore: RateLimitStore = {
    bind: () => ({ take: () => new Promise(() => {}), reset: async () => {} }),
  };

  test('the caller abort rejects at once, with its reason', async () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store: hangingStore });
    const controller = new AbortController();
    let calls = 0;
    const pending = rateLimit(limiter)
      .execute(() => calls++, controller.signal)
      .catch((e: unknown) => e);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(calls).toBe(0);
  });

  test('an enclosing aggressive timeout rejects at its deadline', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store: hangingStore, clock });
    const pending = compose(timeout({ ms: 100, clock }), rateLimit(limiter))
      .execute(() => 1)
      .catch((e: unknown) => e);
    await clock.advanceAsync(100);
    expect(isTimeoutError(await pending)).toBe(true);
  });
});

test('a store that answers with a plain decision (not a promise) works with a caller signal too', async () => {
  const allowAll: RateLimitStore = {
    bind: () => ({
      take: (() => ({ allowed: true, limit: 1, remaining: 1, retryAfterMs: 0, resetAfterMs: 0, reason: undefined })) as never,
      reset: async () => {},
    }),
  };
  const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store: allowAll });
  const controller = new AbortController();
  expect(await rateLimit(limiter).execute(() => 'ran', controller.signal)).toBe('ran');
  expect(await compose(timeout(1000), rateLimit(limiter)).execute(() => 'ran')).toBe('ran');
});
