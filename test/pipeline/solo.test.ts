/**
 * A policy of one built-in stage runs its calls on the stage's solo path (no call record; see
 * `Stage.solo`) when the caller gives no signal. That path must behave exactly as the general pipeline
 * does: random single policies of every built-in kind and random outcome schedules run through both
 * (`compose(p).execute` takes the solo path; `run(stages, new Call(...))` is the pipeline), each on its own
 * virtual clock with the same seed, and per call the settled value or error, its virtual time and the
 * number of invocations must match, and so must every event, the policy's final state and the leftover
 * timers.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Call, Mode, run } from '../../src/core/pipeline.js';
import { STAGES } from '../../src/core/policy.js';
import { bulkhead, circuitBreaker, compose, fallback, rateLimit, retry, timeout, tokenBucket } from '../../src/index.js';
import {
  type CallSpec,
  type KindName,
  runScenario,
  type Scenario,
  scenarioArb,
  scheduleArb,
  sequentialScheduleArb,
  stackArb,
  withinAgreement,
} from './harness.js';

const BUILT_IN: KindName[] = ['timeout', 'fallback', 'retry', 'bulkhead', 'circuitBreaker', 'rateLimit'];
const single = stackArb(BUILT_IN, 1);
/** Solo calls are those without a caller's signal. */
const noAborts = (calls: fc.Arbitrary<CallSpec[]>) =>
  calls.map((list) => list.map((call) => ({ ...call, abortAfter: undefined })));

async function compare(raw: Scenario): Promise<boolean> {
  // Spreads the calls' instants apart (rule E there): two calls acting in one instant are ordered by
  // microtask hops, and the solo path takes fewer of them than the pipeline.
  const scenario = withinAgreement(raw);
  const solo = await runScenario(scenario, 'fused');
  const pipeline = await runScenario(scenario, 'pipeline');
  if (solo.sharedInstant || pipeline.sharedInstant) return false;
  expect(solo.trace).toEqual(pipeline.trace);
  return true;
}

test('calls one after another: the solo path and the pipeline agree on every single built-in policy', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb(single, noAborts(sequentialScheduleArb)), async (scenario) => {
      await compare(scenario);
    }),
    { numRuns: 1500 },
  );
});

test('overlapping calls (queues, shared windows, waits): the solo path and the pipeline agree', async () => {
  let compared = 0;
  let skipped = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb(single, noAborts(scheduleArb)), async (scenario) => {
      if (await compare(scenario)) compared++;
      else skipped++;
    }),
    { numRuns: 1500, seed: 11 },
  );
  expect(compared).toBeGreaterThan(skipped * 5);
});

test('every built-in family has a solo path, and the decorated form keeps this and the arguments', async () => {
  const limiter = tokenBucket({ capacity: 100, refillPerSecond: 1 });
  const policies = [timeout(1000), fallback(0), retry(), circuitBreaker(), bulkhead({ maxConcurrent: 2 }), rateLimit(limiter)];
  for (const policy of policies) {
    const stage = policy[STAGES][0];
    expect(typeof stage?.solo, policy.name).toBe('function');
    const target = {
      base: 40,
      add: policy(async function (this: { base: number }, a: number, b: number) {
        return this.base + a + b;
      }),
    };
    expect(await target.add(1, 1)).toBe(42);
    // The pipeline gives the same answer for the same call.
    const stages = policy[STAGES];
    const viaPipeline = await run(
      stages,
      new Call(
        async function (this: { base: number }, a: number) {
          return this.base + a;
        },
        target,
        [2],
        Mode.Args,
        undefined,
        stages.length,
      ),
    );
    expect(viaPipeline).toBe(42);
  }
});

test('the decorated form and withContext pass this and any number of arguments, alone and composed', async () => {
  const limiter = tokenBucket({ capacity: 100, refillPerSecond: 1 });
  const policies = [timeout(1000), fallback(0), retry(), circuitBreaker(), bulkhead({ maxConcurrent: 2 }), rateLimit(limiter)];
  const target = { base: 100 };
  for (const policy of [...policies, compose(retry(), bulkhead({ maxConcurrent: 2 }))]) {
    const wrapped = policy.withContext(function (this: { base: number }, context, ...args: number[]) {
      return Promise.resolve([this.base, context.attempt, typeof context.signal.aborted, ...args]);
    });
    const decorated = policy(function (this: { base: number }, ...args: number[]) {
      return Promise.resolve([this.base, ...args]);
    });
    for (const args of [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]) {
      expect(await wrapped.apply(target, args), `${policy.name} with ${args.length} arguments`).toEqual([
        100,
        1,
        'boolean',
        ...args,
      ]);
      expect(await decorated.apply(target, args), `${policy.name} decorated, ${args.length} arguments`).toEqual([100, ...args]);
    }
  }
});
