import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fallback, setListenerErrorHandler } from '../../src/index.js';

describe('fallback', () => {
  test('passes results through and replaces every failure by default (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), fc.anything(), fc.boolean(), async (value, substitute, fails) => {
        const fn = fallback(() => substitute)(async () => {
          if (fails) throw new Error('x');
          return value;
        });
        expect(await fn()).toBe(fails ? substitute : value);
      }),
    );
  });

  test('computes from the error, sync or async; a rejected fallback is the outcome', async () => {
    const fromError = fallback((error) => `handled ${(error as Error).message}`);
    expect(await fromError.execute(() => Promise.reject(new Error('db down')))).toBe('handled db down');
    const asyncFallback = fallback(async () => 'cached');
    expect(await asyncFallback.execute(() => Promise.reject(new Error('x')))).toBe('cached');
    const broken = new Error('no cache either');
    await expect(fallback(() => Promise.reject(broken)).execute(() => Promise.reject(new Error('x')))).rejects.toBe(broken);
    await expect(
      fallback(() => {
        throw broken;
      }).execute(() => Promise.reject(new Error('x'))),
    ).rejects.toBe(broken);
  });

  test('`when` selects which errors get the fallback', async () => {
    const onlyNotFound = fallback(null, { when: (e) => (e as { status?: number }).status === 404 });
    const notFound = Object.assign(new Error('nf'), { status: 404 });
    const serverError = Object.assign(new Error('se'), { status: 500 });
    expect(await onlyNotFound.execute(() => Promise.reject(notFound))).toBeNull();
    await expect(onlyNotFound.execute(() => Promise.reject(serverError))).rejects.toBe(serverError);
  });

  test('emits `fallback` with the error; a throwing listener does not change the result', async () => {
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((e) => reported.push(e));
    try {
      const policy = fallback(0);
      const seen: unknown[] = [];
      policy.on('fallback', ({ error }) => seen.push(error));
      policy.on('fallback', () => {
        throw new Error('listener');
      });
      const error = new Error('x');
      let calls = 0;
      const value = await policy(async () => {
        calls++;
        throw error;
      })();
      expect(value).toBe(0);
      expect(calls).toBe(1);
      expect(seen).toEqual([error]);
      expect(reported).toHaveLength(1);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  test('validates its options', () => {
    expect(() => fallback(0, { when: 'yes' } as never)).toThrow('fallback: option "when" must be a function, got "yes"');
    expect(() => fallback(0, { whne: () => true } as never)).toThrow(/unknown option "whne"/);
    expect(() => fallback(0, 5 as never)).toThrow(/options must be an object/);
  });
});

describe('fallback context', () => {
  test('an async fallback gets a signal that aborts with an enclosing cooperative timeout', async () => {
    const { VirtualClock, compose, timeout, isTimeoutError } = await import('../../src/index.js');
    const clock = new VirtualClock();
    let stopped = false;
    const slowSubstitute = (_error: unknown, { signal }: { signal: AbortSignal }) =>
      new Promise<string>((resolve, reject) => {
        const timer = clock.setTimer(() => resolve('late substitute'), 1_000);
        signal.addEventListener('abort', () => {
          stopped = true;
          clock.clearTimer(timer);
          reject(signal.reason);
        });
      });
    const policy = compose(timeout({ ms: 50, clock, cooperative: true }), fallback(slowSubstitute));
    const pending = policy.execute(() => Promise.reject(new Error('down'))).catch((e: unknown) => e);
    await clock.advanceAsync(50);
    expect(isTimeoutError(await pending)).toBe(true);
    expect(stopped).toBe(true);
    expect(clock.pendingTimers).toBeLessThanOrEqual(1);
  });

  test('an abandoned async fallback that rejects later is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let rejectLate: (error: Error) => void = () => {};
      const policy = fallback(() => new Promise((_, reject) => (rejectLate = reject)));
      const controller = new AbortController();
      const pending = policy.execute(() => Promise.reject(new Error('down')), controller.signal).catch((e: unknown) => e);
      await new Promise((r) => setImmediate(r));
      controller.abort(new Error('caller gave up'));
      expect(((await pending) as Error).message).toBe('caller gave up');
      rejectLate(new Error('fallback failed too'));
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a fallback that rejects after the caller aborted is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const policy = fallback(async () => {
        throw new Error('fallback failed too');
      });
      const controller = new AbortController();
      const pending = policy.execute(() => new Promise(() => {}), controller.signal).catch((e: unknown) => e);
      controller.abort(new Error('caller abort'));
      expect(((await pending) as Error).message).toBe('caller abort');
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
