import type { Emitter, EventMap, Listener, TallySampler } from './events.js';
import { defineMembers } from './getters.js';
import { policyName } from './names.js';
import { NestedStage } from './nested.js';
import { Call, isStateful, Mode, type PolicyContext, run, type Stage, StageKind, type StageList, stageList } from './pipeline.js';
import { soloForms } from './solo-forms.js';
import { checkSignal, show } from './validate.js';

/** Internal key of a policy's stage list (what `compose` concatenates). */
export const STAGES: unique symbol = Symbol.for('weir.stages') as never;
/**
 * Internal key of a policy's `tally(event, sampler?)` (see `EventTally`): how an instrumentation counts its
 * hot events. Only that: the emitter itself (which could send events) stays private.
 */
export const TALLY: unique symbol = Symbol.for('weir.tally') as never;
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
  /**
   * A legacy (`experimentalDecorators`) method decorator: `@policy async load(id) {}` in a project that
   * compiles with `experimentalDecorators` (NestJS, TypeORM, Angular). Replaces the method in place.
   */
  <T extends (...args: any[]) => any>(target: object, propertyKey: string | symbol, descriptor: TypedPropertyDescriptor<T>): void;
  /** The policy's name: given in its options, or derived as `<family>-<n>`. Events and rejections carry it. */
  readonly name: string;
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
  readonly [STAGES]: StageList;
  /** Type-level only: what the policy may return instead of the function's result. */
  readonly [FALLBACK_TYPE]?: () => F;
}

export type AnyPolicy = Policy<any, any>;

interface Subscribable {
  on(event: string, listener: Listener<unknown>): () => void;
  attach?: Emitter<EventMap>['attach'];
  tally?: Emitter<EventMap>['tally'];
}

/** The name of the policy each stage was made for (for messages about compositions). */
const OWNERS = new WeakMap<Stage, string>();

/** The family of a built-in stage, for default names and channel names. */
const FAMILIES: Record<number, string> = {
  [StageKind.Timeout]: 'timeout',
  [StageKind.Fallback]: 'fallback',
  [StageKind.Retry]: 'retry',
  [StageKind.CircuitBreaker]: 'circuit-breaker',
  [StageKind.RateLimit]: 'rate-limit',
  [StageKind.Bulkhead]: 'bulkhead',
};

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

interface ReflectMetadata {
  getOwnMetadataKeys?(target: object): unknown[];
  getOwnMetadata?(key: unknown, target: object): unknown;
  defineMetadata?(key: unknown, value: unknown, target: object): void;
}

/** Copies reflect-metadata entries (when that polyfill is loaded) from a method to its wrapper. */
function copyMetadata(from: Function, to: Function): void {
  const reflect = Reflect as unknown as ReflectMetadata;
  if (typeof reflect.getOwnMetadataKeys !== 'function' || typeof reflect.defineMetadata !== 'function') return;
  for (const key of reflect.getOwnMetadataKeys(from)) {
    reflect.defineMetadata(key, reflect.getOwnMetadata?.(key, from), to);
  }
}

/**
 * Builds a policy from its stages. `members` (getters and methods, e.g. a breaker's `state`) are copied
 * onto the policy function with their descriptors; they must close over their own state, not use `this`.
 * The policy's `name` is `members.name` when given (a factory validates it with `policyName`), else a
 * default derived from `family` (by default, the family of the first stage's kind).
 */
export function createPolicy<E extends EventMap, F, M extends object>(
  stages: readonly Stage[],
  events: Subscribable | undefined,
  members: M,
  family: string = FAMILIES[stages[0]?.kind ?? -1] ?? 'policy',
): Policy<E, F> & M {
  const list = stageList(stages);
  const n = list.length;
  const given = (members as { name?: unknown }).name;
  const name = typeof given === 'string' ? given : policyName(family, undefined);
  if (family !== 'compose') for (const stage of list) if (!OWNERS.has(stage)) OWNERS.set(stage, name);
  // Named where it is made: redefining a function's `name` afterwards turns its properties into a
  // dictionary, and every `policy.execute` or `policy.on` would then be a slow lookup.
  const decorate = {
    [name]: (fn: unknown, context?: unknown, descriptor?: PropertyDescriptor): unknown => {
      if (descriptor !== undefined) {
        // A legacy decorator: (prototype, name, descriptor). Wrap the method in place, keeping what other
        // decorators applied before this one recorded on the method (reflect-metadata: NestJS routes, guards).
        const method = checkTarget(`${name}: legacy method decorator`, descriptor.value);
        const wrapper = wrap(method);
        copyMetadata(method, wrapper);
        descriptor.value = wrapper;
        return undefined;
      }
      const target = checkTarget(name, fn);
      if (context !== undefined) {
        const kind = (context as { kind?: unknown } | null)?.kind;
        if (kind !== 'method') throw new TypeError(`${name}: can decorate methods only, not a ${show(kind)}`);
      }
      return wrap(target);
    },
  }[name] as (fn: unknown, context?: unknown, descriptor?: PropertyDescriptor) => unknown;
  const policy = decorate as unknown as Policy<E, F> & M;
  const executeWhere = `${name}.execute`;
  const executeInPipeline = (fn: unknown, signal?: unknown): Promise<unknown> => {
    try {
      const target = checkTarget(executeWhere, fn);
      const outer = signal === undefined ? undefined : checkSignal(executeWhere, signal);
      return run(list, new Call(target, undefined, undefined, Mode.Context, outer, n));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  // A policy of one built-in stage runs its calls on the stage's solo path (the same behaviour without
  // the call record), through its family's own call forms (see solo-forms.ts); the pipeline runs every
  // other policy, and solo calls given a signal.
  // Decided once here: read per call, `stage.solo` would be a lookup on up to six stage classes at one site.
  const solo = n === 1 && list[0]?.solo !== undefined ? (list[0] as Required<Stage>) : undefined;
  const forms = solo === undefined ? undefined : soloForms(solo, list, executeInPipeline);
  const wrap = (target: Function): Function =>
    keepName(
      forms !== undefined
        ? forms.decorate(target)
        : function (this: unknown, ...args: unknown[]) {
            return run(list, new Call(target, this, args, Mode.Args, undefined, n));
          },
      target,
    );
  const emitter = events ?? noEvents;
  emitter.attach?.(family, name);
  Object.defineProperties(policy, {
    execute: { value: forms !== undefined ? forms.execute : executeInPipeline },
    withContext: {
      value: (fn: unknown) => {
        const target = checkTarget(`${name}.withContext`, fn);
        return keepName(
          forms !== undefined
            ? forms.withContext(target)
            : function (this: unknown, ...args: unknown[]) {
                return run(list, new Call(target, this, args, Mode.ContextArgs, undefined, n));
              },
          target,
        );
      },
    },
    on: { value: (event: string, listener: Listener<unknown>) => emitter.on(event, listener) },
    [STAGES]: { value: list },
    [TALLY]: { value: (event: string, sampler?: TallySampler) => emitter.tally?.(event, sampler) },
  });
  // Getters (a breaker's `state`) through shared accessors: see defineMembers.
  const { name: _, ...rest } = Object.getOwnPropertyDescriptors(members) as Record<string, PropertyDescriptor>;
  return defineMembers(policy, rest);
}

/** What a policy `P` may return instead of the function's result: the value type of a `fallback` in it, else `never`. */
export type FallbackOf<P> = P extends { readonly [FALLBACK_TYPE]?: () => infer F } ? F : never;

/**
 * Any executor with cockatiel's shape: `execute(fn, signal?)` runs `fn` once (it may retry it), passing
 * a context with the signal to honour. `compose` runs such an object as one opaque, nested stage.
 */
export interface Executor {
  execute(fn: (context: { readonly signal: AbortSignal }) => unknown, signal?: AbortSignal): PromiseLike<unknown>;
}

/**
 * `compose(a, b, c)` is the policy `a(b(c(fn)))`: the first policy is the outermost. weir policies (built-in
 * or made with `definePolicy`) run as one fused pipeline (one await of the function per attempt); any
 * other object with `execute(fn, signal)` (a cockatiel policy, say) runs as one opaque stage around the
 * policies after it. Recommended order, outermost first: fallback, retry, circuitBreaker, rateLimit,
 * bulkhead, timeout (see docs/concepts.md for why).
 *
 * A policy that keeps state shared by its calls (a circuit breaker, a bulkhead, a rate limit, a stateful
 * custom policy) may appear only once: twice would count each call twice or wait for itself.
 */
export function compose<const P extends readonly (AnyPolicy | Executor)[]>(
  ...policies: P
): Policy<{}, FallbackOf<P[number]>> & { readonly policies: P } {
  const seen = new Map<Stage, number>();
  let stages: Stage[] = [];
  for (let index = policies.length - 1; index >= 0; index--) {
    const policy = policies[index];
    const own = (policy as { [STAGES]?: unknown } | null | undefined)?.[STAGES];
    if (typeof policy === 'function' && Array.isArray(own)) {
      for (const stage of own as Stage[]) {
        const other = seen.get(stage);
        if (other !== undefined && isStateful(stage)) {
          const name = OWNERS.get(stage) ?? (policy as AnyPolicy).name;
          throw new TypeError(
            `compose: policy "${name}" appears twice (arguments ${index} and ${other}); it keeps state shared by its calls, so each call would pass it twice. Create a second policy instead.`,
          );
        }
        seen.set(stage, index);
      }
      stages = [...(own as Stage[]), ...stages];
    } else if (typeof (policy as Partial<Executor> | null | undefined)?.execute === 'function') {
      stages = [new NestedStage(policy as Executor, stageList(stages))];
    } else {
      throw new TypeError(
        `compose: argument ${index} is not a weir policy nor an object with execute(fn, signal), got ${show(policy)}`,
      );
    }
  }
  return createPolicy<{}, FallbackOf<P[number]>, { readonly policies: P }>(stages, undefined, { policies }, 'compose');
}
