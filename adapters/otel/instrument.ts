import { type BatchObservableCallback, type MeterProvider, metrics } from '@opentelemetry/api';
import type { BulkheadPolicy } from '../../src/bulkhead/bulkhead.js';
import type { CircuitBreakerPolicy } from '../../src/circuit-breaker/circuit-breaker.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import type { AnyPolicy } from '../../src/core/policy.js';
import { checkBoolean, checkClock, checkOptions, isUnset, show } from '../../src/core/validate.js';
import type { RateLimitPolicy } from '../../src/rate-limit/policy.js';
import { METER_NAME } from './conventions.js';
import { HttpTracker } from './http.js';
import { createInstruments, type Instruments, observables } from './instruments.js';
import { type RedisStoreLike, StoreTracker } from './store.js';
import {
  BreakerTracker,
  BulkheadTracker,
  FallbackTracker,
  RateLimitTracker,
  RetryTracker,
  TimeoutTracker,
  type Tracker,
} from './trackers.js';

/** What `instrument` accepts: a weir policy (a composition counts as its parts) or a Redis store. */
export type Instrumentable = AnyPolicy | RedisStoreLike;

export interface InstrumentOptions {
  /** Where the instruments are created (default: the global provider of `@opentelemetry/api`). */
  meterProvider?: MeterProvider;
  /** The clock of `weir.circuit_breaker.time` (default: the system clock; pass the breakers' `VirtualClock` in tests). */
  clock?: Clock;
  /**
   * Count the HTTP adapters' rate-limit outcomes (the `weir:http:rate-limit` diagnostics channel) on
   * `weir.rate_limiting.requests`, with `http.route` (default `true`).
   */
  http?: boolean;
}

/** The handle `instrument` returns. */
export interface Instrumentation {
  /** Instruments more policies or stores (each once: a second time throws). */
  add(...targets: Instrumentable[]): this;
  /** Unsubscribes every listener and stops reporting; the policies cost nothing again. */
  stop(): void;
}

const WHERE = 'weir/otel instrument';
const OPTIONS = ['meterProvider', 'clock', 'http'] as const;

/** The package version, for the meter's instrumentation scope. */
const VERSION = '0.1.0';

/** The name a policy reports: its `name` when it has its own, else `<type>` numbered by this instrumentation. */
function nameOf(target: { name?: unknown }, type: string, fallbackIndex: number): string {
  const name = target.name;
  // A policy is a function: before names existed its own `name` was the wrapper's.
  if (typeof name === 'string' && name !== '' && name !== 'decorate') return name;
  return `${type}-${fallbackIndex}`;
}

function isStore(target: unknown): target is RedisStoreLike {
  const store = target as Partial<RedisStoreLike> | null;
  return typeof store === 'object' && store !== null && typeof store.on === 'function' && typeof store.keysOf === 'function';
}

class WeirInstrumentation implements Instrumentation {
  private readonly trackers = new Map<object, Tracker>();
  private readonly instruments: Instruments;
  private readonly callback: BatchObservableCallback;
  private readonly http: HttpTracker | undefined;
  private stopped = false;
  private unnamed = 0;

  constructor(
    private readonly provider: MeterProvider,
    private readonly clock: Clock,
    http: boolean,
  ) {
    const meter = provider.getMeter(METER_NAME, VERSION);
    this.instruments = createInstruments(meter);
    this.http = http ? new HttpTracker(this.instruments) : undefined;
    this.callback = (result) => {
      for (const tracker of this.trackers.values()) tracker.observe(result);
      this.http?.observe(result);
    };
    meter.addBatchObservableCallback(this.callback, observables(this.instruments));
  }

  add(...targets: Instrumentable[]): this {
    if (this.stopped) throw new Error(`${WHERE}: add() after stop()`);
    for (let i = 0; i < targets.length; i++) this.addOne(targets[i], i);
    return this;
  }

  private addOne(target: unknown, index: number): void {
    const parts = (target as { policies?: unknown } | null)?.policies;
    if (typeof target === 'function' && Array.isArray(parts)) {
      // A composition: its parts are the policies that emit events.
      for (const part of parts) this.addOne(part, index);
      return;
    }
    if (typeof target !== 'function' && !isStore(target)) {
      throw new TypeError(`${WHERE}: argument ${index} is not a weir policy or Redis store, got ${show(target)}`);
    }
    if (this.trackers.has(target as object)) {
      throw new Error(`${WHERE}: ${show(target)} is instrumented already (a policy reports once)`);
    }
    this.trackers.set(target as object, this.track(target));
  }

  private track(target: unknown): Tracker {
    const { instruments } = this;
    if (isStore(target)) {
      const name = target.name ?? target.prefix;
      return new StoreTracker(instruments, typeof name === 'string' ? name : `redis-store-${++this.unnamed}`, target);
    }
    const policy = target as AnyPolicy & Record<string, unknown>;
    const on = policy.on as never;
    const named = (type: string) => nameOf(policy as { name?: unknown }, type, ++this.unnamed);
    if (typeof policy.isolate === 'function') {
      return new BreakerTracker(instruments, named('circuit-breaker'), policy as unknown as CircuitBreakerPolicy, this.clock);
    }
    if (typeof policy.maxAttempts === 'number') return new RetryTracker(instruments, named('retry'), on);
    if (typeof policy.maxQueue === 'number') {
      return new BulkheadTracker(instruments, named('bulkhead'), policy as unknown as BulkheadPolicy);
    }
    if (typeof policy.timeoutMs === 'number') return new TimeoutTracker(instruments, named('timeout'), on);
    if (typeof policy.limiter === 'object' && policy.limiter !== null) {
      return new RateLimitTracker(instruments, named('rate-limit'), policy as unknown as RateLimitPolicy);
    }
    try {
      // A fallback has no members; its one event tells it apart.
      return new FallbackTracker(instruments, named('fallback'), on);
    } catch {
      throw new TypeError(`${WHERE}: ${show(target)} is not a policy weir/otel knows how to observe`);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const tracker of this.trackers.values()) tracker.stop();
    this.trackers.clear();
    this.http?.stop();
    this.provider.getMeter(METER_NAME, VERSION).removeBatchObservableCallback(this.callback, observables(this.instruments));
  }
}

/**
 * Reports weir's metrics on an OpenTelemetry `MeterProvider`: `instrument([breaker, retry, store], {
 * meterProvider })`. Only the policies given are observed (a composition counts as its parts); every other
 * policy keeps its cost. Counts are kept in plain numbers by event listeners and read by the SDK at
 * collection time; histograms are recorded when their event happens. Returns a handle to add more targets
 * or to stop.
 */
export function instrument(
  targets: Instrumentable | readonly Instrumentable[],
  options: InstrumentOptions = {},
): Instrumentation {
  checkOptions(WHERE, options, OPTIONS);
  let provider: MeterProvider = metrics.getMeterProvider();
  if (!isUnset(WHERE, 'meterProvider', options.meterProvider)) {
    provider = options.meterProvider as MeterProvider;
    if (typeof (provider as { getMeter?: unknown }).getMeter !== 'function') {
      throw new TypeError(`${WHERE}: option "meterProvider" must be a MeterProvider, got ${show(provider)}`);
    }
  }
  const clock = isUnset(WHERE, 'clock', options.clock) ? systemClock : checkClock(WHERE, options.clock);
  const http = isUnset(WHERE, 'http', options.http) ? true : checkBoolean(WHERE, 'http', options.http);
  const instrumentation = new WeirInstrumentation(provider, clock, http);
  const list = Array.isArray(targets) ? targets : [targets];
  try {
    instrumentation.add(...(list as Instrumentable[]));
  } catch (error) {
    instrumentation.stop();
    throw error;
  }
  return instrumentation;
}
