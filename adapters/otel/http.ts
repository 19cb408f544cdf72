import type { Attributes, BatchObservableResult } from '@opentelemetry/api';
import type { RateLimitOutcome } from '../http/observe.js';
import { RATE_LIMIT_CHANNEL } from '../http/observe.js';
import { ATTR_ERROR_TYPE, ATTR_HTTP_ROUTE, ATTR_LIMIT_NAME, ATTR_LIMIT_RESULT } from './conventions.js';
import type { Instruments } from './instruments.js';
import { ErrorTypes, Tally } from './tally.js';

interface ChannelModule {
  subscribe(name: string, listener: (message: unknown) => void): void;
  unsubscribe(name: string, listener: (message: unknown) => void): boolean;
}

/** The adapters' result words, in the vocabulary of `weir.rate_limiting.result`. */
const RESULTS: Record<RateLimitOutcome['result'], string> = {
  allowed: 'acquired',
  limited: 'rejected',
  'store-error': 'store_error',
};

function diagnosticsChannel(): ChannelModule | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const module = process?.getBuiltinModule?.('node:diagnostics_channel') as ChannelModule | undefined;
  return typeof module?.subscribe === 'function' ? module : undefined;
}

/**
 * The HTTP adapters' per-request outcomes (Express, Fastify, Koa, Hono publish each on the
 * `weir:http:rate-limit` diagnostics channel), counted on `weir.rate_limiting.requests` by limit, result
 * and `http.route`.
 */
export class HttpTracker {
  private readonly requests = new Tally({});
  private readonly errors = new ErrorTypes();
  private readonly channel = diagnosticsChannel();
  private readonly listener = (message: unknown): void => this.record(message as RateLimitOutcome);

  constructor(private readonly instruments: Instruments) {
    this.channel?.subscribe(RATE_LIMIT_CHANNEL, this.listener);
  }

  /** Counts one outcome; also usable as (or from) an adapter's `onResult` option. */
  record(outcome: RateLimitOutcome): void {
    const result = RESULTS[outcome.result] ?? 'store_error';
    const route = outcome.route;
    const type = outcome.result === 'store-error' ? this.errors.of(outcome.error) : undefined;
    this.requests.add(`${outcome.name}|${result}|${route ?? ''}|${type ?? ''}`, () => {
      const attributes: Attributes = { [ATTR_LIMIT_NAME]: outcome.name, [ATTR_LIMIT_RESULT]: result };
      if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route;
      if (type !== undefined) attributes[ATTR_ERROR_TYPE] = type;
      return attributes;
    });
  }

  observe(result: BatchObservableResult): void {
    this.requests.observe(result, this.instruments.rateLimitRequests);
  }

  stop(): void {
    this.channel?.unsubscribe(RATE_LIMIT_CHANNEL, this.listener);
  }
}
