import type { Histogram, Meter, Observable } from '@opentelemetry/api';
import { INSTRUMENTS, type InstrumentKey, type InstrumentSpec } from './conventions.js';

type Specs = typeof INSTRUMENTS;

/** The instruments, by key: histograms are recorded at each event, the rest observed at collection. */
export type Instruments = {
  [K in InstrumentKey]: Specs[K]['observable'] extends true ? Observable : Histogram;
};

function create(meter: Meter, spec: InstrumentSpec): Observable | Histogram {
  const options = { description: spec.description, unit: spec.unit };
  switch (spec.kind) {
    case 'Histogram':
      return meter.createHistogram(spec.name, {
        ...options,
        advice: { explicitBucketBoundaries: [...(spec.buckets ?? [])] },
      });
    case 'Counter':
      return meter.createObservableCounter(spec.name, options);
    case 'UpDownCounter':
      return meter.createObservableUpDownCounter(spec.name, options);
    case 'Gauge':
      return meter.createObservableGauge(spec.name, options);
  }
}

export function createInstruments(meter: Meter): Instruments {
  const instruments: Record<string, Observable | Histogram> = {};
  for (const [key, spec] of Object.entries(INSTRUMENTS) as [InstrumentKey, InstrumentSpec][]) {
    instruments[key] = create(meter, spec);
  }
  return instruments as Instruments;
}

/** The observable instruments, for `addBatchObservableCallback`. */
export function observables(instruments: Instruments): Observable[] {
  return (Object.keys(INSTRUMENTS) as InstrumentKey[])
    .filter((key) => INSTRUMENTS[key].observable)
    .map((key) => instruments[key] as Observable);
}
