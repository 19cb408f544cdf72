/**
 * `fallback(value)` / `fallback((error, context) => value)`: when the call fails, return a substitute
 * instead of the error. `when` selects which errors (default: every error). The decorated function's result
 * type becomes the union of its own and the fallback's. `context.signal` aborts when the caller's signal or
 * an enclosing timeout does, so a slow asynchronous substitute can stop too.
 */
import { Emitter } from '../core/events.js';
import { policyName } from '../core/names.js';
import {
  type Call,
  contextOf,
  Directive,
  type PolicyContext,
  resume,
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
  settledCall,
} from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { checkFunction, checkOptions } from '../core/validate.js';

export interface FallbackOptions {
  /** Which errors get the fallback (default: all). A throwing predicate makes its error the outcome. */
  when?: (error: unknown) => boolean;
  /**
   * The policy's name, in its events and diagnostics channels (default `fallback-<n>`, numbered in creation
   * order per process).
   */
  name?: string;
}

export interface FallbackEvents {
  /** The call failed with `error` and the fallback was used instead. */
  fallback: { error: unknown };
}

export type FallbackPolicy<F> = Policy<FallbackEvents, F>;

const OPTIONS = ['when', 'name'] as const;

class FallbackStage implements Stage {
  readonly kind = StageKind.Fallback;
  constructor(
    private readonly produce: (error: unknown, context: PolicyContext) => unknown,
    private readonly when: ((error: unknown) => boolean) | undefined,
    private readonly events: Emitter<FallbackEvents>,
  ) {}

  enter(): undefined {
    return undefined;
  }

  /** The pipeline's solo path: a success ends here; a failure goes on through `exit` on a call record built then. */
  async solo(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    try {
      return await invoke(fn, thisArg, args);
    } catch (error) {
      return resume(stages, settledCall(fn, thisArg, args, invoke, false, error, undefined));
    }
  }

  exit(call: Call): Directive {
    if (call.ok) return Directive.Continue;
    const error = call.value;
    if (this.when !== undefined && !this.when(error)) return Directive.Continue;
    const value = this.produce(error, contextOf(call));
    call.ok = true;
    call.value = value;
    this.events.emit('fallback', { error });
    return typeof (value as PromiseLike<unknown> | null)?.then === 'function' ? Directive.Await : Directive.Continue;
  }
}

/** Computes the fallback from the error (a function is always called, never returned as the value). */
export function fallback<F>(
  compute: (error: unknown, context: PolicyContext) => F,
  options?: FallbackOptions,
): FallbackPolicy<Awaited<F>>;
/** Returns `value` when the call fails. */
export function fallback<F>(value: F, options?: FallbackOptions): FallbackPolicy<F>;
export function fallback(valueOrCompute: unknown, options: FallbackOptions = {}): FallbackPolicy<unknown> {
  checkOptions('fallback', options, OPTIONS);
  const when =
    options.when === undefined ? undefined : checkFunction<(error: unknown) => boolean>('fallback', 'when', options.when);
  const name = policyName('fallback', options.name);
  const produce =
    typeof valueOrCompute === 'function'
      ? (valueOrCompute as (error: unknown, context: PolicyContext) => unknown)
      : () => valueOrCompute;
  const events = new Emitter<FallbackEvents>(new Set(['fallback']));
  return createPolicy<FallbackEvents, unknown, { readonly name: string }>([new FallbackStage(produce, when, events)], events, {
    name,
  });
}
