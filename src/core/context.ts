/**
 * The per-call context handed to a function that asks for one (`execute`, `withContext`).
 *
 * Its documented behaviour: the signal is created only when read (a timeout's `AbortController` costs
 * microseconds on Node 20, far more than a call), and spreading or copying the context keeps `signal` and
 * `attempt`. An object literal with an own `get signal()` does both, but V8 builds such a literal on a slow
 * path (hundreds of ns, more than the call). So:
 * - with no timeout in effect, the signal already exists (the caller's, or one that never aborts): the
 *   context is a plain two-field object;
 * - under a timeout, the context is a proxy over a small instance whose `signal` is a prototype getter;
 *   the proxy reports `attempt` and `signal` as own enumerable properties, so spreads and copies keep both
 *   (reading `signal` through a copy materializes it, as reading it directly does). A proxy costs about as
 *   much as a plain object to create; only reads pay its traps.
 */
import { neverAborted } from './signal.js';

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

/** The signal at a depth: the innermost timeout's, else the caller's, else one that never aborts. */
export function signalOf(scope: SignalScope | undefined, outer: AbortSignal | undefined): AbortSignal {
  return scope === undefined ? (outer ?? neverAborted) : scope.signal;
}

class ScopedContext {
  constructor(
    readonly attempt: number,
    private readonly scope: SignalScope,
  ) {}
  get signal(): AbortSignal {
    return this.scope.signal;
  }
}

const KEYS = Object.freeze(['attempt', 'signal']);

const OWN: ProxyHandler<ScopedContext> = {
  ownKeys: () => KEYS.slice(),
  getOwnPropertyDescriptor(target, key) {
    if (key !== 'attempt' && key !== 'signal') return undefined;
    return { value: target[key], enumerable: true, configurable: true, writable: false };
  },
  has: (_, key) => key === 'attempt' || key === 'signal' || key in Object.prototype,
};

/** The context at a call's depth: `scope` is the innermost timeout's signal scope, if any. */
export function contextAt(scope: SignalScope | undefined, outer: AbortSignal | undefined, attempt: number): PolicyContext {
  if (scope === undefined) return { attempt, signal: outer ?? neverAborted };
  return new Proxy(new ScopedContext(attempt, scope), OWN) as PolicyContext;
}
