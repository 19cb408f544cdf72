/**
 * The fused executor. A policy is a list of stages; `compose` concatenates the lists; one async function
 * runs any list, so a stack of six policies awaits the user function once per attempt instead of paying one
 * async frame (and one promise hop) per layer.
 *
 * The stage contract, for every policy family:
 * - `enter(call, slot)` runs outermost first, before the user function. It returns `undefined` to admit
 *   synchronously (the fast path), a native `Promise<void>` to admit once it resolves (a queue, a wait for
 *   tokens; it rejects to refuse, and it must reject promptly when `call.signal` aborts), or any other value
 *   to refuse at once with that value as the error. It may keep per-call state in `call.slots[slot]`.
 *   It may also answer the call itself (a cache hit, a joined in-flight call): set `call.ok`/`call.value`
 *   (a value or a promise of one) and `call.answered`, then admit; the stages inside it and the function
 *   do not run, and the answer is awaited as the function's result would be.
 * - `exit(call, slot)` runs innermost first, only for stages whose `enter` admitted. It reads and may
 *   replace the outcome (`call.ok`, `call.value`) and returns a directive: `Directive.Continue`;
 *   `Directive.Retry` (set `call.pending` to an abortable wait, or leave it undefined, and the executor
 *   re-enters the stages inside this one); or `Directive.Await` (`call.value` is a promise or value to settle
 *   first, e.g. a fallback computed asynchronously). A throwing `exit` turns the outcome into what it threw.
 * - Stages never throw to signal a rejection and never emit events inside the user function's `try`, so a
 *   throwing listener can neither change an outcome nor re-run a call.
 */
import { contextAt, type PolicyContext, type SignalScope, signalOf } from './context.js';
import { ignore, unwatchAbort, watchAbort } from './signal.js';

export type { PolicyContext, SignalScope } from './context.js';

/**
 * What a stage's `exit` asks of the executor. The hot constants of the executor and its stages are enums:
 * esbuild, bundling, writes an enum member in as a literal, where a module-level constant is a variable that
 * V8 loads and checks at every use (a four-policy composition ran about 4 % more instructions so).
 */
export enum Directive {
  Continue = 0,
  Retry = 1,
  Await = 2,
}

export interface Stage {
  /**
   * Which built-in family the stage belongs to (see {@link StageKind}), or absent for any other stage.
   * The executor dispatches on it so that each family's `enter`/`exit` call site sees one class: a stack
   * of six policy kinds would otherwise make one shared call site megamorphic (tens of ns per call).
   */
  readonly kind?: number;
  /**
   * Whether the stage keeps state shared by the calls through it (a breaker's window, a bulkhead's slots,
   * a limiter's tokens): such a stage may appear only once in a composition. Built-in families are
   * classified by `kind` when this is absent (see {@link isStateful}).
   */
  readonly stateful?: boolean;
  /** The name of the policy the stage belongs to, for messages. */
  readonly policyName?: string;
  enter(call: Call, slot: number): unknown;
  exit(call: Call, slot: number): Directive;
  /**
   * Runs one call through this stage when it is a policy's only stage and the caller gave no signal: the
   * same outcome, events and state changes as `run(stages, new Call(...))`, without the call record. It
   * may hand the call to {@link run} (before starting the function) or to {@link resume} (after it).
   */
  solo?(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown>;
}

/** The built-in stage families, which the executor dispatches on (see {@link Stage.kind}). */
export enum StageKind {
  Other = 0,
  Timeout = 1,
  Fallback = 2,
  Retry = 3,
  CircuitBreaker = 4,
  RateLimit = 5,
  Bulkhead = 6,
  /** A stage made by `definePolicy`. */
  Custom = 7,
  /** An opaque executor (any object with `execute(fn, signal)`) that runs the stages inside it. */
  Nested = 8,
}

/** Whether `stage` keeps state shared by its calls, so that it may not appear twice in one composition. */
export function isStateful(stage: Stage): boolean {
  if (stage.stateful !== undefined) return stage.stateful;
  const kind = stage.kind;
  return kind === StageKind.CircuitBreaker || kind === StageKind.Bulkhead || kind === StageKind.RateLimit;
}

// One small function per kind and operation, not one call site per case of a switch: V8 gives the property
// loads of one function a shared feedback slot when they read the same name on the same variable, so eight
// cases of `stage.enter(...)` in one function are one megamorphic lookup. Each of these sees one class and
// is inlined into the dispatch.
function enterTimeout(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterFallback(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterRetry(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterBreaker(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterRateLimit(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterBulkhead(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterCustom(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function enterOther(stage: Stage, call: Call, slot: number): unknown {
  return stage.enter(call, slot);
}
function exitTimeout(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitFallback(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitRetry(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitBreaker(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitRateLimit(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitBulkhead(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitCustom(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
function exitOther(stage: Stage, call: Call, slot: number): Directive {
  return stage.exit(call, slot);
}
/**
 * A policy's stages with their kinds beside them, as small integers (`kinds[i]` is `stages[i].kind`): the
 * executor switches on `kinds[i]`, a load from one typed-array shape, where `stages[i].kind` would read a
 * field of up to eight classes, a megamorphic lookup at each stage of each call.
 */
export interface StageList extends ReadonlyArray<Stage> {
  readonly kinds: Uint8Array;
}

/** The kind recorded for a stage without one (a stage object written by hand): the dispatch's default. */
const NO_KIND = 255;

/**
 * `stages` as a {@link StageList} (made once per policy or nested executor, never per call). Not frozen:
 * optimized code reads a frozen array's elements through V8's generic keyed-load stub (a call per read,
 * about 3 % of a four-policy composition), where an ordinary array's read is one instruction. The list is
 * reachable only through an internal symbol; `kinds` is read-only.
 */
export function stageList(stages: readonly Stage[]): StageList {
  const list = stages.slice();
  Object.defineProperty(list, 'kinds', { value: Uint8Array.from(stages, (stage) => stage.kind ?? NO_KIND) });
  return list as unknown as StageList;
}

/** Calls `stage.enter` through its kind's own call site (run and callAndExit write this dispatch out). */
function enterStage(kind: number, stage: Stage, call: Call, slot: number): unknown {
  switch (kind) {
    case StageKind.Timeout:
      return enterTimeout(stage, call, slot);
    case StageKind.Fallback:
      return enterFallback(stage, call, slot);
    case StageKind.Retry:
      return enterRetry(stage, call, slot);
    case StageKind.CircuitBreaker:
      return enterBreaker(stage, call, slot);
    case StageKind.RateLimit:
      return enterRateLimit(stage, call, slot);
    case StageKind.Bulkhead:
      return enterBulkhead(stage, call, slot);
    case StageKind.Custom:
      return enterCustom(stage, call, slot);
    default:
      return enterOther(stage, call, slot);
  }
}

function exitStage(kind: number, stage: Stage, call: Call, slot: number): Directive {
  switch (kind) {
    case StageKind.Timeout:
      return exitTimeout(stage, call, slot);
    case StageKind.Fallback:
      return exitFallback(stage, call, slot);
    case StageKind.Retry:
      return exitRetry(stage, call, slot);
    case StageKind.CircuitBreaker:
      return exitBreaker(stage, call, slot);
    case StageKind.RateLimit:
      return exitRateLimit(stage, call, slot);
    case StageKind.Bulkhead:
      return exitBulkhead(stage, call, slot);
    case StageKind.Custom:
      return exitCustom(stage, call, slot);
    default:
      return exitOther(stage, call, slot);
  }
}

/** How a call's function is called: with its arguments, with the context, or with both. */
export enum Mode {
  Args = 0,
  Context = 1,
  ContextArgs = 2,
}

/** One execution through a pipeline: the function, its outcome so far, and each stage's per-call state. */
export class Call {
  /** The innermost signal scope (a timeout's), or undefined: the caller's signal applies. Timeouts set it on enter and restore it on exit. */
  scope: SignalScope | undefined = undefined;
  attempt = 1;
  ok = false;
  value: unknown = undefined;
  /** Set by a stage returning Directive.Retry: the wait before re-entering. */
  pending: Promise<unknown> | undefined = undefined;
  /** Per-stage state, by slot. */
  readonly slots: unknown[];
  /** How many active sources (the caller's signal, aggressive timeouts) may interrupt the await of the function. */
  interruptible = 0;
  /** Rejects the current interruptible await at once (a no-op once that await has settled). */
  interrupt: ((reason: unknown) => void) | undefined = undefined;
  /** Set by a stage that answered the call itself in `enter` (see the stage contract). */
  answered = false;
  /** The caller's signal aborted (set by its listener: a field read is cheaper than `signal.aborted`). */
  cancelled = false;
  /**
   * A deadline of this call passed (set by the timeout that expired). Before the function starts, with no
   * caller's signal, it is what `aborted` answers, as a field read instead of a call through the scopes.
   */
  deadlinePassed = false;

  constructor(
    readonly fn: Function,
    readonly thisArg: unknown,
    readonly args: readonly unknown[] | undefined,
    readonly mode: Mode,
    readonly outer: AbortSignal | undefined,
    stageCount: number,
  ) {
    this.slots = stageCount === 0 ? EMPTY : new Array(stageCount);
  }

  /** The signal at the current depth (materialized on first read). Stages that wait must listen to it. */
  get signal(): AbortSignal {
    return signalOf(this.scope, this.outer);
  }

  /** Whether the signal at the current depth has aborted, without materializing it. */
  get aborted(): boolean {
    const scope = this.scope;
    return scope === undefined ? this.outer?.aborted === true : scope.aborted;
  }

  get abortReason(): unknown {
    const scope = this.scope;
    return scope === undefined ? this.outer?.reason : scope.reason;
  }

  /** The outcome so far becomes a failure with `reason` (an error, a refusal, an abort's reason). */
  fail(reason: unknown): void {
    this.ok = false;
    this.value = reason;
  }

  /** The caller's signal aborted: interrupt the function's await (stages waiting on `signal` stop by themselves). */
  handleEvent(): void {
    this.cancelled = true;
    const interrupt = this.interrupt;
    if (interrupt !== undefined) interrupt((this.outer as AbortSignal).reason);
  }
}

const EMPTY: unknown[] = [];

/** The per-call context at the call's current depth (for stages that hand it on, e.g. to a fallback). */
export function contextOf(call: Call): PolicyContext {
  return contextAt(call.scope, call.outer, call.attempt);
}

/** Calls the call's function in its mode, with the context of its attempt at its depth when the mode asks for one. */
function invoke(call: Call): unknown {
  const fn = call.fn;
  switch (call.mode) {
    case Mode.Args:
      return invokeWithArgs(fn, call.thisArg, call.args as readonly unknown[]);
    case Mode.Context:
      // Called as a plain function, as `execute` promises (not as a method of the call).
      return fn(contextOf(call));
    default:
      return invokeWithContext(fn, call.thisArg, call.args as readonly unknown[], contextOf(call));
  }
}

/** `fn.apply(thisArg, args)`, without the builtin's array walk for up to two arguments. */
function invokeWithArgs(fn: Function, thisArg: unknown, args: readonly unknown[]): unknown {
  switch (args.length) {
    case 0:
      return fn.call(thisArg);
    case 1:
      return fn.call(thisArg, args[0]);
    case 2:
      return fn.call(thisArg, args[0], args[1]);
    default:
      return fn.apply(thisArg, args);
  }
}

/** `fn.call(thisArg, context, ...args)`, without the spread for up to two arguments (a builtin call, not inlined). */
function invokeWithContext(fn: Function, thisArg: unknown, args: readonly unknown[], context: PolicyContext): unknown {
  switch (args.length) {
    case 0:
      return fn.call(thisArg, context);
    case 1:
      return fn.call(thisArg, context, args[0]);
    case 2:
      return fn.call(thisArg, context, args[0], args[1]);
    default:
      return fn.call(thisArg, context, ...args);
  }
}

/**
 * How a solo call (see {@link Stage.solo}) calls its function: one small function per call form, which the
 * form's wrapper passes down as a constant. V8 then inlines, on each form's path, only that form's
 * invocation; a switch on a mode would put all three on every path (and into its inlining budget) once a
 * process uses them all. The caller gave no signal, so a context is the plain one of the first attempt, or
 * that of `scope` (a solo timeout's).
 */
export type SoloInvoke = (fn: Function, thisArg: unknown, args: readonly unknown[] | undefined, scope?: SignalScope) => unknown;

/** The decorated form: `fn.apply(thisArg, args)`. */
export const soloWithArgs: SoloInvoke = (fn, thisArg, args) => invokeWithArgs(fn, thisArg, args as readonly unknown[]);
/** `execute`: `fn(context)`. */
export const soloWithContext: SoloInvoke = (fn, _thisArg, _args, scope) => fn(contextAt(scope, undefined, 1));
/** `withContext`: `fn.call(thisArg, context, ...args)`. */
export const soloWithContextAndArgs: SoloInvoke = (fn, thisArg, args, scope) =>
  invokeWithContext(fn, thisArg, args as readonly unknown[], contextAt(scope, undefined, 1));

/** The pipeline's mode of a solo call form (for a solo call that leaves its fast path). */
export function modeOf(invoke: SoloInvoke): Mode {
  return invoke === soloWithArgs ? Mode.Args : invoke === soloWithContext ? Mode.Context : Mode.ContextArgs;
}

/** Runs a solo call's function once admitted: its outcome as a promise, whatever it returns or throws. */
export async function callSolo(
  fn: Function,
  thisArg: unknown,
  args: readonly unknown[] | undefined,
  invoke: SoloInvoke,
): Promise<unknown> {
  return await invoke(fn, thisArg, args);
}

/**
 * A solo path's refusal (an open breaker, a full bulkhead, a rate limit), settled as the pipeline settles
 * one: after a turn, so that the caller's handler is attached first.
 */
export async function rejectNextTurn(error: unknown): Promise<never> {
  await undefined;
  throw error;
}

/** Hands a solo call to the pipeline before its function has started (the stage's fast path does not apply). */
export function runInPipeline(
  stages: StageList,
  fn: Function,
  thisArg: unknown,
  args: readonly unknown[] | undefined,
  invoke: SoloInvoke,
): Promise<unknown> {
  return run(stages, new Call(fn, thisArg, args, modeOf(invoke), undefined, stages.length));
}

/**
 * Goes on with a solo call whose first attempt settled (its outcome in `call.ok`/`call.value`, the stage's
 * slot as its `enter` left it): the stage's `exit` runs next, then everything `run` would do.
 */
export function resume(stages: StageList, call: Call): Promise<unknown> {
  return run(stages, call, true);
}

/** A solo call's record, built only when it leaves the fast path after its function settled. */
export function settledCall(
  fn: Function,
  thisArg: unknown,
  args: readonly unknown[] | undefined,
  invoke: SoloInvoke,
  ok: boolean,
  value: unknown,
  slot: unknown,
): Call {
  const call = new Call(fn, thisArg, args, modeOf(invoke), undefined, 1);
  call.ok = ok;
  call.value = value;
  call.slots[0] = slot;
  return call;
}

/**
 * What {@link start} returns when the outcome is already in the call. An object, not a symbol: compared
 * with the function's promise, V8 then tests one reference, where a symbol and an object take its generic
 * comparison, a builtin call.
 */
const SETTLED: object = Object.freeze({ settled: true });

/**
 * Calls the function; returns what it returned, or SETTLED with the outcome set when it threw or the
 * caller aborted during its synchronous part (then what it returned is abandoned: reject at once). Kept
 * out of `run` so that the async frame, saved at every await, stays small.
 */
function start(call: Call): unknown {
  let result: unknown;
  try {
    result = invoke(call);
  } catch (error) {
    call.fail(call.cancelled ? call.abortReason : error);
    return SETTLED;
  }
  if (call.cancelled) {
    absorb(result);
    call.fail(call.abortReason);
    return SETTLED;
  }
  return result;
}

/** Absorbs a late rejection of an abandoned result (never an unhandled rejection). */
function absorb(value: unknown): void {
  if (typeof (value as PromiseLike<unknown> | null)?.then === 'function') Promise.resolve(value).then(undefined, ignore);
}

/**
 * `result`, or the first `target.interrupt(reason)`, whichever comes first; a late rejection of `result`
 * is absorbed. The interrupt stays set after the race settles: calling a settled promise's reject is a
 * no-op, and the next race replaces it.
 *
 * The executor is a closure made per race on purpose: a shared executor that parks the settle functions in
 * module variables saves the closure but stores two new objects into an old one at every race, and V8's
 * write barrier for that cost more (a four-policy composition ran 12 to 16 % slower).
 */
export function race(target: { interrupt: ((reason: unknown) => void) | undefined }, result: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    target.interrupt = reject;
    Promise.resolve(result).then(resolve, reject);
  });
}

/** Where {@link runFrom} starts: the admissions, a stage's admission result, the exits, or a stage's directive. */
enum From {
  Enter = 0,
  Admission = 1,
  Exits = 2,
  Directive = 3,
}

/**
 * Runs `call` through `stages`; the only async frame between the caller and the user function. Without a
 * caller's signal, admissions that all pass synchronously (the common case) run here, before any frame, and
 * a small async function awaits the function and runs the exits; anything else (a wait, a refusal, an
 * answer, a retry, a caller's signal) continues in {@link runFrom}, which does the same steps in general.
 * The small frame matters: V8 saves and restores an async function's registers at every await.
 */
export function run(stages: StageList, call: Call, resumed = false): Promise<unknown> {
  if (resumed) return runFrom(stages, call, stages.length, From.Exits, undefined);
  if (call.outer !== undefined) return runFrom(stages, call, 0, From.Enter, undefined);
  const n = stages.length;
  const kinds = stages.kinds;
  for (let i = 0; i < n; i++) {
    let admitted: unknown;
    try {
      // enterStage's dispatch, written out here (and exitStage's in callAndExit): code in this function's own
      // body costs none of V8's inlining budget, which the stages' enter methods need (a four-policy call
      // runs about 200 instructions fewer, measured). A kind missing here would only take the generic
      // default, with the same outcome.
      const stage = stages[i] as Stage;
      switch (kinds[i]) {
        case StageKind.Timeout:
          admitted = enterTimeout(stage, call, i);
          break;
        case StageKind.Fallback:
          admitted = enterFallback(stage, call, i);
          break;
        case StageKind.Retry:
          admitted = enterRetry(stage, call, i);
          break;
        case StageKind.CircuitBreaker:
          admitted = enterBreaker(stage, call, i);
          break;
        case StageKind.RateLimit:
          admitted = enterRateLimit(stage, call, i);
          break;
        case StageKind.Bulkhead:
          admitted = enterBulkhead(stage, call, i);
          break;
        case StageKind.Custom:
          admitted = enterCustom(stage, call, i);
          break;
        default:
          admitted = enterOther(stage, call, i);
      }
    } catch (error) {
      admitted = error;
    }
    if (admitted !== undefined || call.answered) return runFrom(stages, call, i, From.Admission, admitted);
  }
  return callAndExit(stages, call);
}

/** The common case of {@link run}: every stage admitted synchronously and none answered. */
async function callAndExit(stages: StageList, call: Call): Promise<unknown> {
  if (call.deadlinePassed === true) {
    // An enclosing deadline expired during the admissions (a clock a stage advanced): the function does not run.
    call.fail(call.abortReason);
  } else {
    const result = start(call);
    if (result !== SETTLED) {
      try {
        call.value = call.interruptible === 0 ? await result : await race(call, result);
        call.ok = true;
      } catch (error) {
        call.fail(error);
      }
    }
  }
  const kinds = stages.kinds;
  for (let i = stages.length; --i >= 0; ) {
    let directive: Directive;
    try {
      // exitStage, written out: see run.
      const stage = stages[i] as Stage;
      switch (kinds[i]) {
        case StageKind.Timeout:
          directive = exitTimeout(stage, call, i);
          break;
        case StageKind.Fallback:
          directive = exitFallback(stage, call, i);
          break;
        case StageKind.Retry:
          directive = exitRetry(stage, call, i);
          break;
        case StageKind.CircuitBreaker:
          directive = exitBreaker(stage, call, i);
          break;
        case StageKind.RateLimit:
          directive = exitRateLimit(stage, call, i);
          break;
        case StageKind.Bulkhead:
          directive = exitBulkhead(stage, call, i);
          break;
        case StageKind.Custom:
          directive = exitCustom(stage, call, i);
          break;
        default:
          directive = exitOther(stage, call, i);
      }
    } catch (error) {
      call.fail(error);
      continue;
    }
    if (directive !== Directive.Continue) return await runFrom(stages, call, i, From.Directive, directive);
  }
  if (call.ok) return call.value;
  throw call.value;
}

/**
 * Runs `call` from any point of its way through `stages`: from stage `i`'s admission (`From.Enter`), with
 * stage `i`'s admission result `held` (`From.Admission`), from the exits below `i` with the outcome set
 * (`From.Exits`), or with stage `i`'s exit directive `held` (`From.Directive`).
 */
async function runFrom(stages: StageList, call: Call, i: number, from: From, held: unknown): Promise<unknown> {
  const kinds = stages.kinds;
  const n = stages.length;
  const outer = call.outer;
  if (outer !== undefined) {
    if (outer.aborted) throw outer.reason;
    watchAbort(outer, call);
    call.interruptible++;
  }
  // Whether this function has suspended yet: a promise rejected before its caller could attach a handler
  // goes through Node's unhandled-rejection tracking, which costs about 1 µs; one await first avoids it.
  // Coming from the exits, the function has run (and been awaited, unless it threw synchronously).
  let suspended = from >= From.Exits;
  if (from === From.Directive) i++;
  for (;;) {
    if (from < From.Exits) {
      // Admission, outermost first.
      while (i < n) {
        let admitted: unknown;
        if (from === From.Admission) {
          from = From.Enter;
          admitted = held;
        } else {
          try {
            admitted = enterStage(kinds[i] as number, stages[i] as Stage, call, i);
          } catch (error) {
            admitted = error;
          }
        }
        if (admitted === undefined) {
          i++;
          if (call.answered) break;
          // The stage's admission dispatched the caller's abort: admit nothing further.
          if (call.cancelled) {
            call.fail(call.abortReason);
            break;
          }
          continue;
        }
        if (admitted instanceof Promise) {
          suspended = true;
          try {
            await admitted;
            i++;
            if (call.answered) break;
            // The wait may have outlived the caller or a deadline: admit nothing further (a rate limiter
            // inside would spend a token on a call that will not run); the stages admitted so far exit.
            if (call.aborted) {
              call.fail(call.abortReason);
              break;
            }
            continue;
          } catch (error) {
            admitted = error;
          }
        }
        call.fail(admitted);
        call.answered = false;
        break;
      }
      if (i === n || call.answered) {
        if (call.aborted) {
          if (call.answered) absorb(call.value);
          call.fail(call.abortReason);
        } else if (call.answered) {
          // A stage answered the call: await its answer as the function's result.
          if (call.ok) {
            suspended = true;
            try {
              call.value = call.interruptible === 0 ? await call.value : await race(call, call.value);
            } catch (error) {
              call.fail(error);
            }
          }
        } else {
          suspended = true;
          const result = start(call);
          if (result !== SETTLED) {
            try {
              call.value = call.interruptible === 0 ? await result : await race(call, result);
              call.ok = true;
            } catch (error) {
              call.fail(error);
            }
          }
        }
        call.answered = false;
      }
    }
    // Outcome handling, innermost first.
    let again = false;
    while (--i >= 0) {
      let directive: Directive;
      if (from === From.Directive) directive = held as Directive;
      else {
        try {
          directive = exitStage(kinds[i] as number, stages[i] as Stage, call, i);
        } catch (error) {
          call.fail(error);
          continue;
        }
      }
      from = From.Enter;
      if (directive === Directive.Continue) continue;
      if (directive === Directive.Retry) {
        const pending = call.pending;
        call.pending = undefined;
        if (pending !== undefined) {
          suspended = true;
          try {
            await pending;
          } catch (error) {
            call.fail(error);
            continue;
          }
        }
        i++;
        again = true;
        break;
      }
      suspended = true;
      if (call.aborted) {
        // An enclosing deadline or the caller's signal fired before this stage could settle: do not wait,
        // but absorb a late rejection of what is abandoned (never an unhandled rejection).
        absorb(call.value);
        call.fail(call.abortReason);
        continue;
      }
      try {
        call.value = call.interruptible === 0 ? await call.value : await race(call, call.value);
        call.ok = true;
      } catch (error) {
        call.fail(error);
      }
    }
    from = From.Enter;
    if (!again) break;
  }
  if (outer !== undefined) {
    unwatchAbort(outer, call);
    // The caller's abort wins: stages ran their exits (to record, release and report), but none of them,
    // not even a fallback, may turn the caller's own cancellation into another outcome.
    if (outer.aborted) {
      call.fail(outer.reason);
    }
  }
  if (call.ok) return call.value;
  if (!suspended) await undefined;
  throw call.value;
}
