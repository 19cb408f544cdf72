import fc from 'fast-check';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { type Call, Directive, type Stage } from '../../src/core/pipeline.js';
import { createPolicy } from '../../src/core/policy.js';
import { compose, fallback, type Policy, type PolicyContext, timeout, VirtualClock } from '../../src/index.js';

/** A policy that records when it enters and exits, to observe composition order. */
function recorder(name: string, log: string[]): Policy {
  const stage: Stage = {
    enter(): undefined {
      log.push(`enter ${name}`);
      return undefined;
    },
    exit(call: Call): Directive {
      log.push(`exit ${name} ${call.ok ? 'ok' : 'err'}`);
      return Directive.Continue;
    },
  };
  return createPolicy([stage], undefined, {});
}

describe('function decorator', () => {
  test('keeps arguments, this and the resolved value (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.anything(), { maxLength: 6 }), fc.anything(), async (args, result) => {
        const self = { tag: Symbol('self') };
        let seenThis: unknown;
        let seenArgs: unknown[] = [];
        const wrapped = compose(
          fallback('fb'),
          timeout(1000),
        )(function (this: unknown, ...a: unknown[]) {
          seenThis = this;
          seenArgs = a;
          return result;
        });
        const value = await wrapped.apply(self, args);
        expect(value).toBe(result);
        expect(seenThis).toBe(self);
        expect(seenArgs).toEqual(args);
      }),
    );
  });

  test('rejects with the error the function threw, synchronously or not', async () => {
    const err = new Error('x');
    const p = timeout(1000);
    await expect(
      p(() => {
        throw err;
      })(),
    ).rejects.toBe(err);
    await expect(p(async () => Promise.reject(err))()).rejects.toBe(err);
  });

  test('keeps the function name', () => {
    function getUser(): number {
      return 1;
    }
    expect(timeout(10)(getUser).name).toBe('getUser');
  });

  test('types: parameters kept, result made async, fallback adds a union', () => {
    const get = timeout(10)((id: string, n: number) => ({ id, n }));
    expectTypeOf(get).parameters.toEqualTypeOf<[string, number]>();
    expectTypeOf(get).returns.toEqualTypeOf<Promise<{ id: string; n: number }>>();
    const safe = compose(fallback(null), timeout(10))(async (id: string) => id.length);
    expectTypeOf(safe).returns.toEqualTypeOf<Promise<number | null>>();
    const computed = fallback((error: unknown) => String(error))(async () => 1);
    expectTypeOf(computed).returns.toEqualTypeOf<Promise<number | string>>();
  });

  test('rejects a non-function target with a TypeError', () => {
    expect(() => timeout(10)(42 as never)).toThrow(TypeError);
    expect(() => timeout(10)(42 as never)).toThrow(/expected a function to wrap, got 42/);
  });
});

describe('TC39 method decorator', () => {
  test('keeps this, arguments and result', async () => {
    const clock = new VirtualClock();
    const guard = compose(fallback(-1), timeout({ ms: 50, clock }));
    class Repo {
      constructor(private readonly base: number) {}
      @guard
      async load(a: number, b: number): Promise<number> {
        return this.base + a * b;
      }
      @guard
      async hang(): Promise<number> {
        return new Promise<number>(() => {});
      }
    }
    const repo = new Repo(100);
    expect(await repo.load(2, 3)).toBe(106);
    const hung = repo.hang();
    await clock.advanceAsync(50);
    expect(await hung).toBe(-1);
  });

  test('refuses non-method decoration contexts', () => {
    expect(() => timeout(10)(() => 1, { kind: 'field' } as never)).toThrow(/can decorate methods only/);
  });
});

describe('execute', () => {
  test('passes a context with signal and attempt', async () => {
    let seen: PolicyContext | undefined;
    const value = await timeout(1000).execute((ctx) => {
      seen = ctx;
      return 7;
    });
    expect(value).toBe(7);
    expect(seen?.attempt).toBe(1);
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.signal.aborted).toBe(false);
  });

  test('calls the function as a plain function (no receiver), alone, composed and with a signal', async () => {
    const receivers: unknown[] = [];
    function fn(this: unknown, ctx: PolicyContext): number {
      receivers.push(this);
      return ctx.attempt;
    }
    const policies = [timeout(1000), compose(fallback(0), timeout(1000)), compose(recorder('a', []), recorder('b', []))];
    for (const policy of policies) {
      expect(await policy.execute(fn)).toBe(1);
      expect(await policy.execute(fn, new AbortController().signal)).toBe(1);
    }
    expect(receivers).toEqual(new Array(policies.length * 2).fill(undefined));
  });

  test('an already aborted signal rejects with its reason and never calls the function', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    let calls = 0;
    await expect(
      timeout(1000).execute(() => {
        calls++;
      }, controller.signal),
    ).rejects.toBe(reason);
    expect(calls).toBe(0);
  });

  test('an abort mid-call rejects at once with the reason and aborts the function signal', async () => {
    const clock = new VirtualClock();
    for (const policy of [timeout({ ms: 1000, clock }), fallback(0, { when: () => false }), compose()]) {
      const controller = new AbortController();
      let inner: AbortSignal | undefined;
      const pending = policy.execute(({ signal }) => {
        inner = signal;
        return new Promise(() => {});
      }, controller.signal);
      const reason = new Error('cancelled');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      expect(inner?.aborted).toBe(true);
      expect(inner?.reason).toBe(reason);
    }
    expect(clock.pendingTimers).toBeLessThanOrEqual(1);
  });

  test('rejects a bad signal and a bad function with a TypeError (as a rejection)', async () => {
    await expect(timeout(10).execute(() => 1, {} as AbortSignal)).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(timeout(10).execute(5 as never)).rejects.toThrow(TypeError);
  });
});

describe('withContext', () => {
  test('hands the per-call signal to the function so a timeout cancels the work', async () => {
    const clock = new VirtualClock();
    let cancelled = false;
    const load = timeout({ ms: 100, clock }).withContext(function (this: { id: string }, ctx: PolicyContext, n: number) {
      return new Promise<string>((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          cancelled = true;
        });
        if (n < 0) resolve(this.id);
      });
    });
    expectTypeOf(load).parameters.toEqualTypeOf<[number]>();
    expect(await load.call({ id: 'me' }, -1)).toBe('me');
    const pending = load.call({ id: 'me' }, 1).catch((e: unknown) => e);
    await clock.advanceAsync(100);
    expect(await pending).toMatchObject({ code: 'ERR_WEIR_TIMEOUT' });
    expect(cancelled).toBe(true);
  });
});

describe('compose', () => {
  test('compose(a, b, c)(fn) runs like a(b(c(fn))): outermost first (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 5 }), fc.boolean(), async (names, fails) => {
        const fn = async () => {
          if (fails) throw new Error('f');
          return 1;
        };
        const composedLog: string[] = [];
        const composed = compose(...names.map((n) => recorder(n, composedLog)))(fn);
        const nestedLog: string[] = [];
        let nested: () => Promise<unknown> = fn;
        for (const name of [...names].reverse()) nested = recorder(name, nestedLog)(nested);
        await Promise.allSettled([composed(), nested()]);
        expect(composedLog).toEqual(nestedLog);
        expect(composedLog.slice(0, names.length)).toEqual(names.map((n) => `enter ${n}`));
        expect(composedLog.slice(names.length)).toEqual([...names].reverse().map((n) => `exit ${n} ${fails ? 'err' : 'ok'}`));
      }),
    );
  });

  test('order matters: fallback outside a timeout catches the timeout; inside, it does not', async () => {
    const clock = new VirtualClock();
    const hang = () => new Promise<string>(() => {});
    const outside = compose(fallback('fallback'), timeout({ ms: 10, clock }))(hang)();
    const inside = compose(timeout({ ms: 10, clock }), fallback('fallback'))(hang)();
    const insideSettled = inside.catch((e: unknown) => e);
    await clock.advanceAsync(10);
    expect(await outside).toBe('fallback');
    expect(await insideSettled).toMatchObject({ name: 'TimeoutError' });
  });

  test('compose() with no policy is the identity, and nested composes flatten', async () => {
    expect(await compose()(async (x: number) => x * 2)(21)).toBe(42);
    const log: string[] = [];
    const p = compose(recorder('a', log), compose(recorder('b', log), recorder('c', log)));
    await p(() => 1)();
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'exit c ok', 'exit b ok', 'exit a ok']);
  });

  test('rejects something that is not a policy', () => {
    expect(() => compose(timeout(10), (() => 1) as never)).toThrow(/argument 1 is not a weir policy/);
  });

  test('a composed policy has no events of its own', () => {
    expect(() => (compose(timeout(10)) as unknown as Policy<{ x: 1 }>).on('x', () => {})).toThrow(
      /composed policy has no events/,
    );
  });
});

test('types: compose unions the fallback types of its parts', () => {
  const guarded = compose(fallback(null), timeout(100), fallback('x' as const))(async (id: string) => id.length);
  const check: (id: string) => Promise<number | null | 'x'> = guarded;
  expectTypeOf(guarded).returns.toEqualTypeOf<Promise<number | null | 'x'>>();
  const plain = compose(timeout(1))(async () => 1);
  expectTypeOf(plain).returns.toEqualTypeOf<Promise<number>>();
  void check;
});
