import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instrument } from '../../adapters/otel/index.js';
import { bulkhead, type CircuitBreakerEvents, circuitBreaker, retry, VirtualClock } from '../../src/index.js';
import { sdk, value } from './harness.js';

describe('instrument(): options and lifecycle', () => {
  it('refuses bad options, naming the option and the value', () => {
    const { meterProvider } = sdk();
    const policy = retry({ maxAttempts: 2 });
    expect(() => instrument(policy, { meterProvider, meterprovider: 1 } as never)).toThrow(/unknown option "meterprovider"/);
    expect(() => instrument(policy, { meterProvider: null } as never)).toThrow(/"meterProvider" must not be null/);
    expect(() => instrument(policy, { meterProvider: {} } as never)).toThrow(/"meterProvider" must be a MeterProvider/);
    expect(() => instrument(policy, { meterProvider, clock: { now: 1 } } as never)).toThrow(/"clock" must implement/);
    expect(() => instrument(policy, { meterProvider, http: 'yes' } as never)).toThrow(/"http" must be a boolean, got "yes"/);
    expect(() => instrument([policy, 42] as never, { meterProvider })).toThrow(/argument 1 is not a built-in weir policy/);
  });

  it('a policy reports once; add() after stop() throws; stop() is idempotent', () => {
    const { meterProvider } = sdk();
    const policy = retry({ maxAttempts: 2 });
    const telemetry = instrument(policy, { meterProvider });
    expect(() => telemetry.add(policy)).toThrow(/instrumented already/);
    telemetry.stop();
    telemetry.stop();
    expect(() => telemetry.add(retry())).toThrow(/after stop/);
    expect(() => telemetry.measure(policy)).toThrow(/after stop/);
  });

  it('stop() unsubscribes: a later instrumentation counts only what happens after it', async () => {
    const first = sdk();
    const second = sdk();
    const pool = bulkhead({ maxConcurrent: 2 });
    const before = instrument(pool, { meterProvider: first.meterProvider });
    await pool.execute(() => 'a');
    before.stop();
    await pool.execute(() => 'b');
    const after = instrument(pool, { meterProvider: second.meterProvider });
    await pool.execute(() => 'c');
    expect(value(await second.collect(), 'weir.policy.calls', { 'weir.policy.outcome': 'admitted' })).toBe(1);
    after.stop();
  });
});

describe('property: the breaker metrics agree with its own events and the elapsed time', () => {
  const step = fc.oneof(
    fc.constant({ kind: 'ok' as const }),
    fc.constant({ kind: 'fail' as const }),
    fc.integer({ min: 1, max: 400 }).map((ms) => ({ kind: 'wait' as const, ms })),
  );

  it('calls = successes + failures + rejections seen; transitions as emitted; time in states = elapsed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const clock = new VirtualClock();
        const { meterProvider, collect, shutdown } = sdk();
        const breaker = circuitBreaker({ consecutiveFailures: 2, openDurationMs: 300, clock });
        const changes: CircuitBreakerEvents['stateChange'][] = [];
        breaker.on('stateChange', (change) => changes.push(change));
        const telemetry = instrument(breaker, { meterProvider, clock });
        const seen = { success: 0, failure: 0, rejected: 0 };
        for (const s of steps) {
          if (s.kind === 'wait') {
            clock.advance(s.ms);
            continue;
          }
          try {
            await breaker.execute(() => (s.kind === 'ok' ? 'ok' : Promise.reject(new RangeError('down'))));
            seen.success++;
          } catch (error) {
            if (error instanceof RangeError) seen.failure++;
            else seen.rejected++;
          }
        }
        const metrics = await collect();
        const outcome = (o: string) => value(metrics, 'weir.policy.calls', { 'weir.policy.outcome': o }) ?? 0;
        expect({ success: outcome('success'), failure: outcome('failure'), rejected: outcome('rejected') }).toEqual(seen);
        const transitions = metrics.get('weir.circuit_breaker.transitions')?.points ?? [];
        expect(transitions.reduce((n, p) => n + p.value, 0)).toBe(changes.length);
        const time = metrics.get('weir.circuit_breaker.time')?.points ?? [];
        expect(time.reduce((n, p) => n + p.value, 0)).toBeCloseTo(clock.now() / 1000, 9);
        const state = metrics.get('weir.circuit_breaker.state')?.points ?? [];
        expect(state.filter((p) => p.value === 1).map((p) => p.attributes['weir.circuit_breaker.state'])).toEqual([
          breaker.state,
        ]);
        telemetry.stop();
        await shutdown();
      }),
      { numRuns: 60 },
    );
  });
});
