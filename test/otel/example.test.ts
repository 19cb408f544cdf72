import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INSTRUMENTS } from '../../adapters/otel/index.js';
import { logStateChanges, quickStart, serveMetrics } from '../../docs/examples/observability.js';
import { sdk, value } from './harness.js';

/** The value of the sample `name{...}` whose labels include every `label="value"` of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const found = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0] === undefined ? undefined : Number(found[0].slice(found[0].lastIndexOf(' ') + 1));
}

describe('docs/examples/observability.ts: Prometheus scrapes weir at /metrics', () => {
  it('serves the counters, the breaker state and the duration histogram in the text format', async () => {
    const server = await serveMetrics(0);
    try {
      for (let i = 0; i < 4; i++) await expect(server.call(false)).resolves.toBe('fresh');
      // Two attempts per failing call: the breaker opens on the third failure in a row, then rejects.
      await expect(server.call(true)).resolves.toBe('cached');
      await expect(server.call(true)).resolves.toBe('cached');
      await expect(server.call(false)).resolves.toBe('cached');
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      const text = await response.text();

      const breaker = { weir_policy_type: 'circuit-breaker' };
      expect(sample(text, 'weir_policy_calls_total', { ...breaker, weir_policy_outcome: 'success' })).toBe(4);
      expect(sample(text, 'weir_policy_calls_total', { ...breaker, weir_policy_outcome: 'failure', error_type: 'Error' })).toBe(
        3,
      );
      expect(
        sample(text, 'weir_policy_calls_total', { ...breaker, weir_policy_outcome: 'rejected', weir_rejection_reason: 'open' }),
      ).toBe(2);
      expect(sample(text, 'weir_circuit_breaker_state', { ...breaker, weir_circuit_breaker_state: 'open' })).toBe(1);
      expect(sample(text, 'weir_circuit_breaker_state', { ...breaker, weir_circuit_breaker_state: 'closed' })).toBe(0);
      expect(
        sample(text, 'weir_circuit_breaker_transitions_total', {
          weir_circuit_breaker_previous_state: 'closed',
          weir_circuit_breaker_state: 'open',
        }),
      ).toBe(1);
      // Retry amplification = attempts / calls: 4 successes of 1 attempt; failures of 2, 2 (the second
      // attempt meets the open breaker, whose rejection is not retried) and 1.
      const retryCalls = ['success', 'failure'].map(
        (outcome) => sample(text, 'weir_retry_attempts_total', { weir_policy_type: 'retry', weir_policy_outcome: outcome }) ?? 0,
      );
      expect(retryCalls).toEqual([4, 5]);
      expect(sample(text, 'weir_policy_calls_total', { weir_policy_type: 'fallback', error_type: 'CircuitOpenError' })).toBe(2);
      expect(
        sample(text, 'weir_policy_call_duration_count', { weir_policy_type: 'compose', weir_policy_outcome: 'success' }),
      ).toBe(7);
      expect(text).toMatch(/^# TYPE weir_policy_call_duration histogram$/m);
      expect(text).toMatch(/^# TYPE weir_circuit_breaker_state gauge$/m);
    } finally {
      await server.close();
    }
  });
});

describe('docs/examples/observability.ts: the other samples', () => {
  it('quick start: the named policies report under their names; measure() records the pipeline', async () => {
    const { meterProvider, collect } = sdk();
    const { telemetry, breaker, measuredCharge } = quickStart(meterProvider);
    try {
      await expect(measuredCharge.execute(() => 'charged')).resolves.toBe('charged');
      const metrics = await collect();
      expect(value(metrics, 'weir.policy.calls', { 'weir.policy.name': 'payments', 'weir.policy.outcome': 'success' })).toBe(1);
      expect(value(metrics, 'weir.retry.attempts', { 'weir.policy.name': 'payments-retry' })).toBe(1);
      expect(
        value(metrics, 'weir.circuit_breaker.state', { 'weir.policy.name': 'payments', 'weir.circuit_breaker.state': 'closed' }),
      ).toBe(1);
      expect(value(metrics, 'weir.policy.call.duration', { 'weir.policy.type': 'compose' })).toBe(1);
      expect(breaker.state).toBe('closed');
    } finally {
      telemetry.stop();
    }
  });

  it('the state-change channel logs each transition once, with the policy name', async () => {
    const lines: string[] = [];
    const unsubscribe = logStateChanges((line) => lines.push(line));
    const { meterProvider } = sdk();
    const { telemetry, breaker } = quickStart(meterProvider);
    try {
      breaker.isolate();
      expect(lines).toEqual(['payments: closed -> isolated (isolated)']);
    } finally {
      unsubscribe();
      telemetry.stop();
    }
  });
});

describe('docs/observability.md lists every instrument as weir/otel creates it', () => {
  it('one table row per instrument, with its kind, unit and attributes', () => {
    const page = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
    const rows = new Map(
      page
        .split('\n')
        .filter((line) => line.startsWith('| `weir.') && line.split('|').length >= 6)
        .map((line) => {
          const cells = line.split('|').map((cell) => cell.trim());
          return [cells[1]?.replaceAll('`', ''), cells] as const;
        }),
    );
    for (const spec of Object.values(INSTRUMENTS)) {
      const cells = rows.get(spec.name);
      expect(cells, spec.name).toBeDefined();
      expect(cells?.[2]).toBe(spec.observable ? `${spec.kind} (observable)` : spec.kind);
      expect(cells?.[3]).toBe(`\`${spec.unit}\``);
      const own = spec.attributes.filter((a) => a !== 'weir.policy.name' && a !== 'weir.policy.type');
      expect(cells?.[4], spec.name).toBe(own.map((a) => `\`${a}\``).join(', '));
    }
    expect(rows.size).toBe(Object.keys(INSTRUMENTS).length);
  });
});
