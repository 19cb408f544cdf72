/** The state machine and its decision functions, driven directly with numbers (no clock, no policy). */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BreakerMachine, type MachineConfig, StateCode, trialVerdict, tripReason } from '../../src/circuit-breaker/machine.js';
import { CountWindow, Outcome } from '../../src/circuit-breaker/window.js';

function config(overrides: Partial<MachineConfig> = {}): MachineConfig {
  return {
    minimumCalls: 1,
    failureRateThreshold: 0.5,
    consecutiveFailures: Number.POSITIVE_INFINITY,
    slowCallRateThreshold: Number.POSITIVE_INFINITY,
    permits: 1,
    maxWaitMs: 100,
    timed: false,
    openDurationMs: () => 1000,
    ...overrides,
  };
}

describe('decisions', () => {
  test('tripReason: consecutive first, then nothing below minimumCalls, then failure rate, then slow rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        (calls, f, s, consecutive, minimumCalls, failureRateThreshold, slowCallRateThreshold, consecutiveFailures) => {
          const failures = Math.min(f, calls);
          const slowCalls = Math.min(s, calls);
          const c = config({ minimumCalls, failureRateThreshold, slowCallRateThreshold, consecutiveFailures });
          const expected =
            consecutive >= consecutiveFailures
              ? 'consecutive-failures'
              : calls < minimumCalls
                ? undefined
                : failures / calls >= failureRateThreshold
                  ? 'failure-rate'
                  : slowCalls / calls >= slowCallRateThreshold
                    ? 'slow-call-rate'
                    : undefined;
          expect(tripReason(calls, failures, slowCalls, consecutive, c)).toBe(expected);
        },
      ),
    );
  });

  test('trialVerdict uses the same thresholds', () => {
    const c = config({ failureRateThreshold: 0.5, slowCallRateThreshold: 0.5 });
    expect(trialVerdict(4, 2, 0, c)).toBe('failure-rate');
    expect(trialVerdict(4, 1, 2, c)).toBe('slow-call-rate');
    expect(trialVerdict(4, 1, 1, c)).toBe('trials-passed');
  });
});

describe('BreakerMachine', () => {
  const transitions: string[] = [];
  const make = (c: MachineConfig) => {
    transitions.length = 0;
    return new BreakerMachine(c, new CountWindow(10), (from, to, reason) => transitions.push(`${from}>${to}:${reason}`));
  };

  test('a call admitted at the very instant of a transition belongs to the new generation (timed marks)', () => {
    const m = make(config({ timed: true, permits: 2 }));
    const before = m.admit(5) as number;
    expect(m.counts(5, before)).toBe(true);
    m.record(5, Outcome.Failure); // opens at t = 5
    expect(m.state).toBe(StateCode.Open);
    expect(m.counts(5, before)).toBe(false);
    m.sync(1005);
    expect(m.state).toBe(StateCode.HalfOpen);
    const trial = m.admit(1005) as number;
    expect(trial).toBeGreaterThan(1005); // nudged past the transition instant
    expect(trial - 1005).toBeLessThan(1e-9);
    expect(m.counts(1005, trial)).toBe(true);
    m.record(1005, Outcome.Slow);
    expect(m.trialsDone).toBe(1);
  });

  test('open → half-open → open by timeout happen at their logical times, even when observed late', () => {
    const m = make(config({ maxWaitMs: 50, openDurationMs: (n) => 100 * 2 ** n }));
    m.admit(0);
    m.record(0, Outcome.Failure);
    m.sync(100);
    expect(m.admit(120)).toBeDefined(); // trial: deadline 170
    m.sync(10_000); // nobody looked for a long time
    // half-open timed out at 170 → open for 200 → half-open at 370; a half-open without trials stays.
    expect(m.state).toBe(StateCode.HalfOpen);
    expect(transitions).toEqual([
      `${StateCode.Closed}>${StateCode.Open}:failure-rate`,
      `${StateCode.Open}>${StateCode.HalfOpen}:open-elapsed`,
      `${StateCode.HalfOpen}>${StateCode.Open}:half-open-timeout`,
      `${StateCode.Open}>${StateCode.HalfOpen}:open-elapsed`,
    ]);
    expect(m.reopens).toBe(1);
  });

  test('ignored outcomes change nothing in closed', () => {
    const m = make(config({ consecutiveFailures: 2 }));
    m.record(0, Outcome.Ignored);
    expect(m.window.calls).toBe(0);
    expect(m.recordClosed(Outcome.Ignored)).toBeUndefined();
  });
});
