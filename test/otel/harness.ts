import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

/** A pull reader: `collect()` runs the SDK's real collection (observable callbacks, aggregation). */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Point {
  attributes: Attributes;
  /** A sum or gauge value, or for a histogram its count. */
  value: number;
  /** Histograms only. */
  sum?: number;
  buckets?: { boundaries: number[]; counts: number[] };
}

export interface Metric {
  unit: string;
  type: string;
  points: Point[];
}

export function sdk() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    /** Every metric of the collection, by name. */
    async collect(): Promise<Map<string, Metric>> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const out = new Map<string, Metric>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const points = (metric.dataPoints as { attributes: Attributes; value: unknown }[]).map((point): Point => {
            if (metric.dataPointType === DataPointType.HISTOGRAM) {
              const histogram = point.value as {
                count: number;
                sum: number;
                buckets: { boundaries: number[]; counts: number[] };
              };
              return { attributes: point.attributes, value: histogram.count, sum: histogram.sum, buckets: histogram.buckets };
            }
            return { attributes: point.attributes, value: point.value as number };
          });
          out.set(metric.descriptor.name, {
            unit: metric.descriptor.unit,
            type: DataPointType[metric.dataPointType] as string,
            points,
          });
        }
      }
      return out;
    },
    shutdown: () => meterProvider.shutdown(),
  };
}

/** The points of `name`, attributes sorted into stable strings, for exact comparison. */
export function points(metrics: Map<string, Metric>, name: string): { attributes: Attributes; value: number }[] {
  const metric = metrics.get(name);
  if (metric === undefined) return [];
  return metric.points
    .filter((p) => p.value !== 0 || metric.type !== 'SUM')
    .map((p) => ({ attributes: sorted(p.attributes), value: p.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

function sorted(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));
}

/** The value of the one point of `name` whose attributes include `match`. */
export function value(metrics: Map<string, Metric>, name: string, match: Attributes): number | undefined {
  const found = metrics.get(name)?.points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)) ?? [];
  if (found.length > 1) throw new Error(`${found.length} points of ${name} match ${JSON.stringify(match)}`);
  return found[0]?.value;
}
