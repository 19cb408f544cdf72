import { afterEach, describe, expect, it } from 'vitest';
import { type Instrumentation, instrument } from '../../adapters/otel/index.js';
import { circuitBreaker, compose, definePolicy, retry, timeout, VirtualClock } from '../../src/index.js';
import { sdk } from './harness.js';

let active: Instrumentation | undefined;
afterEach(() => {
  active?.stop();
  active = undefined;
});

describe('weir/otel measure(): call durations and outcomes of any policy', () => {
  it('records one duration per call, by outcome and error type, with explicit buckets', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock });
    const deadline = timeout({ ms: 50, clock });
    active = instrument([], { meterProvider, clock });
    const pipeline = active.measure(compose(breaker, deadline));

    const slow = pipeline.execute(() => new Promise((resolve) => clock.setTimer(() => resolve('late'), 30)));
    clock.advance(30);
    await expect(slow).resolves.toBe('late');
    const hanging = pipeline.execute(() => new Promise(() => {}));
    clock.advance(50);
    await expect(hanging).rejects.toThrow(/timed out/);
    await expect(pipeline.execute(() => 'never runs')).rejects.toThrow(/open/i);

    const histogram = (await collect()).get('weir.policy.call.duration');
    expect(histogram?.unit).toBe('s');
    const byOutcome = Object.fromEntries(
      (histogram?.points ?? []).map((p) => [
        `${p.attributes['weir.policy.outcome']} ${p.attributes['error.type'] ?? ''}`.trim(),
        [p.value, p.sum],
      ]),
    );
    expect(byOutcome).toEqual({ success: [1, 0.03], 'timeout TimeoutError': [1, 0.05], 'rejected CircuitOpenError': [1, 0] });
    for (const point of histogram?.points ?? []) {
      expect(point.attributes).toMatchObject({ 'weir.policy.name': expect.any(String), 'weir.policy.type': 'compose' });
      expect(point.buckets?.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    }
  });

  it('observes a custom policy made with definePolicy the same way, under its family and name', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    const inFlight = new Map<string, Promise<unknown>>();
    const dedupe = definePolicy<{}, string>({
      family: 'single-flight',
      name: 'user-lookup',
      enter(call) {
        const shared = inFlight.get('user');
        if (shared !== undefined) call.resolve(shared);
      },
    });
    active = instrument([], { meterProvider, clock });
    const lookup = active.measure(compose(retry({ maxAttempts: 1 }), dedupe));
    const measuredDedupe = active.measure(dedupe);
    await expect(measuredDedupe.execute(() => 'alice')).resolves.toBe('alice');
    await expect(measuredDedupe.execute(() => Promise.reject(new RangeError('bad id')))).rejects.toThrow(RangeError);
    await expect(lookup.execute(() => 'bob')).resolves.toBe('bob');

    const points = (await collect()).get('weir.policy.call.duration')?.points ?? [];
    const custom = points.filter((p) => p.attributes['weir.policy.type'] === 'single-flight');
    expect(
      custom.map((p) => [
        p.attributes['weir.policy.name'],
        p.attributes['weir.policy.outcome'],
        p.attributes['error.type'],
        p.value,
      ]),
    ).toEqual([
      ['user-lookup', 'success', undefined, 1],
      ['user-lookup', 'failure', 'RangeError', 1],
    ]);
    expect(points.filter((p) => p.attributes['weir.policy.type'] === 'compose').map((p) => p.value)).toEqual([1]);
  });

  it('instrument() refuses a custom policy it cannot read, and skips one inside a composition', () => {
    const { meterProvider } = sdk();
    const custom = definePolicy({ family: 'audit' });
    expect(() => instrument(custom, { meterProvider })).toThrow(/measure\(\)/);
    active = instrument(compose(custom, retry({ maxAttempts: 2 })), { meterProvider });
  });
});
