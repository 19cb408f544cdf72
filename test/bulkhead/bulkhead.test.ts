import { describe, expect, test } from 'vitest';
import {
  BulkheadFullError,
  bulkhead,
  compose,
  isBulkheadFullError,
  setListenerErrorHandler,
  TimeoutError,
  timeout,
  VirtualClock,
} from '../../src/index.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets promise continuations (grants, settlements) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records how a promise settled, without ever leaving it unhandled. */
function track<T>(promise: Promise<T>) {
  const state: { status: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } = { status: 'pending' };
  promise.then(
    (value) => {
      state.status = 'fulfilled';
      state.value = value;
    },
    (error) => {
      state.status = 'rejected';
      state.error = error;
    },
  );
  return state;
}

describe('bulkhead: construction', () => {
  test.each([
    [0, /maxConcurrent.*integer >= 1/],
    [1.5, /maxConcurrent/],
    [Number.NaN, /maxConcurrent/],
    [Number.POSITIVE_INFINITY, /maxConcurrent/],
  ])('rejects maxConcurrent %s', (value, message) => {
    expect(() => bulkhead(value)).toThrow(RangeError);
    expect(() => bulkhead({ maxConcurrent: value })).toThrow(message);
  });

  test('rejects bad queue options with the option and value named', () => {
    expect(() => bulkhead({ maxConcurrent: 1, maxQueue: -1 })).toThrow(/"maxQueue".*got -1/);
    expect(() => bulkhead({ maxConcurrent: 1, maxQueue: 1.5 })).toThrow(RangeError);
    expect(() => bulkhead({ maxConcurrent: 1, maxQueueWaitMs: -5 })).toThrow(/"maxQueueWaitMs".*got -5/);
    expect(() => bulkhead({ maxConcurrent: 1, maxQueueWaitMs: Number.NaN })).toThrow(RangeError);
    expect(() => bulkhead({ maxConcurrent: 1, queueOrder: 'random' as never })).toThrow(/"queueOrder".*"random"/);
    expect(() => bulkhead({ maxConcurrent: 1, maxQeue: 3 } as never)).toThrow(/unknown option "maxQeue"/);
    expect(() => bulkhead({ maxConcurrent: 1, clock: {} as never })).toThrow(/clock/);
    expect(() => bulkhead(undefined as never)).toThrow(TypeError);
  });

  test('rejects bad adaptive limits', () => {
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'aimd', min: 10, max: 5 } })).toThrow(
      /"maxConcurrent.min" \(10\) must be <= "maxConcurrent.max" \(5\)/,
    );
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'vegas', min: 2, max: 5, initial: 9 } })).toThrow(/initial.*got 9/);
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'aimd', min: 0 } })).toThrow(/maxConcurrent.min/);
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'aimd', backoffRatio: 1 } })).toThrow(/backoffRatio/);
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'vegas', smoothing: 0 } })).toThrow(/smoothing/);
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'aimd', smoothing: 0.5 } as never })).toThrow(
      /unknown option "maxConcurrent.smoothing"/,
    );
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'gradient' } as never })).toThrow(/algorithm/);
    expect(() => bulkhead({ maxConcurrent: { algorithm: 'aimd', classifyError: 1 } as never })).toThrow(/classifyError/);
  });

  test('defaults and accessors', () => {
    const bh = bulkhead(3);
    expect([bh.limit, bh.maxQueue, bh.maxQueueWaitMs, bh.queueOrder, bh.algorithm]).toEqual([
      3,
      0,
      Number.POSITIVE_INFINITY,
      'fifo',
      undefined,
    ]);
    const adaptive = bulkhead({ maxConcurrent: { algorithm: 'aimd', min: 2, max: 8 } });
    expect([adaptive.limit, adaptive.algorithm]).toEqual([8, 'aimd']);
    expect(() => bh.on('nope' as never, () => {})).toThrow(/unknown event/);
  });
});

describe('bulkhead: static limit', () => {
  test('admits up to the limit synchronously and rejects beyond it without a queue', async () => {
    const bh = bulkhead(2);
    const gates = [deferred(), deferred()];
    let started = 0;
    const run = (i: number) =>
      bh.execute(() => {
        started++;
        return (gates[i] as Deferred<string>).promise;
      });
    const a = track(run(0));
    const b = track(run(1));
    expect(started).toBe(2);
    expect(bh.running).toBe(2);
    const error = await run(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect(isBulkheadFullError(error)).toBe(true);
    expect((error as BulkheadFullError).reason).toBe('full');
    expect((error as BulkheadFullError).limit).toBe(2);
    expect(started).toBe(2);
    gates[0]?.resolve('a');
    gates[1]?.reject(new Error('b'));
    await flush();
    expect(a.value).toBe('a');
    expect((b.error as Error).message).toBe('b');
    expect(bh.running).toBe(0);
  });

  test('fifo hands freed slots to the oldest waiter, lifo to the newest', async () => {
    for (const [order, expected] of [
      ['fifo', [1, 2, 3]],
      ['lifo', [3, 2, 1]],
    ] as const) {
      const bh = bulkhead({ maxConcurrent: 1, maxQueue: 3, queueOrder: order });
      const order_: number[] = [];
      const gates = [deferred(), deferred(), deferred(), deferred()];
      const calls = [0, 1, 2, 3].map((i) =>
        track(
          bh.execute(() => {
            order_.push(i);
            return (gates[i] as Deferred<string>).promise;
          }),
        ),
      );
      expect(bh.queued).toBe(3);
      for (let i = 0; i < 4; i++) {
        await flush();
        gates[order_[order_.length - 1] as number]?.resolve('ok');
      }
      await flush();
      expect(order_).toEqual([0, ...expected]);
      expect(calls.every((c) => c.status === 'fulfilled')).toBe(true);
      expect([bh.running, bh.queued]).toEqual([0, 0]);
    }
  });

  test('a queued call whose signal aborts leaves the queue at once with the abort reason', async () => {
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const reasons: string[] = [];
    bh.on('rejected', (e) => reasons.push(e.reason));
    const gate = deferred();
    const first = track(bh.execute(() => gate.promise));
    const controller = new AbortController();
    let ran = false;
    const queued = track(
      bh.execute(() => {
        ran = true;
      }, controller.signal),
    );
    expect(bh.queued).toBe(1);
    // The queue is full: a third call is rejected...
    await expect(bh.execute(() => 1)).rejects.toMatchObject({ reason: 'full' });
    const reason = new Error('caller gave up');
    controller.abort(reason);
    // ...the abort frees the place synchronously, while the slot is still busy.
    expect(bh.queued).toBe(0);
    await flush();
    expect(queued.error).toBe(reason);
    const third = track(bh.execute(() => 'third'));
    expect(bh.queued).toBe(1);
    gate.resolve('first');
    await flush();
    expect([first.value, third.value, ran]).toEqual(['first', 'third', false]);
    expect(reasons).toEqual(['full', 'aborted']);
  });

  test('a call aborted before it needs to queue is rejected with its reason and never queued', async () => {
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const gate = deferred();
    void bh.execute(() => gate.promise);
    const controller = new AbortController();
    controller.abort('gone');
    await expect(bh.execute(() => 1, controller.signal)).rejects.toBe('gone');
    expect(bh.queued).toBe(0);
    gate.resolve('x');
  });

  test('maxQueueWaitMs rejects stale waiters with one shared timer, and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 10, maxQueueWaitMs: 100, clock });
    const gate = deferred();
    const running = track(bh.execute(() => gate.promise));
    const a = track(bh.execute(() => 'a'));
    await clock.advanceAsync(30);
    const b = track(bh.execute(() => 'b'));
    const c = track(bh.execute(() => 'c'));
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceAsync(70);
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(BulkheadFullError);
    expect((a.error as BulkheadFullError).reason).toBe('queue-timeout');
    expect([b.status, c.status, bh.queued]).toEqual(['pending', 'pending', 2]);
    expect(clock.pendingTimers).toBe(1);
    gate.resolve('done');
    await clock.advanceAsync(0);
    expect([running.value, b.value, c.value]).toEqual(['done', 'b', 'c']);
    expect([bh.running, bh.queued, clock.pendingTimers]).toEqual([0, 0, 0]);
  });

  test('with lifo under overload, the oldest waiter times out while fresh ones are served', async () => {
    const clock = new VirtualClock();
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 10, maxQueueWaitMs: 50, queueOrder: 'lifo', clock });
    let gate = deferred();
    void bh.execute(() => gate.promise);
    const old = track(bh.execute(() => 'old'));
    await clock.advanceAsync(40);
    const fresh = track(
      bh.execute(() => {
        gate = deferred();
        return gate.promise;
      }),
    );
    gate.resolve('first');
    await clock.advanceAsync(0);
    expect([old.status, fresh.status, bh.running, bh.queued]).toEqual(['pending', 'pending', 1, 1]);
    await clock.advanceAsync(10);
    expect((old.error as BulkheadFullError).reason).toBe('queue-timeout');
    gate.resolve('fresh');
    await clock.advanceAsync(0);
    expect(fresh.value).toBe('fresh');
    expect(clock.pendingTimers).toBe(0);
  });

  test('one instance guarding several functions is one shared pool', async () => {
    const bh = bulkhead({ maxConcurrent: 2, maxQueue: 1 });
    const gate = deferred();
    const f = bh(async (x: number) => {
      await gate.promise;
      return x;
    });
    const g = bh(async (s: string) => {
      await gate.promise;
      return s;
    });
    const r1 = track(f(1));
    const r2 = track(g('two'));
    const r3 = track(f(3));
    expect([bh.running, bh.queued]).toEqual([2, 1]);
    await expect(g('four')).rejects.toBeInstanceOf(BulkheadFullError);
    gate.resolve('go');
    await flush();
    await flush();
    expect([r1.value, r2.value, r3.value]).toEqual([1, 'two', 3]);
  });

  test('events: acquired, queued, rejected, released in order with counts', async () => {
    const clock = new VirtualClock();
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    const log: string[] = [];
    bh.on('acquired', (e) => log.push(`acquired r${e.running} q${e.queued} w${e.waitedMs}`));
    bh.on('queued', (e) => log.push(`queued r${e.running} q${e.queued}`));
    bh.on('rejected', (e) => log.push(`rejected ${e.reason} r${e.running} q${e.queued}`));
    bh.on('released', (e) => log.push(`released r${e.running} q${e.queued}`));
    const gate = deferred();
    const first = bh.execute(() => gate.promise);
    const second = bh.execute(() => 'second');
    await bh.execute(() => 'third').catch(() => {});
    await clock.advanceAsync(25);
    gate.resolve('first');
    await Promise.all([first, second]);
    expect(log).toEqual([
      'acquired r1 q0 w0',
      'queued r1 q1',
      'rejected full r1 q1',
      'released r0 q1',
      'acquired r1 q0 w25',
      'released r0 q0',
    ]);
  });

  test('a throwing listener changes no outcome and loses no slot', async () => {
    const warnings: unknown[] = [];
    const previous = setListenerErrorHandler((error) => warnings.push(error));
    try {
      const bh = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      for (const event of ['acquired', 'queued', 'rejected', 'released'] as const) {
        bh.on(event, () => {
          throw new Error(event);
        });
      }
      const gate = deferred();
      const a = bh.execute(() => gate.promise);
      const b = bh.execute(() => 'b');
      await expect(bh.execute(() => 'c')).rejects.toBeInstanceOf(BulkheadFullError);
      gate.resolve('a');
      expect(await Promise.all([a, b])).toEqual(['a', 'b']);
      expect([bh.running, bh.queued]).toEqual([0, 0]);
      expect(warnings.length).toBeGreaterThanOrEqual(6);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  test('a timeout outside the bulkhead also bounds the queue wait, and frees the place', async () => {
    const clock = new VirtualClock();
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 5, clock });
    const policy = compose(timeout({ ms: 100, clock }), bh);
    const gate = deferred();
    const busy = track(bh.execute(() => gate.promise));
    const waiting = track(policy.execute(() => 'never'));
    expect(bh.queued).toBe(1);
    await clock.advanceAsync(100);
    expect(waiting.error).toBeInstanceOf(TimeoutError);
    expect(bh.queued).toBe(0);
    gate.resolve('ok');
    await clock.advanceAsync(0);
    expect([busy.value, bh.running, clock.pendingTimers]).toEqual(['ok', 0, 0]);
  });

  test('a running call aborted by its caller frees its slot for the next waiter', async () => {
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const controller = new AbortController();
    const first = track(bh.execute(() => new Promise(() => {}), controller.signal));
    const second = track(bh.execute(() => 'second'));
    controller.abort('stop');
    await flush();
    expect([first.error, second.value, bh.running]).toEqual(['stop', 'second', 0]);
  });
});

describe('bulkhead: permits for load shedding', () => {
  test('tryAcquire takes a free slot or returns undefined; release is idempotent', () => {
    const bh = bulkhead(1);
    const rejected: string[] = [];
    bh.on('rejected', (e) => rejected.push(e.reason));
    const permit = bh.tryAcquire();
    expect(permit).toBeDefined();
    expect(bh.running).toBe(1);
    expect(bh.tryAcquire()).toBeUndefined();
    expect(rejected).toEqual(['full']);
    expect(permit?.release()).toBe(true);
    expect(permit?.release()).toBe(false);
    expect(bh.running).toBe(0);
    expect(() => bh.tryAcquire()?.release('bad' as never)).toThrow(/outcome/);
  });

  test('acquire waits in the same queue as guarded calls and honours abort and queue timeout', async () => {
    const clock = new VirtualClock();
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 2, maxQueueWaitMs: 50, clock });
    const held = await bh.acquire();
    const controller = new AbortController();
    const aborted = track(bh.acquire(controller.signal));
    const call = track(bh.execute(() => 'call'));
    expect(bh.queued).toBe(2);
    await expect(bh.acquire()).rejects.toMatchObject({ reason: 'full' });
    controller.abort('bye');
    await flush();
    expect(aborted.error).toBe('bye');
    const later = track(bh.acquire());
    held.release();
    await flush();
    expect(call.value).toBe('call');
    await flush();
    expect(later.status).toBe('fulfilled');
    expect(bh.running).toBe(1);
    const timedOut = track(bh.acquire());
    await clock.advanceAsync(50);
    expect((timedOut.error as BulkheadFullError).reason).toBe('queue-timeout');
    later.value?.release();
    expect([bh.running, bh.queued, clock.pendingTimers]).toEqual([0, 0, 0]);
    const pre = new AbortController();
    pre.abort('early');
    await expect(bh.acquire(pre.signal)).rejects.toBe('early');
    await expect(bh.acquire('nope' as never)).rejects.toThrow(TypeError);
  });
});
