/**
 * An opaque executor inside a composition: any object with `execute(fn, signal)` (a cockatiel policy, a
 * hand-written wrapper). It cannot be fused, so it runs as one stage that answers the call with its own
 * `execute`, which runs the stages composed inside it (fused among themselves) and then the function.
 * This is exactly nesting: the executor sees each of its runs of the inner stages as one call.
 */

import { Call, Directive, run, type Stage, StageKind, type StageList } from './pipeline.js';
import type { Executor } from './policy.js';
import { neverAborted } from './signal.js';

export class NestedStage implements Stage {
  readonly kind = StageKind.Nested;
  constructor(
    readonly executor: Executor,
    readonly inner: StageList,
  ) {}

  enter(call: Call): undefined {
    const signal = call.signal;
    const given = signal === neverAborted ? undefined : signal;
    const { fn, thisArg, args, mode } = call;
    const inner = this.inner;
    call.value = this.executor.execute((context) => {
      // The executor's own signal when it hands one (it aborts with the caller's and its own timeouts).
      const own = (context as { signal?: unknown } | undefined)?.signal;
      const innerSignal = own instanceof AbortSignal && own !== neverAborted ? own : given;
      return run(inner, new Call(fn, thisArg, args, mode, innerSignal, inner.length));
    }, given);
    call.ok = true;
    call.answered = true;
    return undefined;
  }

  exit(): Directive {
    return Directive.Continue;
  }
}
