// The demo's metrics: weir/otel on a real OpenTelemetry MeterProvider, read once at the end for the summary
// (a service would hand the same provider a Prometheus or OTLP exporter instead; see docs/observability.md).
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { instrument } from '../adapters/otel/index.js'; // 'weir/otel'
import type { AnyPolicy } from '../src/index.js';

/** A reader the demo pulls from when it prints its summary. */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

interface Point {
  attributes: Attributes;
  value: number;
}

export interface Telemetry {
  /** Instruments policies as the service creates them (each once). */
  observe(...policies: AnyPolicy[]): void;
  /** A few lines of metrics for the summary. */
  summary(): Promise<string[]>;
  close(): Promise<void>;
}

export function startTelemetry(): Telemetry {
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = instrument([], { meterProvider });
  const seen = new Set<AnyPolicy>();

  async function collect(): Promise<Map<string, Point[]>> {
    const { resourceMetrics } = await reader.collect();
    const byName = new Map<string, Point[]>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const points = (metric.dataPoints as { attributes: Attributes; value: unknown }[]).map((p) => ({
          attributes: p.attributes,
          value: typeof p.value === 'number' ? p.value : ((p.value as { count?: number }).count ?? 0),
        }));
        byName.set(metric.descriptor.name, points);
      }
    }
    return byName;
  }

  const total = (points: Point[] | undefined, match: Attributes) =>
    (points ?? [])
      .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
      .reduce((sum, p) => sum + p.value, 0);

  return {
    observe(...policies) {
      for (const policy of policies) {
        if (seen.has(policy)) continue;
        seen.add(policy);
        telemetry.add(policy);
      }
    },
    async summary() {
      const m = await collect();
      const calls = m.get('weir.policy.calls');
      const breaker = { 'weir.policy.type': 'circuit-breaker' };
      const outcome = (type: string, value: string) => total(calls, { 'weir.policy.type': type, 'weir.policy.outcome': value });
      const time = (state: string) => total(m.get('weir.circuit_breaker.time'), { 'weir.circuit_breaker.state': state });
      const opened = total(m.get('weir.circuit_breaker.transitions'), { ...breaker, 'weir.circuit_breaker.state': 'open' });
      const retryCalls = outcome('retry', 'success') + outcome('retry', 'failure') + outcome('retry', 'aborted');
      const attempts = total(m.get('weir.retry.attempts'), {});
      const limits = m.get('weir.rate_limiting.requests');
      const result = (value: string) => total(limits, { 'weir.rate_limiting.result': value });
      const route = limits?.find((p) => p.attributes['http.route'] !== undefined)?.attributes['http.route'];
      return [
        `- weir.policy.calls (upstream breaker): ${outcome('circuit-breaker', 'success')} success, ${outcome('circuit-breaker', 'failure')} failure, ${outcome('circuit-breaker', 'rejected')} rejected while open.`,
        `- weir.circuit_breaker.time: ${time('open').toFixed(1)} s open, ${time('half-open').toFixed(1)} s half-open; opened ${opened} times (weir.circuit_breaker.transitions).`,
        `- retry amplification (weir.retry.attempts / calls): ${attempts} attempts for ${retryCalls} calls = ${(retryCalls === 0 ? 0 : attempts / retryCalls).toFixed(2)}.`,
        `- weir.rate_limiting.requests (per-client${route === undefined ? '' : `, http.route ${String(route)}`}): ${result('acquired')} acquired, ${result('rejected')} rejected.`,
        `- weir.policy.calls (load shedding bulkhead): ${outcome('bulkhead', 'admitted')} admitted, ${outcome('bulkhead', 'rejected')} rejected; fallback used ${outcome('fallback', 'fallback')} times.`,
      ];
    },
    async close() {
      telemetry.stop();
      await meterProvider.shutdown();
    },
  };
}
