/**
 * Fused vs nested: builds the same random policy stack twice (two virtual clocks with one seed, two sets
 * of policy instances with the same options), runs the same random schedule of calls through
 * `compose(...)` (one fused executor) and through nested executors (each policy's `execute` wrapping the
 * next, the context's signal passed inward), and records everything observable: per call the settled
 * outcome, its virtual time and the number of function invocations; per policy every event with its
 * virtual time; each policy's final state; the clock's leftover timers.
 *
 * Adding a policy kind is one entry in {@link KINDS}: an arbitrary of its options, a builder, its event
 * names and a snapshot of its observable state.
 */
import fc from 'fast-check';
import { singleFlight, timed } from '../../docs/examples/custom-policies.js';
import { Call, Mode, run } from '../../src/core/pipeline.js';
import { STAGES } from '../../src/core/policy.js';
import { neverAborted } from '../../src/core/signal.js';
import {
  type AnyPolicy,
  type BulkheadOptions,
  bulkhead,
  type CircuitBreakerOptions,
  type Clock,
  circuitBreaker,
  compose,
  constantBackoff,
  exponentialBackoff,
  fallback,
  gcra,
  isTimeoutError,
  isWeirError,
  type PolicyContext,
  type RateLimiter,
  type RateLimitOptions,
  type RetryOptions,
  rateLimit,
  retry,
  slidingWindow,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

// --- Normalization: compare by value, never by identity ----------------------------------------------------

/** A structural copy that two runs can be compared with: errors become their class, message and fields. */
export function norm(value: unknown, depth = 0): unknown {
  if (depth > 4) return '…';
  if (value instanceof Error) {
    const out: Record<string, unknown> = { $error: value.constructor.name, name: value.name, message: value.message };
    for (const key of Object.keys(value)) {
      if (key !== 'stack') out[key] = norm((value as unknown as Record<string, unknown>)[key], depth + 1);
    }
    for (const key of ['code', 'retryAfterMs', 'reason', 'state', 'timeoutMs', 'attempts', 'limit', 'remaining']) {
      const field = (value as unknown as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = norm(field, depth + 1);
    }
    if ('cause' in value) out.cause = norm(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => norm(item, depth + 1));
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = norm((value as Record<string, unknown>)[key], depth + 1);
    return out;
  }
  return value;
}

// --- The policy table ----------------------------------------------------------------------------------------

interface Built {
  readonly policy: AnyPolicy;
  readonly events: readonly string[];
  /** Observable state after the run (compared between the two setups). */
  state(): unknown;
}

interface Kind<S> {
  readonly spec: fc.Arbitrary<S>;
  /** `name` is the same in both setups, so that errors and events naming the policy compare equal. */
  build(spec: S, clock: Clock, name: string): Built;
}

const kind = <S>(entry: Kind<S>): Kind<unknown> => entry as Kind<unknown>;

const CALLER_ABORT = 'caller aborted';
const isCallerAbort = (error: unknown): boolean => error instanceof Error && error.message.startsWith(CALLER_ABORT);

/** A successful result that `retryOnResult` / `isResultFailure` reject, when enabled. */
const isBadValue = (value: unknown): boolean => typeof value === 'string' && value.startsWith('bad');

const optionalInt = (min: number, max: number) => fc.option(fc.integer({ min, max }), { nil: undefined });

const timeoutKind = kind({
  spec: fc.record({ ms: fc.integer({ min: 1, max: 60 }), cooperative: fc.boolean() }),
  build: (spec, clock, name) => {
    const policy = timeout({ ...spec, clock, name });
    return { policy, events: ['timeout'], state: () => ({ pending: policy.pending }) };
  },
});

const fallbackKind = kind({
  spec: fc.record({
    produce: fc.constantFrom('value', 'compute', 'async', 'delayed'),
    when: fc.constantFrom('all', 'notTimeout', 'notWeir'),
    /** Never substitute for the caller's abort (see KNOWN DIFFERENCE B in fused-vs-nested.test.ts). */
    skipCallerAborts: fc.boolean(),
  }),
  build: (spec, clock, name) => {
    const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
    const selected =
      spec.when === 'notTimeout'
        ? (error: unknown) => !isTimeoutError(error)
        : spec.when === 'notWeir'
          ? (error: unknown) => !isWeirError(error)
          : undefined;
    const when = !spec.skipCallerAborts
      ? selected
      : (error: unknown) => !isCallerAbort(error) && (selected === undefined || selected(error));
    const options = when === undefined ? { name } : { when, name };
    const policy =
      spec.produce === 'value'
        ? fallback('fallback', options)
        : spec.produce === 'compute'
          ? fallback((error: unknown) => `fallback: ${message(error)}`, options)
          : spec.produce === 'async'
            ? fallback(async (error: unknown) => `async fallback: ${message(error)}`, options)
            : fallback(
                (error: unknown) =>
                  new Promise<string>((resolve) => clock.setTimer(() => resolve(`late fallback: ${message(error)}`), 3)),
                options,
              );
    return { policy, events: ['fallback'], state: () => null };
  },
});

const retryKind = kind({
  spec: fc.record({
    maxAttempts: fc.integer({ min: 1, max: 4 }),
    backoff: fc.oneof(
      fc.record({ type: fc.constant('constant' as const), ms: fc.integer({ min: 0, max: 20 }) }),
      fc.record({
        type: fc.constant('exponential' as const),
        initialMs: fc.integer({ min: 0, max: 10 }),
        factor: fc.integer({ min: 1, max: 3 }),
        extraMaxMs: fc.integer({ min: 0, max: 30 }),
        jitter: fc.constantFrom('none', 'full', 'equal', 'decorrelated'),
      }),
    ),
    retryRejections: fc.boolean(),
    maxElapsedMs: optionalInt(1, 150),
    retryOnResult: fc.boolean(),
    exhaustedResult: fc.constantFrom('return', 'throw'),
  }),
  build: (spec, clock, name) => {
    const b = spec.backoff;
    const options: RetryOptions = {
      maxAttempts: spec.maxAttempts,
      backoff:
        b.type === 'constant'
          ? constantBackoff(b.ms)
          : exponentialBackoff({ initialMs: b.initialMs, factor: b.factor, maxMs: b.initialMs + b.extraMaxMs, jitter: b.jitter }),
      retryRejections: spec.retryRejections,
      exhaustedResult: spec.exhaustedResult,
      clock,
      name,
    };
    if (spec.maxElapsedMs !== undefined) options.maxElapsedMs = spec.maxElapsedMs;
    if (spec.retryOnResult) options.retryOnResult = isBadValue;
    const policy = retry(options);
    return { policy, events: ['retry', 'giveUp', 'success', 'failure'], state: () => null };
  },
});

const bulkheadKind = kind({
  spec: fc.record({
    maxConcurrent: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) },
      fc.record({
        algorithm: fc.constant('aimd' as const),
        initial: fc.integer({ min: 1, max: 3 }),
        max: fc.constant(4),
        latencyThresholdMs: fc.integer({ min: 1, max: 30 }),
      }),
      fc.record({ algorithm: fc.constant('vegas' as const), initial: fc.integer({ min: 1, max: 3 }), max: fc.constant(4) }),
    ),
    maxQueue: fc.integer({ min: 0, max: 3 }),
    maxQueueWaitMs: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 50 })),
    queueOrder: fc.constantFrom('fifo', 'lifo'),
  }),
  build: (spec, clock, name) => {
    const policy = bulkhead({ ...(spec as BulkheadOptions), clock, name });
    return {
      policy,
      events: ['acquired', 'queued', 'rejected', 'released', 'limit'],
      state: () => ({ running: policy.running, queued: policy.queued, limit: policy.limit }),
    };
  },
});

const circuitBreakerKind = kind({
  spec: fc
    .record({
      window: fc.oneof(
        fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 1, max: 5 }) }),
        fc.record({
          type: fc.constant('time' as const),
          durationMs: fc.integer({ min: 10, max: 100 }),
          buckets: fc.integer({ min: 1, max: 4 }),
        }),
      ),
      minimumCalls: fc.integer({ min: 1, max: 5 }),
      failureRateThreshold: fc.constantFrom(0.25, 0.5, 1),
      consecutiveFailures: optionalInt(1, 3),
      slowCallDurationMs: optionalInt(1, 30),
      openDurationMs: fc.integer({ min: 1, max: 50 }),
      permits: fc.integer({ min: 1, max: 2 }),
      innerRejections: fc.constantFrom('ignore', 'failure'),
      resultFailures: fc.boolean(),
    })
    .map((spec) => ({
      ...spec,
      minimumCalls: spec.window.type === 'count' ? Math.min(spec.minimumCalls, spec.window.size) : spec.minimumCalls,
    })),
  build: (spec, clock, name) => {
    const options: CircuitBreakerOptions = {
      window: spec.window,
      minimumCalls: spec.minimumCalls,
      failureRateThreshold: spec.failureRateThreshold,
      openDurationMs: spec.openDurationMs,
      halfOpen: { permits: spec.permits },
      innerRejections: spec.innerRejections,
      clock,
      name,
    };
    if (spec.consecutiveFailures !== undefined) options.consecutiveFailures = spec.consecutiveFailures;
    if (spec.slowCallDurationMs !== undefined) options.slowCallDurationMs = spec.slowCallDurationMs;
    if (spec.resultFailures) options.isResultFailure = isBadValue;
    const policy = circuitBreaker(options);
    return {
      policy,
      events: ['stateChange', 'success', 'failure', 'slowCall', 'rejected'],
      state: () => ({ state: policy.state, metrics: policy.metrics }),
    };
  },
});

const rateLimitKind = kind({
  spec: fc.record({
    limiter: fc.oneof(
      fc.record({
        type: fc.constant('tokenBucket' as const),
        capacity: fc.integer({ min: 1, max: 3 }),
        perSecond: fc.constantFrom(20, 50, 100, 250),
      }),
      fc.record({
        type: fc.constant('gcra' as const),
        burst: fc.integer({ min: 1, max: 3 }),
        perSecond: fc.constantFrom(20, 50, 100, 250),
      }),
      fc.record({
        type: fc.constant('slidingWindow' as const),
        limit: fc.integer({ min: 1, max: 3 }),
        windowMs: fc.integer({ min: 5, max: 60 }),
        mode: fc.constantFrom('log', 'counter'),
      }),
    ),
    maxWaitMs: optionalInt(0, 60),
  }),
  build: (spec, clock, name) => {
    const l = spec.limiter;
    const limiter: RateLimiter =
      l.type === 'tokenBucket'
        ? tokenBucket({ capacity: l.capacity, refillPerSecond: l.perSecond, clock, name })
        : l.type === 'gcra'
          ? gcra({ burst: l.burst, ratePerSecond: l.perSecond, clock, name })
          : slidingWindow({ limit: l.limit, windowMs: l.windowMs, mode: l.mode, clock, name });
    const options: RateLimitOptions = { name };
    if (spec.maxWaitMs !== undefined) options.wait = { maxWaitMs: spec.maxWaitMs };
    const policy = rateLimit(limiter, options);
    return {
      policy,
      events: ['rejected', 'waiting'],
      // What is left now, read without consuming (takeSync of cost 0 on the memory store).
      state: () => limiter.takeSync?.('default', 0).remaining,
    };
  },
});

/**
 * Custom policies written with the public SPI only (the examples of docs/custom-policies.md): a timing
 * policy (enter/exit, events) and a single flight (answers calls itself, stateful).
 */
const customKind = kind({
  spec: fc.constantFrom('timed', 'singleFlight'),
  build: (spec, clock, name) => {
    if (spec === 'timed') return { policy: timed({ name, clock }), events: ['timed'], state: () => null };
    return { policy: singleFlight({ name }), events: ['joined'], state: () => null };
  },
});

/** Every policy kind the generator draws from. One entry per kind. */
export const KINDS = {
  custom: customKind,
  timeout: timeoutKind,
  fallback: fallbackKind,
  retry: retryKind,
  bulkhead: bulkheadKind,
  circuitBreaker: circuitBreakerKind,
  rateLimit: rateLimitKind,
} satisfies Record<string, Kind<unknown>>;

export type KindName = keyof typeof KINDS;
export interface LayerSpec {
  kind: KindName;
  spec: unknown;
}

/** A stack of 1 to `maxLength` policies, outermost first, drawn from `kinds`. */
export function stackArb(
  kinds: readonly KindName[] = Object.keys(KINDS) as KindName[],
  maxLength = 5,
): fc.Arbitrary<LayerSpec[]> {
  const layer = fc.oneof(...kinds.map((name) => KINDS[name].spec.map((spec): LayerSpec => ({ kind: name, spec }))));
  return fc.array(layer, { minLength: 1, maxLength });
}

// --- Schedules -------------------------------------------------------------------------------------------------

export type Outcome =
  | { t: 'value'; bad: boolean }
  | { t: 'resolve'; bad: boolean }
  | { t: 'throw' }
  | { t: 'reject' }
  | { t: 'delay'; ms: number; ok: boolean; bad: boolean; abortable: boolean }
  | { t: 'hang'; abortable: boolean };

export const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({ t: fc.constant('value' as const), bad: fc.boolean() }),
  fc.record({ t: fc.constant('resolve' as const), bad: fc.boolean() }),
  fc.record({ t: fc.constant('throw' as const) }),
  fc.record({ t: fc.constant('reject' as const) }),
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('delay' as const),
      ms: fc.integer({ min: 1, max: 40 }),
      ok: fc.boolean(),
      bad: fc.boolean(),
      abortable: fc.boolean(),
    }),
  },
  fc.record({ t: fc.constant('hang' as const), abortable: fc.boolean() }),
);

export interface CallSpec {
  /** Arrival time (virtual ms). */
  at: number;
  /** When set, the caller's signal aborts this long after the call starts. */
  abortAfter: number | undefined;
  /** Outcome of each invocation of the function in this call; the last one repeats. */
  outcomes: Outcome[];
}

export const scheduleArb: fc.Arbitrary<CallSpec[]> = fc.array(
  fc.record({
    at: fc.integer({ min: 0, max: 80 }),
    abortAfter: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 4 }),
    outcomes: fc.array(outcomeArb, { minLength: 1, maxLength: 4 }),
  }),
  { minLength: 1, maxLength: 8 },
);

// --- Running one setup ------------------------------------------------------------------------------------------

type Execute = (fn: (context: PolicyContext) => unknown, signal: AbortSignal | undefined) => Promise<unknown>;

/**
 * The nested composition: `policies[0]` runs a function that runs `policies[1]`, and so on, each inner
 * `execute` given the outer context's signal so that an outer timeout or abort reaches the inner layers.
 */
/** The signal to hand an inner layer: none when nothing can abort it (as for the fused pipeline's stages). */
const outerSignal = (signal: AbortSignal): AbortSignal | undefined => (signal === neverAborted ? undefined : signal);

export function nestedExecute(policies: readonly AnyPolicy[]): Execute {
  const layer = (index: number, context: PolicyContext, fn: (context: PolicyContext) => unknown): unknown =>
    index === policies.length
      ? fn(context)
      : (policies[index] as AnyPolicy).execute((inner) => layer(index + 1, inner, fn), outerSignal(context.signal));
  return (fn, signal) => (policies[0] as AnyPolicy).execute((context) => layer(1, context, fn), signal);
}

/**
 * The composition run by the general pipeline, always: a policy of one stage would otherwise take its
 * solo path (see `Stage.solo`) when the caller gives no signal.
 */
export function pipelineExecute(policies: readonly AnyPolicy[]): Execute {
  const stages = compose(...policies)[STAGES];
  return (fn, signal) => run(stages, new Call(fn, undefined, undefined, Mode.Context, signal, stages.length));
}

export interface CallTrace {
  invocations: number;
  settled: { at: number; ok: boolean; value: unknown } | 'pending';
}

export interface Trace {
  calls: CallTrace[];
  /** Per policy (outermost first): [virtual time, event name, payload]. */
  events: unknown[][];
  states: unknown[];
  pendingTimers: number;
  end: number;
}

function perform(outcome: Outcome, context: PolicyContext, clock: VirtualClock, label: string): unknown {
  const value = (bad: boolean) => `${bad ? 'bad' : 'ok'} ${label}`;
  const error = () => new Error(`failed ${label}`);
  switch (outcome.t) {
    case 'value':
      return value(outcome.bad);
    case 'resolve':
      return Promise.resolve(value(outcome.bad));
    case 'throw':
      throw error();
    case 'reject':
      return Promise.reject(error());
    default: {
      const signal = context.signal;
      return new Promise((resolve, reject) => {
        let timer: unknown;
        const onAbort = () => {
          if (timer !== undefined) clock.clearTimer(timer);
          reject(signal.reason);
        };
        if (outcome.t === 'delay') {
          timer = clock.setTimer(() => {
            if (outcome.abortable) signal.removeEventListener('abort', onAbort);
            if (outcome.ok) resolve(value(outcome.bad));
            else reject(error());
          }, outcome.ms);
        }
        // Never listen to the shared never-aborting signal: listeners would pile up across calls.
        if (outcome.abortable && signal !== neverAborted) {
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    }
  }
}

/**
 * The shared virtual time, with a random source of the policy's own. Two calls that settle in the same
 * virtual instant may interleave differently (nested executors take more microtask hops): with one shared
 * random stream, that would hand a jittered backoff another policy's number, a scheduling artifact rather
 * than a difference of behaviour.
 */
function policyClock(clock: VirtualClock, seed: number): Clock {
  const random = new VirtualClock({ seed });
  return {
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    setTimer: (callback, ms) => clock.setTimer(callback, ms),
    clearTimer: (handle) => clock.clearTimer(handle),
    turn: () => clock.turn(),
    random: () => random.random(),
  };
}

export interface Scenario {
  stack: LayerSpec[];
  calls: CallSpec[];
  seed: number;
  /** Subscribe to every event (changes code paths: payloads are built only when somebody listens). */
  listen: boolean;
}

export interface Run {
  trace: Trace;
  /**
   * Whether two calls acted in the same virtual instant (arrived, saw their function settle, or settled).
   * Work of two calls in one instant is ordered by microtask hops, which nested executors take more of, so
   * such runs may legitimately differ (case E in {@link withinAgreement}).
   */
  sharedInstant: boolean;
}

/** Runs `scenario` on a fresh clock and fresh policies, fused (`compose`) or nested, until no timer is left. */
export async function runScenario(scenario: Scenario, mode: 'fused' | 'nested' | 'pipeline'): Promise<Run> {
  const clock = new VirtualClock({ seed: scenario.seed });
  const built = scenario.stack.map((layer, index) =>
    KINDS[layer.kind].build(layer.spec, policyClock(clock, scenario.seed + index), `${layer.kind}-${index}`),
  );
  const events: unknown[][] = built.map(() => []);
  if (scenario.listen) {
    built.forEach((b, index) => {
      for (const name of b.events) {
        b.policy.on(name, (payload: unknown) => (events[index] as unknown[]).push([clock.now(), name, norm(payload)]));
      }
    });
  }
  const policies = built.map((b) => b.policy);
  const execute: Execute =
    mode === 'fused' ? compose(...policies).execute : mode === 'nested' ? nestedExecute(policies) : pipelineExecute(policies);
  const calls: CallTrace[] = scenario.calls.map(() => ({ invocations: 0, settled: 'pending' }));
  const actedAt = new Map<number, number>();
  let sharedInstant = false;
  const acted = (index: number) => {
    const other = actedAt.get(clock.now());
    if (other !== undefined && other !== index) sharedInstant = true;
    actedAt.set(clock.now(), index);
  };
  scenario.calls.forEach((spec, index) => {
    const trace = calls[index] as CallTrace;
    clock.setTimer(() => {
      acted(index);
      let signal: AbortSignal | undefined;
      if (spec.abortAfter !== undefined) {
        const controller = new AbortController();
        signal = controller.signal;
        clock.setTimer(() => controller.abort(new Error(`${CALLER_ABORT} call ${index}`)), spec.abortAfter);
      }
      const fn = (context: PolicyContext) => {
        const invocation = trace.invocations++;
        const outcome = spec.outcomes[Math.min(invocation, spec.outcomes.length - 1)] as Outcome;
        let result: unknown;
        try {
          result = perform(outcome, context, clock, `${index}.${invocation}`);
        } catch (error) {
          acted(index);
          throw error;
        }
        if (result instanceof Promise)
          result.then(
            () => acted(index),
            () => acted(index),
          );
        else acted(index);
        return result;
      };
      execute(fn, signal).then(
        (value) => {
          acted(index);
          trace.settled = { at: clock.now(), ok: true, value: norm(value) };
        },
        (error: unknown) => {
          acted(index);
          trace.settled = { at: clock.now(), ok: false, value: norm(error) };
        },
      );
    }, spec.at);
  });
  await clock.runAllAsync(100_000);
  return {
    trace: { calls, events, states: built.map((b) => norm(b.state())), pendingTimers: clock.pendingTimers, end: clock.now() },
    sharedInstant,
  };
}

export const scenarioArb = (
  stack: fc.Arbitrary<LayerSpec[]> = stackArb(),
  calls: fc.Arbitrary<CallSpec[]> = scheduleArb,
): fc.Arbitrary<Scenario> => fc.record({ stack, calls, seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), listen: fc.boolean() });

/**
 * One call at a time: call i arrives at i × 100 s (plus up to 50 ms), long after the previous one has
 * finished or is stuck for good (even three nested retries span well under that), so no two calls ever
 * act in the same virtual instant. State still carries over (count windows, a hung call's bulkhead slot).
 */
export const sequentialScheduleArb: fc.Arbitrary<CallSpec[]> = scheduleArb.map((calls) =>
  calls.map((call, index) => ({ ...call, at: index * 100_000 + Math.min(call.at, 50) })),
);

// --- Where fused and nested agree -------------------------------------------------------------------------------

/**
 * Rewrites a scenario into the domain where the fused pipeline and the nested executors are meant to agree,
 * by removing the known differences (each rule names its case; see known-differences.test.ts):
 * - A (fused bug): an interrupt (a timeout above, or the caller's abort) does not cut short an
 *   inner fallback's asynchronous substitute (`Directive.Await`): fused waits for it, nested rejects at once.
 *   Rule: a fallback below an interrupt source computes its substitute without taking virtual time.
 * - B (fused bug): the caller's abort reaches the innermost stages first and a stage there may rewrite it
 *   (a fallback substitutes a value; an expired cooperative timeout wraps it in a `TimeoutError`), so the
 *   call does not reject with the caller's reason; nested rejects with it at once.
 *   Rule: fallbacks below the outermost layer skip the caller's abort; cooperative timeouts below an
 *   interrupt source become aggressive.
 * - D (by design): after an interrupt, nested delivers the abort reason to every layer below the source
 *   at once (each executor races the signal), fused passes one outcome outward through the stages, so a
 *   fallback below an aggressive timeout is seen by nested layers in between as the timeout, by fused
 *   ones as the substitute. Rule: a fallback below a timeout does not catch timeouts.
 * - C (reference artifact): a signal passed to an inner `execute` interrupts that executor's await,
 *   whereas a cooperative timeout in the fused pipeline only aborts the signal and waits: in the nested
 *   reference every timeout that is not innermost interrupts the layers below it, so A, B and D treat it
 *   as an interrupt source. Rule: below a cooperative timeout that is not innermost, slow functions
 *   honour their signal.
 * - E (scheduling, by design): work of two calls in the same virtual instant (a bulkhead slot handed to
 *   a waiter while the releasing call goes on; two deadlines expiring together) is ordered by microtask
 *   hops, and nested executors take more of them, so which call gets a slot first may differ. Rules,
 *   for schedules of several calls: each call's arrival and function delays get a residue of their own
 *   (exact binary fractions), so its instants rarely meet another's; with a bulkhead, functions take at
 *   least 1 ms and retries wait at least 1 ms. Runs where two calls still acted in one instant are
 *   detected ({@link Run.sharedInstant}) and skipped.
 * - F (scheduling, by design): a zero-delay retry waits for a real turn of the event loop, outside virtual
 *   time, so how many such retries run before another timer fires (a caller's abort, a deadline, another
 *   call) depends on microtask hops, of which nested executors take more. Rule: retries wait at least 1 ms.
 */
export function withinAgreement(scenario: Scenario): Scenario {
  const stack = scenario.stack;
  const callerAborts = scenario.calls.some((call) => call.abortAfter !== undefined);
  const isCooperative = (layer: LayerSpec) => layer.kind === 'timeout' && (layer.spec as { cooperative: boolean }).cooperative;
  const pooled = stack.some((layer) => layer.kind === 'bulkhead');
  const concurrent = scenario.calls.length > 1;
  const rewritten = stack.map((layer, index): LayerSpec => {
    // In the nested reference every timeout above interrupts the inner executors (see C).
    const timeoutAbove = stack.slice(0, index).some((above) => above.kind === 'timeout');
    const interruptAbove = timeoutAbove || callerAborts;
    if (layer.kind === 'fallback') {
      const spec = { ...(layer.spec as { produce: string; when: string; skipCallerAborts: boolean }) };
      if (interruptAbove && spec.produce === 'delayed') spec.produce = 'async'; // A
      if (callerAborts && index > 0) spec.skipCallerAborts = true; // B
      if (timeoutAbove && spec.when === 'all') spec.when = 'notTimeout'; // D
      return { kind: layer.kind, spec };
    }
    if (layer.kind === 'custom' && layer.spec === 'singleFlight' && concurrent) {
      // E: calls that join a flight settle in its leader's instant by definition.
      return { kind: layer.kind, spec: 'timed' };
    }
    if (layer.kind === 'retry') {
      // E: a retry with no wait re-enters at once, racing a waiter its failure let into a bulkhead.
      // F: a zero delay is a real event-loop turn, outside virtual time.
      const spec = layer.spec as { backoff: { type: string; ms?: number; initialMs?: number } };
      const backoff =
        spec.backoff.type === 'constant'
          ? { ...spec.backoff, ms: Math.max(1, spec.backoff.ms ?? 0) }
          : { ...spec.backoff, initialMs: Math.max(1, spec.backoff.initialMs ?? 0) };
      return { kind: layer.kind, spec: { ...spec, backoff } };
    }
    if (isCooperative(layer) && index > 0 && interruptAbove) {
      return { kind: layer.kind, spec: { ...(layer.spec as object), cooperative: false } }; // B
    }
    return layer;
  });
  const cooperativeOuter = rewritten.some((layer, index) => index < rewritten.length - 1 && isCooperative(layer));
  const rewrite = (o: Outcome): Outcome => {
    if (pooled && concurrent && (o.t === 'value' || o.t === 'resolve'))
      o = { t: 'delay', ms: 1, ok: true, bad: o.bad, abortable: false }; // E
    if (pooled && concurrent && (o.t === 'throw' || o.t === 'reject'))
      o = { t: 'delay', ms: 1, ok: false, bad: false, abortable: false }; // E
    if (cooperativeOuter && (o.t === 'delay' || o.t === 'hang')) o = { ...o, abortable: true }; // C
    return o;
  };
  // E: each call's own times get a residue of their own (exact binary fractions), so two calls rarely act in one instant.
  const calls = scenario.calls.map((call, index) => ({
    ...call,
    at: scenario.calls.length > 1 ? call.at + index / 16 : call.at,
    outcomes: call.outcomes
      .map(rewrite)
      .map((o) => (o.t === 'delay' && scenario.calls.length > 1 ? { ...o, ms: o.ms + (index + 1) / 256 } : o)),
  }));
  return { ...scenario, stack: rewritten, calls };
}
