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
 * - `exit(call, slot)` runs innermost first, only for stages whose `enter` admitted. It reads and may
 *   replace the outcome (`call.ok`, `call.value`) and returns a directive:
 *   `CONTINUE`; `RETRY` (set `call.pending` to an abortable wait, or leave it undefined, and the executor
 *   re-enters the stages inside this one); or `AWAIT` (`call.value` is a promise or value to settle first,
 *   e.g. a fallback computed asynchronously). A throwing `exit` turns the outcome into what it threw.
 * - Stages never throw to signal a rejection and never emit events inside the user function's `try`, so a
 *   throwing listener can neither change an outcome nor re-run a call.
 */
import { ignore, neverAborted } from './signal.js';

export const CONTINUE = 0;
export const RETRY = 1;
export const AWAIT = 2;
export type Directive = typeof CONTINUE | typeof RETRY | typeof AWAIT;

/** What the wrapped function sees of a call when it asks for a context. */
export interface PolicyContext {
  /** Aborts when the caller's signal aborts or a timeout expires; pass it to the work you start. */
  readonly signal: AbortSignal;
  /** 1 for the first call, 2 for the first retry, and so on. */
  readonly attempt: number;
}

/**
 * A signal that is created only when somebody reads it: `new AbortController().signal` costs microseconds
 * on Node 20, far more than a call, so timeouts hand out scopes and materialize a signal on demand.
 */
export interface SignalScope {
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  readonly reason: unknown;
}

export interface Stage {
  /**
   * Which built-in family the stage belongs to (see the STAGE_* constants), or absent for any other stage.
   * The executor dispatches on it so that each family's `enter`/`exit` call site sees one class: a stack
   * of six policy kinds would otherwise make one shared call site megamorphic (tens of ns per call).
   */
  readonly kind?: number;
  enter(call: Call, slot: number): unknown;
  exit(call: Call, slot: number): Directive;
}

export const STAGE_OTHER = 0;
export const STAGE_TIMEOUT = 1;
export const STAGE_FALLBACK = 2;
export const STAGE_RETRY = 3;
export const STAGE_CIRCUIT_BREAKER = 4;
export const STAGE_RATE_LIMIT = 5;
export const STAGE_BULKHEAD = 6;

function enterStage(stage: Stage, call: Call, slot: number): unknown {
  switch (stage.kind) {
    case STAGE_TIMEOUT:
      return stage.enter(call, slot);
    case STAGE_FALLBACK:
      return stage.enter(call, slot);
    case STAGE_RETRY:
      return stage.enter(call, slot);
    case STAGE_CIRCUIT_BREAKER:
      return stage.enter(call, slot);
    case STAGE_RATE_LIMIT:
      return stage.enter(call, slot);
    case STAGE_BULKHEAD:
      return stage.enter(call, slot);
    default:
      return stage.enter(call, slot);
  }
}

function exitStage(stage: Stage, call: Call, slot: number): Directive {
  switch (stage.kind) {
    case STAGE_TIMEOUT:
      return stage.exit(call, slot);
    case STAGE_FALLBACK:
      return stage.exit(call, slot);
    case STAGE_RETRY:
      return stage.exit(call, slot);
    case STAGE_CIRCUIT_BREAKER:
      return stage.exit(call, slot);
    case STAGE_RATE_LIMIT:
      return stage.exit(call, slot);
    case STAGE_BULKHEAD:
      return stage.exit(call, slot);
    default:
      return stage.exit(call, slot);
  }
}

export const MODE_ARGS = 0;
export const MODE_CONTEXT = 1;
export const MODE_CONTEXT_ARGS = 2;
type Mode = typeof MODE_ARGS | typeof MODE_CONTEXT | typeof MODE_CONTEXT_ARGS;

/** One execution through a pipeline: the function, its outcome so far, and each stage's per-call state. */
export class Call {
  /** The innermost signal scope (a timeout's), or undefined: the caller's signal applies. Timeouts set it on enter and restore it on exit. */
  scope: SignalScope | undefined = undefined;
  attempt = 1;
  ok = false;
  value: unknown = undefined;
  /** Set by a stage returning RETRY: the wait before re-entering. */
  pending: Promise<unknown> | undefined = undefined;
  /** Per-stage state, by slot. */
  readonly slots: unknown[];
  /** How many active sources (the caller's signal, aggressive timeouts) may interrupt the await of the function. */
  interruptible = 0;
  /** Rejects the current interruptible await at once (a no-op once that await has settled). */
  interrupt: ((reason: unknown) => void) | undefined = undefined;

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

  /** The caller's signal aborted: interrupt the function's await (stages waiting on `signal` stop by themselves). */
  handleEvent(): void {
    const interrupt = this.interrupt;
    if (interrupt !== undefined) interrupt((this.outer as AbortSignal).reason);
  }
}

const EMPTY: unknown[] = [];

/** The signal at a depth: the innermost timeout's, else the caller's, else one that never aborts. */
function signalOf(scope: SignalScope | undefined, outer: AbortSignal | undefined): AbortSignal {
  return scope === undefined ? (outer ?? neverAborted) : scope.signal;
}

/**
 * The context handed to the function: a snapshot of the call's depth, its signal materialized on first
 * read. A plain object with an own, enumerable `signal` getter, so that spreading or copying it keeps both.
 */
function attemptContext(scope: SignalScope | undefined, outer: AbortSignal | undefined, attempt: number): PolicyContext {
  return {
    attempt,
    get signal(): AbortSignal {
      return signalOf(scope, outer);
    },
  };
}

/** The per-call context at the call's current depth (for stages that hand it on, e.g. to a fallback). */
export function contextOf(call: Call): PolicyContext {
  return attemptContext(call.scope, call.outer, call.attempt);
}

function invoke(call: Call): unknown {
  switch (call.mode) {
    case MODE_ARGS:
      return call.fn.apply(call.thisArg, call.args);
    case MODE_CONTEXT:
      return call.fn(attemptContext(call.scope, call.outer, call.attempt));
    default:
      return call.fn.call(call.thisArg, attemptContext(call.scope, call.outer, call.attempt), ...(call.args as unknown[]));
  }
}

/**
 * `result`, or the first interrupt. The interrupt stays set after the race settles: calling a settled
 * promise's reject is a no-op, and the next race replaces it.
 */
function race(call: Call, result: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    call.interrupt = reject;
    Promise.resolve(result).then(resolve, reject);
  });
}

/** Runs `call` through `stages`; the only async frame between the caller and the user function. */
export async function run(stages: readonly Stage[], call: Call): Promise<unknown> {
  const n = stages.length;
  const outer = call.outer;
  if (outer !== undefined) {
    if (outer.aborted) throw outer.reason;
    outer.addEventListener('abort', call);
    call.interruptible++;
  }
  let i = 0;
  // Whether this function has suspended yet: a promise rejected before its caller could attach a handler
  // goes through Node's unhandled-rejection tracking, which costs about 1 µs; one await first avoids it.
  let suspended = false;
  for (;;) {
    // Admission, outermost first.
    while (i < n) {
      let admitted: unknown;
      try {
        admitted = enterStage(stages[i] as Stage, call, i);
      } catch (error) {
        admitted = error;
      }
      if (admitted === undefined) {
        i++;
        continue;
      }
      if (admitted instanceof Promise) {
        suspended = true;
        try {
          await admitted;
          i++;
          // The wait may have outlived the caller or a deadline: admit nothing further (a rate limiter
          // inside would spend a token on a call that will not run); the stages admitted so far exit.
          if (call.aborted) {
            call.ok = false;
            call.value = call.abortReason;
            break;
          }
          continue;
        } catch (error) {
          admitted = error;
        }
      }
      call.ok = false;
      call.value = admitted;
      break;
    }
    if (i === n) {
      if (call.aborted) {
        call.ok = false;
        call.value = call.abortReason;
      } else {
        suspended = true;
        try {
          const result = invoke(call);
          call.value = call.interruptible === 0 ? await result : await race(call, result);
          call.ok = true;
        } catch (error) {
          call.ok = false;
          call.value = error;
        }
      }
    }
    // Outcome handling, innermost first.
    let again = false;
    while (--i >= 0) {
      let directive: Directive;
      try {
        directive = exitStage(stages[i] as Stage, call, i);
      } catch (error) {
        call.ok = false;
        call.value = error;
        continue;
      }
      if (directive === CONTINUE) continue;
      if (directive === RETRY) {
        const pending = call.pending;
        call.pending = undefined;
        if (pending !== undefined) {
          suspended = true;
          try {
            await pending;
          } catch (error) {
            call.ok = false;
            call.value = error;
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
        if (typeof (call.value as PromiseLike<unknown> | null)?.then === 'function') {
          Promise.resolve(call.value).then(undefined, ignore);
        }
        call.ok = false;
        call.value = call.abortReason;
        continue;
      }
      try {
        call.value = call.interruptible === 0 ? await call.value : await race(call, call.value);
        call.ok = true;
      } catch (error) {
        call.ok = false;
        call.value = error;
      }
    }
    if (!again) break;
  }
  if (outer !== undefined) {
    outer.removeEventListener('abort', call);
    // The caller's abort wins: stages ran their exits (to record, release and report), but none of them,
    // not even a fallback, may turn the caller's own cancellation into another outcome.
    if (outer.aborted) {
      call.ok = false;
      call.value = outer.reason;
    }
  }
  if (call.ok) return call.value;
  if (!suspended) await undefined;
  throw call.value;
}
