/**
 * The fused pipeline (`compose(...)`, one executor) behaves exactly like the nested composition
 * (each policy's `execute` around the next, the context's signal passed inward). Random policy stacks
 * (every kind in harness.ts's KINDS table) and random outcome schedules (values, errors, delays, hangs,
 * caller aborts) run through both setups, each on its own virtual clock with the same seed; per call the
 * settled value or error, its virtual time and the number of invocations must match, and so must every
 * policy's events (name, payload, virtual time), every policy's final state and the leftover timers.
 *
 * Known differences are carved out by `withinAgreement` (rules A to E, documented there) and pinned down
 * one by one in known-differences.test.ts.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { type CallSpec, runScenario, type Scenario, scenarioArb, sequentialScheduleArb, withinAgreement } from './harness.js';

async function compare(raw: Scenario): Promise<boolean> {
  const scenario = withinAgreement(raw);
  const fused = await runScenario(scenario, 'fused');
  const nested = await runScenario(scenario, 'nested');
  if (fused.sharedInstant || nested.sharedInstant) return false;
  expect(fused.trace).toEqual(nested.trace);
  return true;
}

const oneCall: fc.Arbitrary<CallSpec[]> = sequentialScheduleArb.map((calls) => calls.slice(0, 1));

test('one call: fused and nested agree on outcome, time, invocations, events and state', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb(undefined, oneCall), async (scenario) => {
      await compare(scenario);
    }),
    { numRuns: 1000 },
  );
});

test('calls one after another (state carries over): fused and nested agree', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb(undefined, sequentialScheduleArb), async (scenario) => {
      await compare(scenario);
    }),
    { numRuns: 1000 },
  );
});

test('overlapping calls (queues, shared windows, concurrent timeouts): fused and nested agree', async () => {
  let compared = 0;
  let skipped = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb(), async (scenario) => {
      if (await compare(scenario)) compared++;
      else skipped++;
    }),
    // A fixed seed: about one random concurrent scenario in 10^4 still has two calls meet in one instant
    // unnoticed (case E), which is scheduling, not behaviour. If this fails after a change to src/core,
    // check the counterexample for two calls acting at the same virtual time before calling it a bug.
    { numRuns: 1500, seed: 9 },
  );
  // The comparison must really run, not be skipped away.
  expect(compared).toBeGreaterThan(skipped * 10);
});
