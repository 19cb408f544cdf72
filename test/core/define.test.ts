/**
 * definePolicy: validation, the call view, admission (refuse, wait, answer), outcome replacement, events,
 * per-call state under retries, and the policy's three call forms.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compose, definePolicy, fallback, retry, timeout, VirtualClock } from '../../src/index.js';

describe('validation', () => {
  test('the definition and its fields are checked, naming the option and the value', () => {
    expect(() => definePolicy(undefined as never)).toThrow(TypeError);
    expect(() => definePolicy({ family: 'Not Kebab' })).toThrow(/option "family" must be a kebab-case name.*"Not Kebab"/);
    expect(() => definePolicy({ family: 'x', name: '' })).toThrow(/x: option "name" must be a non-empty string/);
    expect(() => definePolicy({ family: 'x', events: [''] as never })).toThrow(/option "events"/);
    expect(() => definePolicy({ family: 'x', enter: 1 as never })).toThrow(/option "enter" must be a function, got 1/);
    expect(() => definePolicy({ family: 'x', stateful: 'yes' as never })).toThrow(/option "stateful" must be a boolean/);
    expect(() => definePolicy({ family: 'x', clock: {} as never })).toThrow(/clock/);
    expect(() => definePolicy({ family: 'x', typo: 1 } as never)).toThrow(/unknown option "typo"/);
  });

  test('default names are <family>-<n>, counted per family', () => {
    const a = definePolicy({ family: 'define-test-family' });
    const b = definePolicy({ family: 'define-test-family' });
    expect(a.name).toBe('define-test-family-1');
    expect(b.name).toBe('define-test-family-2');
    expect(definePolicy({ family: 'x', name: 'given' }).name).toBe('given');
    expect(a.family).toBe('define-test-family');
  });

  test('subscribing to an event the definition does not list is a TypeError', () => {
    const policy = definePolicy<{ known: number }>({ family: 'x', events: ['known'] });
    expect(() => policy.on('unknown' as never, () => {})).toThrow(/unknown event "unknown"; known events: known/);
  });
});

describe('admission', () => {
  test('throwing in enter refuses the call with that error; exit does not run', async () => {
    const log: string[] = [];
    const refused = new Error('refused');
    const policy = definePolicy({
      family: 'gate',
      enter: () => {
        throw refused;
      },
      exit: () => {
        log.push('exit');
      },
    });
    let ran = false;
    await expect(policy.execute(() => (ran = true))).rejects.toBe(refused);
    expect(ran).toBe(false);
    expect(log).toEqual([]);
  });

  test('enter returning something other than undefined or a promise refuses with a TypeError', async () => {
    const policy = definePolicy({ family: 'bad-enter', enter: () => 42 as never });
    await expect(policy.execute(() => 1)).rejects.toThrow(/enter must return undefined or a promise, got 42/);
  });

  test('a promise from enter delays the call until it resolves, and refuses if it rejects', async () => {
    const clock = new VirtualClock();
    let allow = true;
    const policy = definePolicy({
      family: 'delay',
      clock,
      enter: (call) =>
        new Promise<void>((resolve, reject) => call.clock.setTimer(() => (allow ? resolve() : reject(new Error('no'))), 10)),
    });
    let at: number | undefined;
    const ok = policy.execute(() => {
      at = clock.now();
      return 'ran';
    });
    await clock.advanceAsync(10);
    await expect(ok).resolves.toBe('ran');
    expect(at).toBe(10);
    allow = false;
    const refused = policy.execute(() => 'never');
    const settled = expect(refused).rejects.toThrow('no');
    await clock.advanceAsync(10);
    await settled;
  });

  test('a wait in enter ends at once when the caller aborts, even if its promise never settles', async () => {
    const policy = definePolicy({ family: 'stuck', enter: () => new Promise<void>(() => {}) });
    const controller = new AbortController();
    const call = policy.execute(() => 'never', controller.signal);
    const reason = new Error('gave up');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  test('resolve in enter answers the call: inner stages and the function do not run, outer stages and exit do', async () => {
    const log: string[] = [];
    const cache = definePolicy({
      family: 'cache',
      enter: (call) => call.resolve(Promise.resolve('cached')),
      exit: (call) => {
        log.push(`exit ok=${call.ok} value=${String(call.value)}`);
      },
    });
    const inner = definePolicy({ family: 'inner', enter: () => void log.push('inner enter') });
    let ran = false;
    const value = await compose(fallback('fb'), cache, inner).execute(() => {
      ran = true;
      return 'fresh';
    });
    expect(value).toBe('cached');
    expect(ran).toBe(false);
    expect(log).toEqual(['exit ok=true value=cached']);
  });

  test('reject in enter answers with an error that outer stages see', async () => {
    const denied = new Error('denied');
    const policy = compose(
      fallback((error: unknown) => `fallback for ${(error as Error).message}`),
      definePolicy({ family: 'deny', enter: (call) => call.reject(denied) }),
    );
    await expect(policy.execute(() => 'fresh')).resolves.toBe('fallback for denied');
  });
});

describe('outcome', () => {
  test('exit may replace the outcome with a value, an error, or a promise', async () => {
    const make = (replace: (call: { resolve(v: unknown): void; reject(e: unknown): void }) => void) =>
      definePolicy({ family: 'replace', exit: replace });
    await expect(make((c) => c.resolve('value')).execute(() => Promise.reject(new Error('x')))).resolves.toBe('value');
    await expect(make((c) => c.reject(new Error('replaced'))).execute(() => 'ok')).rejects.toThrow('replaced');
    await expect(make((c) => c.resolve(Promise.resolve('later'))).execute(() => 'ok')).resolves.toBe('later');
    await expect(make((c) => c.resolve(Promise.reject(new Error('late error')))).execute(() => 'ok')).rejects.toThrow(
      'late error',
    );
  });

  test('a throwing exit replaces the outcome with what it threw', async () => {
    const policy = definePolicy({
      family: 'throwing-exit',
      exit: () => {
        throw new Error('from exit');
      },
    });
    await expect(policy.execute(() => 'ok')).rejects.toThrow('from exit');
  });

  test('per-call state and attempt: each attempt of an enclosing retry gets its own enter/exit', async () => {
    const seen: string[] = [];
    const policy = definePolicy<{}, number>({
      family: 'state',
      enter: (call) => {
        call.state = call.attempt * 10;
      },
      exit: (call) => {
        seen.push(`attempt ${call.attempt} state ${call.state} ok ${call.ok}`);
      },
    });
    await compose(retry({ maxAttempts: 3, backoff: 0 }), policy).execute(({ attempt }) => {
      if (attempt < 3) throw new Error('again');
      return 'done';
    });
    expect(seen).toEqual(['attempt 1 state 10 ok false', 'attempt 2 state 20 ok false', 'attempt 3 state 30 ok true']);
  });

  test('the view signal is the one at the stage depth: an inner timeout does not leak outward', async () => {
    const clock = new VirtualClock();
    const signals: AbortSignal[] = [];
    const outerStage = definePolicy({ family: 'outer', exit: (call) => void signals.push(call.signal) });
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    await compose(outerStage, timeout({ ms: 1_000, clock })).execute(({ signal }) => {
      inner = signal;
    }, controller.signal);
    expect(signals).toEqual([controller.signal]);
    expect(inner).not.toBe(controller.signal);
  });
});

test('property: a custom pass-through policy changes no outcome in any call form', async () => {
  const passThrough = definePolicy({ family: 'pass', enter: () => {}, exit: () => {} });
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.integer(), fc.string()), fc.boolean(), async (value, fails) => {
      const fn = async (x: unknown) => {
        if (fails) throw new Error(String(x));
        return x;
      };
      const expected = fails ? { error: String(value) } : { value };
      const settle = (p: Promise<unknown>) =>
        p.then(
          (v) => ({ value: v }),
          (e: Error) => ({ error: e.message }),
        );
      expect(await settle(passThrough(fn)(value))).toEqual(expected);
      expect(await settle(passThrough.execute(() => fn(value)))).toEqual(expected);
      expect(await settle(passThrough.withContext((_ctx, x: unknown) => fn(x))(value))).toEqual(expected);
    }),
  );
});

describe('foreign executors in compose', () => {
  /** A hand-written executor that runs `fn` up to twice with its own signal, which follows the caller's. */
  function twice() {
    const seen: { given: AbortSignal | undefined; own: AbortSignal }[] = [];
    const executor = {
      seen,
      async execute<T>(fn: (context: { signal: AbortSignal }) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
        const controller = new AbortController();
        signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
        seen.push({ given: signal, own: controller.signal });
        try {
          return await fn({ signal: controller.signal });
        } catch {
          return await fn({ signal: controller.signal });
        }
      },
    };
    return executor;
  }

  test('runs the stages after it once per run of its own, fused among themselves', async () => {
    const executor = twice();
    const entered: number[] = [];
    const counter = definePolicy({ family: 'counter', enter: (call) => void entered.push(call.attempt) });
    let calls = 0;
    const value = await compose(executor, counter, timeout(1_000)).execute(() => {
      calls++;
      if (calls === 1) throw new Error('first');
      return 'second';
    });
    expect(value).toBe('second');
    expect(entered).toEqual([1, 1]);
  });

  test("the caller's signal goes in, and the executor's own signal reaches the function", async () => {
    const executor = twice();
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    await compose(retry({ maxAttempts: 1 }), executor).execute(({ signal }) => {
      inner = signal;
    }, controller.signal);
    expect(executor.seen[0]?.given).toBe(controller.signal);
    expect(inner).toBe(executor.seen[0]?.own);
  });

  test('a caller abort rejects at once even if the executor waits', async () => {
    const executor = { execute: () => new Promise(() => {}) };
    const controller = new AbortController();
    const call = compose(timeout(60_000), executor).execute(() => 'never', controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  test('anything else is refused with a TypeError naming the argument', () => {
    expect(() => compose(timeout(10), { run: () => 1 } as never)).toThrow(
      /argument 1 is not a weir policy nor an object with execute\(fn, signal\)/,
    );
  });
});
