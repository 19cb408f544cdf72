/**
 * `definePolicy`: the public way to write a policy. A definition is a stage (an optional `enter` before the
 * call and an optional `exit` after it) over a narrow view of the call; the result is a full policy
 * (decorator, TC39 and legacy method decorator, `execute`, `withContext`, `on`) that `compose` fuses with
 * the built-ins, so a custom policy costs what a built-in one does. See docs/custom-policies.md.
 */
import { type Clock, systemClock } from './clock.js';
import { signalOf } from './context.js';
import { Emitter, type EventMap } from './events.js';
import { policyName } from './names.js';
import { type Call, Directive, type Stage, StageKind } from './pipeline.js';
import { createPolicy, type Policy } from './policy.js';
import { ignore, untilAborted } from './signal.js';
import { checkBoolean, checkClock, checkFunction, checkOptions, show } from './validate.js';

/** What a custom stage sees of one call. Valid during that call's `enter` and `exit` only. */
export interface CallView<E extends EventMap = {}, S = unknown> {
  /**
   * Aborts when the caller's signal aborts or an enclosing timeout expires. Created when first read; a
   * wait in `enter` must end when it aborts (weir also stops waiting for it then).
   */
  readonly signal: AbortSignal;
  /** Whether {@link signal} has aborted, without creating it. */
  readonly aborted: boolean;
  /** 1 for the first attempt, 2 for the first retry of an enclosing `retry`, and so on. */
  readonly attempt: number;
  /** In `exit`: whether the call succeeded so far (inner stages may have replaced the function's outcome). */
  readonly ok: boolean;
  /** In `exit`: the result when `ok`, else the error. */
  readonly value: unknown;
  /** This stage's state for this call: anything `enter` wants `exit` to see. */
  state: S | undefined;
  /** The policy's clock (its `clock` option, or `systemClock`). */
  readonly clock: Clock;
  /** The policy's name. */
  readonly policy: string;
  /**
   * In `enter`: answer the call with `value` (or a promise of it); the stages inside this one and the
   * function do not run, and this stage's `exit` sees the settled answer. In `exit`: replace the outcome
   * with `value` (a promise is awaited).
   */
  resolve(value: unknown): void;
  /** Like {@link resolve}, with an error. */
  reject(error: unknown): void;
  /** Emits one of the policy's events (builds nothing when nobody listens: check {@link listened} first). */
  emit<K extends keyof E & string>(event: K, payload: E[K]): void;
  /** Whether `event` has a listener or a diagnostics-channel subscriber. */
  listened(event: keyof E & string): boolean;
}

/** A custom policy: its stage and what it is called. */
export interface PolicyDefinition<E extends EventMap = {}, S = unknown> {
  /** The family, in kebab-case (`single-flight`): default names are `<family>-<n>`, channels `weir:<family>:<event>`. */
  family: string;
  /** The policy's name (default `<family>-<n>`). */
  name?: string;
  /** The events `emit` may send and `on` accepts. */
  events?: readonly (keyof E & string)[];
  /**
   * `true` if the policy keeps state shared by its calls (a cache, a lock, a counter), so that it may not
   * appear twice in one `compose`. Default `false`.
   */
  stateful?: boolean;
  clock?: Clock;
  /**
   * Before the call, outermost stage first. Return nothing to let the call in, a promise to let it in when
   * it resolves (it must settle promptly when `call.signal` aborts), or throw to refuse the call with that
   * error (this stage's `exit` then does not run). May answer the call instead (`call.resolve`).
   */
  enter?(call: CallView<E, S>): void | PromiseLike<void>;
  /**
   * After the call, innermost stage first, for every call `enter` let in (or answered). Reads the outcome
   * (`call.ok`, `call.value`) and may replace it (`call.resolve`, `call.reject`); throwing replaces it with
   * what was thrown. Synchronous: to replace the outcome with something asynchronous, resolve a promise.
   */
  exit?(call: CallView<E, S>): void;
}

const OPTIONS = ['family', 'name', 'events', 'stateful', 'clock', 'enter', 'exit'] as const;
const FAMILY = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

const ENTERING = 0;
const WAITING = 1;
const EXITING = 2;
const DONE = 3;

class View<E extends EventMap, S> implements CallView<E, S> {
  state: S | undefined = undefined;
  phase = ENTERING;
  /** Set in `exit` when the new outcome is a promise to await. */
  awaits = false;
  /** The call's signal scope at this stage's depth (inner timeouts change the call's). */
  private readonly scope: Call['scope'];
  constructor(
    private readonly call: Call,
    private readonly stage: CustomStage<E, S>,
  ) {
    this.scope = call.scope;
  }
  get signal(): AbortSignal {
    return signalOf(this.scope, this.call.outer);
  }
  get aborted(): boolean {
    return this.scope === undefined ? this.call.outer?.aborted === true : this.scope.aborted;
  }
  get attempt(): number {
    return this.call.attempt;
  }
  get ok(): boolean {
    return this.call.ok;
  }
  get value(): unknown {
    return this.call.value;
  }
  get clock(): Clock {
    return this.stage.clock;
  }
  get policy(): string {
    return this.stage.name;
  }
  resolve(value: unknown): void {
    this.settle(true, value);
  }
  reject(error: unknown): void {
    this.settle(false, error);
  }
  private settle(ok: boolean, value: unknown): void {
    const phase = this.phase;
    if (phase === DONE) return; // a late answer of a call that has moved on
    if (phase !== EXITING && this.call.answered) {
      throw new TypeError(`${this.stage.name}: the call is already answered`);
    }
    const call = this.call;
    call.ok = ok;
    call.value = value;
    const thenable = ok && typeof (value as PromiseLike<unknown> | null)?.then === 'function';
    if (phase === EXITING) this.awaits = thenable;
    else call.answered = true;
  }
  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    this.stage.events.emit(event, payload);
  }
  listened(event: keyof E & string): boolean {
    return this.stage.events.has(event);
  }
}

class CustomStage<E extends EventMap, S> implements Stage {
  readonly kind = StageKind.Custom;
  constructor(
    readonly name: string,
    readonly stateful: boolean,
    readonly clock: Clock,
    readonly events: Emitter<E>,
    private readonly onEnter: PolicyDefinition<E, S>['enter'],
    private readonly onExit: PolicyDefinition<E, S>['exit'],
  ) {}

  get policyName(): string {
    return this.name;
  }

  enter(call: Call, slot: number): unknown {
    const view = new View<E, S>(call, this);
    call.slots[slot] = view;
    const onEnter = this.onEnter;
    if (onEnter === undefined) return undefined;
    let result: unknown;
    try {
      result = onEnter(view);
    } catch (error) {
      view.phase = DONE;
      throw error;
    }
    if (call.answered) {
      // Answered synchronously (an async `enter` that resolved before its first await): its promise is moot.
      if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') Promise.resolve(result).then(undefined, ignore);
      return undefined;
    }
    if (result === undefined) return undefined;
    if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') {
      view.phase = DONE;
      return new TypeError(`${this.name}: enter must return undefined or a promise, got ${show(result)}`);
    }
    view.phase = WAITING;
    return untilAborted(Promise.resolve(result), call.signal).then(
      () => {
        if (view.phase === WAITING) view.phase = ENTERING;
      },
      (error: unknown) => {
        view.phase = DONE;
        throw error;
      },
    );
  }

  exit(call: Call, slot: number): Directive {
    const view = call.slots[slot] as View<E, S>;
    call.slots[slot] = undefined;
    view.phase = EXITING;
    try {
      this.onExit?.(view);
    } finally {
      view.phase = DONE;
    }
    return view.awaits ? Directive.Await : Directive.Continue;
  }
}

/** The members a custom policy adds to {@link Policy}. */
export interface CustomPolicy<E extends EventMap = {}> extends Policy<E> {
  /** The family given in the definition. */
  readonly family: string;
}

/**
 * Makes a policy from a stage definition. The result is a full {@link Policy} that `compose` fuses with
 * the built-in ones (one await of the function per attempt, however many stages).
 *
 * @example
 * const logged = definePolicy<{}, number>({
 *   family: 'timing',
 *   enter: (call) => { call.state = call.clock.now(); },
 *   exit: (call) => console.log(call.ok, call.clock.now() - (call.state as number)),
 * });
 */
export function definePolicy<E extends EventMap = {}, S = unknown>(definition: PolicyDefinition<E, S>): CustomPolicy<E> {
  checkOptions('definePolicy', definition, OPTIONS);
  if (definition === undefined) throw new TypeError('definePolicy: expected a definition object, got undefined');
  const family = definition.family;
  if (typeof family !== 'string' || !FAMILY.test(family) || family.length > 64) {
    throw new TypeError(`definePolicy: option "family" must be a kebab-case name such as "single-flight", got ${show(family)}`);
  }
  const name = policyName(family, definition.name);
  const events = definition.events ?? [];
  if (!Array.isArray(events) || events.some((event) => typeof event !== 'string' || event === '')) {
    throw new TypeError(`definePolicy: option "events" must be an array of event names, got ${show(events)}`);
  }
  const stateful = definition.stateful === undefined ? false : checkBoolean('definePolicy', 'stateful', definition.stateful);
  const clock = definition.clock === undefined ? systemClock : checkClock('definePolicy', definition.clock);
  const enter =
    definition.enter === undefined
      ? undefined
      : checkFunction<NonNullable<PolicyDefinition<E, S>['enter']>>('definePolicy', 'enter', definition.enter);
  const exit =
    definition.exit === undefined
      ? undefined
      : checkFunction<NonNullable<PolicyDefinition<E, S>['exit']>>('definePolicy', 'exit', definition.exit);
  const emitter = new Emitter<E>(new Set(events));
  const stage = new CustomStage<E, S>(name, stateful, clock, emitter, enter, exit);
  return createPolicy<E, never, { readonly name: string; readonly family: string }>(
    [stage],
    emitter,
    { name, family },
    family,
  ) as unknown as CustomPolicy<E>;
}
