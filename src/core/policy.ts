import type { EventMap, Listener } from './events.js';
import { Call, MODE_ARGS, MODE_CONTEXT, MODE_CONTEXT_ARGS, type PolicyContext, run, type Stage } from './pipeline.js';
import { checkSignal, show } from './validate.js';

/** Internal key of a policy's stage list (what `compose` concatenates). */
export const STAGES: unique symbol = Symbol.for('weir.stages') as never;
/** Type-only key that carries a policy's fallback type, so that `compose` can read it back. */
declare const FALLBACK_TYPE: unique symbol;

/**
 * A resilience policy. It is at once:
 * - a function decorator: `const get = policy(getUser)` keeps the parameters (and `this`) and makes the
 *   result async;
 * - a TC39 method decorator: `@policy async load(id) {}`;
 * - an executor: `policy.execute(({ signal, attempt }) => work(signal), callerSignal)`.
 *
 * `F` is what the policy may return instead of the function's own result (a fallback value); it is
 * `never` for every policy but `fallback`.
 */
export interface Policy<E extends EventMap = {}, F = never> {
  <This, A extends unknown[], R>(
    fn: (this: This, ...args: A) => R,
    context?: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): (this: This, ...args: A) => Promise<Awaited<R> | F>;
  /** Runs `fn` once through the policy. `signal` (optional) aborts the call, and any wait in it, at once. */
  execute<R>(fn: (context: PolicyContext) => R, signal?: AbortSignal): Promise<Awaited<R> | F>;
  /**
   * Like decorating, but `fn` receives the per-call context first: `policy.withContext((ctx, id) =>
   * fetch(url(id), { signal: ctx.signal }))` returns `(id) => Promise<Response>`. Use it when a timeout
   * must cancel the underlying work, not only stop waiting for it.
   */
  withContext<This, A extends unknown[], R>(
    fn: (this: This, context: PolicyContext, ...args: A) => R,
  ): (this: This, ...args: A) => Promise<Awaited<R> | F>;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): () => void;
  /** @internal The policy's stages, which `compose` concatenates. */
  readonly [STAGES]: readonly Stage[];
  /** Type-level only: what the policy may return instead of the function's result. */
  readonly [FALLBACK_TYPE]?: () => F;
}

export type AnyPolicy = Policy<any, any>;

interface Subscribable {
  on(event: string, listener: Listener<unknown>): () => void;
}

const noEvents: Subscribable = {
  on(event: string): () => void {
    throw new TypeError(
      `unknown event "${event}": a composed policy has no events of its own; subscribe to the policies it is made of`,
    );
  },
};

function checkTarget(where: string, fn: unknown): Function {
  if (typeof fn !== 'function') throw new TypeError(`${where}: expected a function to wrap, got ${show(fn)}`);
  return fn as Function;
}

function keepName<T extends object>(wrapper: T, fn: { name: string }): T {
  Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true });
  return wrapper;
}

/**
 * Builds a policy from its stages. `members` (getters and methods, e.g. a breaker's `state`) are copied
 * onto the policy function with their descriptors; they must close over their own state, not use `this`.
 */
export function createPolicy<E extends EventMap, F, M extends object>(
  stages: readonly Stage[],
  events: Subscribable | undefined,
  members: M,
): Policy<E, F> & M {
  const list = Object.freeze(stages.slice());
  const n = list.length;
  const decorate = (fn: unknown, context?: unknown): unknown => {
    const target = checkTarget('policy', fn);
    if (context !== undefined) {
      const kind = (context as { kind?: unknown } | null)?.kind;
      if (kind !== 'method') throw new TypeError(`policy: can decorate methods only, not a ${show(kind)}`);
    }
    return keepName(function (this: unknown, ...args: unknown[]) {
      return run(list, new Call(target, this, args, MODE_ARGS, undefined, n));
    }, target);
  };
  const policy = decorate as unknown as Policy<E, F> & M;
  const emitter = events ?? noEvents;
  Object.defineProperties(policy, {
    execute: {
      value: (fn: unknown, signal?: unknown) => {
        try {
          const target = checkTarget('policy.execute', fn);
          return run(list, new Call(target, undefined, undefined, MODE_CONTEXT, checkSignal('policy.execute', signal), n));
        } catch (error) {
          return Promise.reject(error);
        }
      },
    },
    withContext: {
      value: (fn: unknown) => {
        const target = checkTarget('policy.withContext', fn);
        return keepName(function (this: unknown, ...args: unknown[]) {
          return run(list, new Call(target, this, args, MODE_CONTEXT_ARGS, undefined, n));
        }, target);
      },
    },
    on: { value: (event: string, listener: Listener<unknown>) => emitter.on(event, listener) },
    [STAGES]: { value: list },
  });
  Object.defineProperties(policy, Object.getOwnPropertyDescriptors(members));
  return policy;
}

/** What a policy `P` may return instead of the function's result: the value type of a `fallback` in it, else `never`. */
export type FallbackOf<P> = P extends { readonly [FALLBACK_TYPE]?: () => infer F } ? F : never;

/**
 * `compose(a, b, c)` is the policy `a(b(c(fn)))`: the first policy is the outermost. It runs as one fused
 * pipeline (one await of the function per attempt). Recommended order, outermost first:
 * fallback, retry, circuitBreaker, rateLimit, bulkhead, timeout (see docs/concepts.md for why).
 */
export function compose<const P extends readonly AnyPolicy[]>(...policies: P): Policy<{}, FallbackOf<P[number]>> {
  const stages: Stage[] = [];
  policies.forEach((policy, index) => {
    const own = (policy as { [STAGES]?: unknown } | null | undefined)?.[STAGES];
    if (typeof policy !== 'function' || !Array.isArray(own)) {
      throw new TypeError(`compose: argument ${index} is not a weir policy, got ${show(policy)}`);
    }
    stages.push(...(own as Stage[]));
  });
  return createPolicy<{}, FallbackOf<P[number]>, { readonly policies: P }>(stages, undefined, { policies });
}
