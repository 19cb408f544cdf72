// docs/observability.md, runnable: `node --import tsx docs/examples/observability.ts` serves
// http://localhost:9464/metrics. A test (test/otel/example.test.ts) runs it on a free port and scrapes it.
import diagnostics from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { instrument } from '../../adapters/otel/index.js';
import {
  bulkhead,
  type ChannelMessage,
  type CircuitBreakerEvents,
  circuitBreaker,
  compose,
  fallback,
  retry,
  timeout,
} from '../../src/index.js';

/** Logs every breaker's state changes through its diagnostics channel; returns the unsubscribe. */
export function logStateChanges(log: (line: string) => void = console.log): () => void {
  // #region channel
  const onStateChange = ({ policy, payload }: ChannelMessage<CircuitBreakerEvents['stateChange']>) => {
    log(`${policy}: ${payload.from} -> ${payload.to} (${payload.reason})`);
  };
  diagnostics.subscribe('weir:circuit-breaker:state-change', onStateChange as (message: unknown) => void);
  // #endregion channel
  return () => diagnostics.unsubscribe('weir:circuit-breaker:state-change', onStateChange as (message: unknown) => void);
}

/** The first steps: named policies, one instrument() call, and a measured pipeline. */
export function quickStart(meterProvider: MeterProvider) {
  // #region instrument
  const breaker = circuitBreaker({ name: 'payments', consecutiveFailures: 5 });
  const charge = compose(retry({ name: 'payments-retry', maxAttempts: 3 }), breaker, timeout(2_000));

  // Reports every policy of the composition; other policies keep costing nothing.
  const telemetry = instrument(charge, { meterProvider });
  // Optional: call durations and outcomes of the whole pipeline, on weir.policy.call.duration.
  const measuredCharge = telemetry.measure(charge);
  // #endregion instrument
  return { telemetry, breaker, measuredCharge };
}

export async function serveMetrics(
  port = 9464,
): Promise<{ url: string; call: (fail: boolean) => Promise<string>; close: () => Promise<void> }> {
  // #region prometheus
  // The exporter is a MetricReader: it collects when Prometheus scrapes.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });

  const breaker = circuitBreaker({ consecutiveFailures: 3, openDurationMs: 30_000 });
  const pipeline = compose(fallback('cached'), retry({ maxAttempts: 2, backoff: 0 }), breaker, bulkhead(10), timeout(2_000));
  const telemetry = instrument(pipeline, { meterProvider });
  // Durations too: measure() returns the pipeline behind a timing stage.
  const getQuote = telemetry.measure(pipeline);

  const server = createServer((request, response) => {
    if (request.url === '/metrics') exporter.getMetricsRequestHandler(request, response);
    else response.writeHead(404).end();
  });
  // #endregion prometheus

  await new Promise<void>((resolve) => server.listen(port, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${bound}/metrics`,
    call: (fail) => getQuote.execute(() => (fail ? Promise.reject(new Error('upstream down')) : 'fresh')),
    close: async () => {
      telemetry.stop();
      await closeServer(server);
      await meterProvider.shutdown();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url, call } = await serveMetrics();
  for (let i = 0; i < 10; i++) await call(i % 3 === 0);
  console.log(`metrics at ${url}`);
}
