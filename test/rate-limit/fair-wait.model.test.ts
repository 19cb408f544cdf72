/**
 * Fair waiting, model-based (fc.commands): random arrivals on a few keys, clock advances and aborts.
 * After every command: no call for a key is admitted while an earlier call for that key still waits (a
 * waiter never loses its turn), an aborted waiter has rejected with its signal's reason at once, the queue
 * never holds more than maxQueue, every admission is one the exact algorithm admits, and no waiter is
 * refused later than its own deadline.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isRateLimitedError, rateLimit, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import { PureStepModel } from './pure-step-model.js';

interface Tracked {
  key: string;
  cost: number;
  arrivedAt: number;
  controller: AbortController;
  state: 'pending' | 'admitted' | 'refused' | 'aborted' | 'failed';
  settledAt: number;
  reason: unknown;
}

interface Real {
  clock: VirtualClock;
  work: (key: string, cost: number, signal: AbortSignal) => Promise<unknown>;
  calls: Tracked[];
  model: PureStepModel;
  maxWaitMs: number;
  maxQueue: number;
  admitted: Tracked[];
}

type Cmd = fc.AsyncCommand<object, Real>;

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function check(real: Real): void {
  const { calls } = real;
  const waiting = calls.filter((c) => c.state === 'pending');
  expect(waiting.length).toBeLessThanOrEqual(real.maxQueue);
  for (let j = 0; j < calls.length; j++) {
    const later = calls[j] as Tracked;
    if (later.state !== 'admitted') continue;
    for (let i = 0; i < j; i++) {
      const earlier = calls[i] as Tracked;
      if (earlier.key !== later.key || earlier.state !== 'pending') continue;
      throw new Error(`call ${j} (${later.key}) was admitted while earlier call ${i} still waits`);
    }
  }
  for (const c of calls) {
    if (c.state === 'refused') expect(c.settledAt).toBeLessThanOrEqual(c.arrivedAt + real.maxWaitMs);
    if (c.state === 'failed') throw c.reason;
  }
}

const arrive = fc.record({ key: fc.constantFrom('a', 'b'), cost: fc.integer({ min: 1, max: 2 }) }).map(
  ({ key, cost }): Cmd => ({
    check: () => true,
    async run(_m, real) {
      const controller = new AbortController();
      const tracked: Tracked = {
        key,
        cost,
        arrivedAt: real.clock.now(),
        controller,
        state: 'pending',
        settledAt: -1,
        reason: undefined,
      };
      real.calls.push(tracked);
      real.work(key, cost, controller.signal).then(
        () => {
          tracked.state = 'admitted';
          tracked.settledAt = real.clock.now();
        },
        (error) => {
          tracked.settledAt = real.clock.now();
          tracked.reason = error;
          if (controller.signal.aborted && error === controller.signal.reason) tracked.state = 'aborted';
          else if (isRateLimitedError(error)) tracked.state = 'refused';
          else tracked.state = 'failed';
        },
      );
      await flush();
      check(real);
    },
    toString: () => `arrive(${key}, ${cost})`,
  }),
);

const advance = fc.integer({ min: 1, max: 700 }).map(
  (ms): Cmd => ({
    check: () => true,
    async run(_m, real) {
      await real.clock.advanceAsync(ms);
      await flush();
      check(real);
    },
    toString: () => `advance(${ms})`,
  }),
);

const abort = fc.nat({ max: 40 }).map(
  (n): Cmd => ({
    check: () => true,
    async run(_m, real) {
      const pending = real.calls.filter((c) => c.state === 'pending');
      if (pending.length === 0) return;
      const target = pending[n % pending.length] as Tracked;
      target.controller.abort(new Error(`abort ${n}`));
      await flush();
      // Removed at once: rejected with the signal's reason, with no clock movement.
      expect(target.state).toBe('aborted');
      check(real);
    },
    toString: () => `abort(#${n})`,
  }),
);

describe('fair waiting (model-based)', () => {
  const limiters: [string, (clock: VirtualClock) => ReturnType<typeof tokenBucket>][] = [
    ['token bucket', (clock) => tokenBucket({ capacity: 2, refillPerSecond: 4, clock })],
    ['sliding log', (clock) => slidingWindow({ limit: 3, windowMs: 800, clock })],
  ];
  for (const [name, make] of limiters) {
    test(`${name}: FIFO per key, abort removes at once, bounded queue, exact admissions`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.commands([arrive, arrive, arrive, advance, abort], { maxCommands: 60 }),
          fc.integer({ min: 1, max: 6 }),
          fc.constantFrom(300, 1000, 2500),
          async (cmds, maxQueue, maxWaitMs) => {
            const clock = new VirtualClock();
            const limiter = make(clock);
            const model = new PureStepModel(limiter.algorithm.config);
            const real: Real = { clock, calls: [], model, maxWaitMs, maxQueue, admitted: [], work: undefined as never };
            // The policy reads key and cost when the call enters (synchronously, inside execute).
            let nextKey = 'a';
            let nextCost = 1;
            const policy = rateLimit(limiter, { key: () => nextKey, cost: () => nextCost, wait: { maxWaitMs, maxQueue } });
            real.work = (key, cost, signal) => {
              nextKey = key;
              nextCost = cost;
              return policy.execute(async () => {
                // Admitted now: the exact algorithm, fed only admissions, must agree.
                expect(model.step(key, cost, Math.round(clock.now() * 1000), true).allowed).toBe(true);
              }, signal) as Promise<unknown>;
            };
            await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
            // Drain: every waiter ends (admitted or refused by its deadline), leaving no timer behind.
            await clock.runAllAsync();
            await flush();
            check(real);
            expect(real.calls.every((c) => c.state !== 'pending')).toBe(true);
            expect(clock.pendingTimers).toBe(0);
          },
        ),
        { numRuns: 120 },
      );
    });
  }

  test('a later arrival never takes the capacity a waiter is waiting for', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1, clock });
    const order: string[] = [];
    const policy = rateLimit(limiter, { key: 'k', cost: (c: number) => c, wait: { maxWaitMs: 10_000 } });
    const work = policy(async (_c: number, label: string) => void order.push(label));
    await work(2, 'first');
    const big = work(2, 'big waiter'); // needs 2 tokens: 2 s
    await clock.advanceAsync(1000); // 1 token back: a small call could pass, but must not jump the queue
    const small = work(1, 'small later');
    await clock.advanceAsync(1000);
    await big;
    await clock.advanceAsync(1000);
    await small;
    expect(order).toEqual(['first', 'big waiter', 'small later']);
  });

  test('a full queue refuses with RateLimitedError; an abort frees a place at once', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    await limiter.take();
    const controller = new AbortController();
    const waiting = rateLimit(limiter, { wait: { maxWaitMs: 60_000, maxQueue: 1 } });
    const queued = waiting.execute(async () => clock.now(), controller.signal);
    await expect(waiting.execute(async () => 0)).rejects.toMatchObject({ code: 'ERR_WEIR_RATE_LIMITED' });
    controller.abort(new Error('gone'));
    await expect(queued).rejects.toThrow('gone');
    const next = waiting.execute(async () => clock.now());
    await clock.advanceAsync(1000);
    expect(await next).toBe(1000);
  });
});
