/**
 * The call forms of a policy made of one built-in stage (its solo path, see {@link Stage.solo}): the
 * decorated wrapper, `execute` and the `withContext` wrapper.
 *
 * One textual copy per family, on purpose. V8 keeps type feedback, and the optimized code of a function
 * that is not inlined, per function literal, not per closure. A wrapper that is called from a site that
 * sees many policies (a router calling every route's handler) is compiled on its own; with one literal
 * for every family, a process that uses a bulkhead and a retry runs both through one wrapper whose calls
 * see both classes, and neither is inlined. With a literal per family, each family's forms keep feedback
 * of their own, as a class's methods do (bench/suites/dispatch.ts: `withContext` through one site for four
 * families 0.91x its floor, 1.00x with one literal; instructions, bench/analysis.md).
 */
import {
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
  soloWithArgs,
  soloWithContext,
  soloWithContextAndArgs,
} from './pipeline.js';

/** A solo policy's three call forms. */
export interface SoloForms {
  decorate(target: Function): Function;
  execute(fn: unknown, signal?: unknown): Promise<unknown>;
  withContext(target: Function): Function;
}

/** Makes a family's forms; `pipeline` runs what the solo path does not (an `execute` given a signal or a non-function). */
type MakeForms = (
  stage: Required<Stage>,
  stages: StageList,
  pipeline: (fn: unknown, signal?: unknown) => Promise<unknown>,
) => SoloForms;
const timeoutForms: MakeForms = (stage, stages, pipeline) => {
  // The invokers as constants of this scope: where V8 inlines a wrapper into its caller, it folds them.
  const withArgs: SoloInvoke = soloWithArgs;
  const withContext: SoloInvoke = soloWithContext;
  const withContextAndArgs: SoloInvoke = soloWithContextAndArgs;
  return {
    decorate: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withArgs);
      },
    execute: (fn, signal) =>
      signal === undefined && typeof fn === 'function'
        ? stage.solo(stages, fn, undefined, undefined, withContext)
        : pipeline(fn, signal),
    withContext: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withContextAndArgs);
      },
  };
};
const fallbackForms: MakeForms = (stage, stages, pipeline) => {
  // The invokers as constants of this scope: where V8 inlines a wrapper into its caller, it folds them.
  const withArgs: SoloInvoke = soloWithArgs;
  const withContext: SoloInvoke = soloWithContext;
  const withContextAndArgs: SoloInvoke = soloWithContextAndArgs;
  return {
    decorate: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withArgs);
      },
    execute: (fn, signal) =>
      signal === undefined && typeof fn === 'function'
        ? stage.solo(stages, fn, undefined, undefined, withContext)
        : pipeline(fn, signal),
    withContext: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withContextAndArgs);
      },
  };
};
const retryForms: MakeForms = (stage, stages, pipeline) => {
  // The invokers as constants of this scope: where V8 inlines a wrapper into its caller, it folds them.
  const withArgs: SoloInvoke = soloWithArgs;
  const withContext: SoloInvoke = soloWithContext;
  const withContextAndArgs: SoloInvoke = soloWithContextAndArgs;
  return {
    decorate: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withArgs);
      },
    execute: (fn, signal) =>
      signal === undefined && typeof fn === 'function'
        ? stage.solo(stages, fn, undefined, undefined, withContext)
        : pipeline(fn, signal),
    withContext: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withContextAndArgs);
      },
  };
};
const breakerForms: MakeForms = (stage, stages, pipeline) => {
  // The invokers as constants of this scope: where V8 inlines a wrapper into its caller, it folds them.
  const withArgs: SoloInvoke = soloWithArgs;
  const withContext: SoloInvoke = soloWithContext;
  const withContextAndArgs: SoloInvoke = soloWithContextAndArgs;
  return {
    decorate: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withArgs);
      },
    execute: (fn, signal) =>
      signal === undefined && typeof fn === 'function'
        ? stage.solo(stages, fn, undefined, undefined, withContext)
        : pipeline(fn, signal),
    withContext: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withContextAndArgs);
      },
  };
};
const rateLimitForms: MakeForms = (stage, stages, pipeline) => {
  // The invokers as constants of this scope: where V8 inlines a wrapper into its caller, it folds them.
  const withArgs: SoloInvoke = soloWithArgs;
  const withContext: SoloInvoke = soloWithContext;
  const withContextAndArgs: SoloInvoke = soloWithContextAndArgs;
  return {
    decorate: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withArgs);
      },
    execute: (fn, signal) =>
      signal === undefined && typeof fn === 'function'
        ? stage.solo(stages, fn, undefined, undefined, withContext)
        : pipeline(fn, signal),
    withContext: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withContextAndArgs);
      },
  };
};
const bulkheadForms: MakeForms = (stage, stages, pipeline) => {
  // The invokers as constants of this scope: where V8 inlines a wrapper into its caller, it folds them.
  const withArgs: SoloInvoke = soloWithArgs;
  const withContext: SoloInvoke = soloWithContext;
  const withContextAndArgs: SoloInvoke = soloWithContextAndArgs;
  return {
    decorate: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withArgs);
      },
    execute: (fn, signal) =>
      signal === undefined && typeof fn === 'function'
        ? stage.solo(stages, fn, undefined, undefined, withContext)
        : pipeline(fn, signal),
    withContext: (target) =>
      function (this: unknown, ...args: unknown[]) {
        return stage.solo(stages, target, this, args, withContextAndArgs);
      },
  };
};
/**
 * The solo call forms of `stages`' only stage, which has a solo path; undefined for a stage of no built-in
 * family (none has a solo path today), whose calls the pipeline then runs, as it can any stage's.
 */
export function soloForms(
  stage: Required<Stage>,
  stages: StageList,
  pipeline: (fn: unknown, signal?: unknown) => Promise<unknown>,
): SoloForms | undefined {
  switch (stages.kinds[0]) {
    case StageKind.Timeout:
      return timeoutForms(stage, stages, pipeline);
    case StageKind.Fallback:
      return fallbackForms(stage, stages, pipeline);
    case StageKind.Retry:
      return retryForms(stage, stages, pipeline);
    case StageKind.CircuitBreaker:
      return breakerForms(stage, stages, pipeline);
    case StageKind.RateLimit:
      return rateLimitForms(stage, stages, pipeline);
    case StageKind.Bulkhead:
      return bulkheadForms(stage, stages, pipeline);
    default:
      return undefined;
  }
}
