/**
 * Where the fused pipeline and the nested executors differ today, each reduced to its smallest case
 * (found and shrunk by the property in fused-vs-nested.test.ts; `withinAgreement` there excludes them).
 *
 * A and B were fused-pipeline bugs against docs/concepts.md, found by that property and fixed in
 * src/core/pipeline.ts; they stay as regression tests. C and D are differences by design, asserted as they
 * are, beside decorated functions nested by hand; docs/concepts.md ("Where compose differs from nesting")
 * states them, and case E (calls meeting in one instant), which the property skips.
 */
import { expect, test } from 'vitest';
import { type AnyPolicy, compose, fallback, type PolicyContext, timeout, VirtualClock } from '../../src/index.js';
import { nestedExecute } from './harness.js';

/** fused: compose(...); nested: executors, each handed the outer context's signal; decorated: p1(p2(fn)). */
type Mode = 'fused' | 'nested' | 'decorated';

/** The policies' decorators nested by hand: `policies[0](policies[1](...(fn)))`, with no signal passed inward. */
function decoratedExecute(policies: AnyPolicy[]) {
  return (fn: (context: PolicyContext) => unknown, _signal?: AbortSignal) => {
    const bare = () => fn({ attempt: 1, signal: new AbortController().signal });
    return policies.reduceRight<(...args: unknown[]) => Promise<unknown>>((inner, policy) => policy(inner), bare as never)();
  };
}

/** Runs `fn` once through `policies` (fused or nested) and reports how and when the call settled. */
async function once(
  clock: VirtualClock,
  policies: AnyPolicy[],
  mode: Mode,
  fn: (context: PolicyContext) => unknown,
  signal?: AbortSignal,
): Promise<{ at: number; ok: boolean; value: unknown }> {
  const execute =
    mode === 'fused' ? compose(...policies).execute : mode === 'nested' ? nestedExecute(policies) : decoratedExecute(policies);
  let settled: { at: number; ok: boolean; value: unknown } | undefined;
  execute(fn, signal).then(
    (value) => (settled = { at: clock.now(), ok: true, value }),
    (error: unknown) => (settled = { at: clock.now(), ok: false, value: error }),
  );
  await clock.runAllAsync();
  if (settled === undefined) throw new Error('the call did not settle');
  return settled;
}

const failAfter = (clock: VirtualClock, ms: number) => () =>
  new Promise((_, reject) => clock.setTimer(() => reject(new Error('boom')), ms));

const message = (error: unknown) => (error as Error).message;

// A: an aggressive timeout (or the caller's abort) interrupts the await of the function, but not the await
// of an inner fallback's asynchronous substitute (the `Directive.Await` directive): the call waits for it.
function caseA(mode: Mode) {
  const clock = new VirtualClock();
  const slowSubstitute = () => new Promise((resolve) => clock.setTimer(() => resolve('substitute'), 10));
  return once(clock, [timeout({ ms: 5, clock }), fallback(slowSubstitute)], mode, failAfter(clock, 1));
}

test('A (nested): an aggressive timeout rejects at its deadline while an inner fallback computes', async () => {
  const result = await caseA('nested');
  expect(result.ok).toBe(false);
  expect(result.at).toBe(5);
});

test('A (fused): an aggressive timeout rejects at its deadline while an inner fallback computes', async () => {
  const result = await caseA('fused');
  expect(result.ok).toBe(false);
  expect(result.at).toBe(5);
});

// B: "When callerSignal aborts, the call rejects at once with callerSignal.reason, whatever the function
// does" (docs/concepts.md). Fused, the abort reaches the innermost stages first, and a fallback there
// substitutes a value (B1), or an expired cooperative timeout wraps the reason in a TimeoutError (B2).
function caseB1(mode: Mode) {
  const clock = new VirtualClock();
  const controller = new AbortController();
  clock.setTimer(() => controller.abort(new Error('caller gave up')), 1);
  return once(clock, [timeout({ ms: 100, clock }), fallback('substitute')], mode, failAfter(clock, 50), controller.signal);
}

function caseB2(mode: Mode) {
  const clock = new VirtualClock();
  const controller = new AbortController();
  clock.setTimer(() => controller.abort(new Error('caller gave up')), 2);
  const hang = () => new Promise(() => {});
  return once(
    clock,
    [fallback('outer', { when: () => false }), timeout({ ms: 1, cooperative: true, clock })],
    mode,
    hang,
    controller.signal,
  );
}

test('B (nested): the caller abort rejects with its reason', async () => {
  for (const result of [await caseB1('nested'), await caseB2('nested')]) {
    expect(result.ok).toBe(false);
    expect(message(result.value)).toBe('caller gave up');
  }
});

test('B1 (fused): an inner fallback does not turn the caller abort into its substitute', async () => {
  const result = await caseB1('fused');
  expect(result.ok).toBe(false);
  expect(message(result.value)).toBe('caller gave up');
});

test('B2 (fused): an expired inner cooperative timeout does not wrap the caller abort', async () => {
  const result = await caseB2('fused');
  expect(result.ok).toBe(false);
  expect(message(result.value)).toBe('caller gave up');
});

// C (by design): a signal passed to `execute` interrupts that executor at once, and its abort wins over the
// executor's own stages; a cooperative timeout only aborts the signal and waits. So in the nested reference
// an outer cooperative timeout acts on the inner layers like an aggressive one, and there the inner fallback
// cannot substitute for it: the call fails with the timeout at the deadline.
test('C: below an outer cooperative timeout, fused inner stages see the late outcome, nested ones are cut off', async () => {
  const run = (mode: Mode) => {
    const clock = new VirtualClock();
    const policies = [timeout({ ms: 1, cooperative: true, clock }), fallback((error: unknown) => `saw ${message(error)}`)];
    return once(clock, policies, mode, failAfter(clock, 2));
  };
  expect(await run('fused')).toEqual({ at: 2, ok: true, value: 'saw boom' });
  // Decorated functions nested by hand pass no signal inward: they behave like the fused pipeline.
  expect(await run('decorated')).toEqual({ at: 2, ok: true, value: 'saw boom' });
  const nested = await run('nested');
  expect(nested.at).toBe(1);
  expect(nested.ok).toBe(false);
  expect(message(nested.value)).toBe('Operation timed out after 1 ms');
});

// D (by design): after an interrupt, fused passes one outcome outward (the inner fallback's substitute);
// nested delivers the interrupt to every layer below the source, so both fallbacks fire.
test('D: below an aggressive timeout, fused runs the innermost fallback only, nested runs each', async () => {
  const run = async (mode: Mode) => {
    const clock = new VirtualClock();
    const outer = fallback('outer');
    const inner = fallback('inner');
    const fired: string[] = [];
    outer.on('fallback', ({ error }) => fired.push(`outer at ${clock.now()}: ${message(error)}`));
    inner.on('fallback', ({ error }) => fired.push(`inner at ${clock.now()}: ${message(error)}`));
    const result = await once(clock, [timeout({ ms: 1, clock }), outer, inner], mode, failAfter(clock, 5));
    return { fired, ok: result.ok, at: result.at };
  };
  const timedOut = 'Operation timed out after 1 ms';
  expect(await run('fused')).toEqual({ fired: [`inner at 1: ${timedOut}`], ok: false, at: 1 });
  expect(await run('nested')).toEqual({ fired: [`outer at 1: ${timedOut}`, `inner at 1: ${timedOut}`], ok: false, at: 1 });
  // Decorated functions nested by hand: the inner layers keep waiting, and see the function's own late error.
  expect(await run('decorated')).toEqual({ fired: ['inner at 5: boom'], ok: false, at: 1 });
});
