import { type BatchObservableCallback, type MeterProvider, metrics } from '@opentelemetry/api';
import type { BulkheadPolicy } from '../../src/bulkhead/bulkhead.js';
import type { CircuitBreakerPolicy } from '../../src/circuit-breaker/circuit-breaker.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import type { AnyPolicy, FallbackOf, Policy } from '../../src/core/policy.js';
import { checkBoolean, checkClock, checkOptions, isUnset, show } from '../../src/core/validate.js';
import type { RateLimitPolicy } from '../../src/rate-limit/policy.js';
import { METER_NAME } from './conventions.js';
import { HttpTracker } from './http.js';
import { createInstruments, type Instruments, observables } from './instruments.js';
import { measured } from './measure.js';
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
  /**
   * `policy` (built-in, composed or made with `definePolicy`) behind a stage that records each call's
   * duration and outcome on `weir.policy.call.duration`; use the returned policy in its place. Costs a
   * histogram record per call, so measure the pipelines whose latency you chart.
   */
  measure<P extends AnyPolicy>(policy: P): Policy<{}, FallbackOf<P>>;
  /** Unsubscribes every listener and stops reporting; the policies cost nothing again. */
  stop(): void;
}

const WHERE = 'weir/otel instrument';
const OPTIONS = ['meterProvider', 'clock', 'http'] as const;

/** The name a policy reports: its `name`, else (an object from elsewhere) `<type>` numbered by this instrumentation. */
function nameOf(target: { name?: unknown }, type: string, fallbackIndex: number): string {
  const name = target.name;
  return typeof name === 'string' && name !== '' ? name : `${type}-${fallbackIndex}`;
}

/** A built-in policy's family, told by its members (a fallback, which has none, by its one event). */
function builtInFamily(policy: AnyPolicy & Record<string, unknown>): string | undefined {
  if (typeof policy.family === 'string' || Array.isArray(policy.policies)) return undefined;
  if (typeof policy.isolate === 'function') return 'circuit-breaker';
  if (typeof policy.maxAttempts === 'number') return 'retry';
  if (typeof policy.maxQueue === 'number') return 'bulkhead';
  if (typeof policy.timeoutMs === 'number') return 'timeout';
  if (typeof policy.limiter === 'object' && policy.limiter !== null) return 'rate-limit';
  try {
    policy.on('fallback', () => {})();
    return 'fallback';
  } catch {
    return undefined;
  }
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
    const meter = provider.getMeter(METER_NAME);
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

  private addOne(target: unknown, index: number, nested = false): void {
    const parts = (target as { policies?: unknown } | null)?.policies;
    if (typeof target === 'function' && Array.isArray(parts)) {
      // A composition: its parts are the policies that emit events.
      for (const part of parts) this.addOne(part, index, true);
      return;
    }
    if (this.trackers.has(target as object)) {
      throw new Error(`${WHERE}: ${show(target)} is instrumented already (a policy reports once)`);
    }
    const tracker = this.track(target);
    if (tracker !== undefined) this.trackers.set(target as object, tracker);
    // A custom policy or a foreign executor inside a composition has no events weir knows: measure() it.
    else if (!nested) {
      throw new TypeError(
        `${WHERE}: argument ${index} is not a built-in weir policy or a Redis store (measure() observes any policy), got ${show(target)}`,
      );
    }
  }

  private track(target: unknown): Tracker | undefined {
    const { instruments } = this;
    if (isStore(target)) {
      const name = target.name ?? target.prefix;
      return new StoreTracker(instruments, typeof name === 'string' ? name : `redis-store-${++this.unnamed}`, target);
    }
    if (typeof target !== 'function') return undefined;
    const policy = target as AnyPolicy & Record<string, unknown>;
    const type = builtInFamily(policy);
    const name = nameOf(policy, type ?? 'policy', ++this.unnamed);
    const on = policy.on as never;
    switch (type) {
      case 'circuit-breaker':
        return new BreakerTracker(instruments, name, policy as unknown as CircuitBreakerPolicy, this.clock);
      case 'retry':
        return new RetryTracker(instruments, name, policy);
      case 'bulkhead':
        return new BulkheadTracker(instruments, name, policy as unknown as BulkheadPolicy);
      case 'timeout':
        return new TimeoutTracker(instruments, name, on);
      case 'rate-limit':
        return new RateLimitTracker(instruments, name, policy as unknown as RateLimitPolicy);
      case 'fallback':
        return new FallbackTracker(instruments, name, on);
      default:
        return undefined;
    }
  }

  measure<P extends AnyPolicy>(policy: P): Policy<{}, FallbackOf<P>> {
    if (this.stopped) throw new Error(`${WHERE}: measure() after stop()`);
    if (typeof policy !== 'function' || typeof policy.execute !== 'function') {
      throw new TypeError(`${WHERE}: measure() expects a weir policy, got ${show(policy)}`);
    }
    const target = policy as P & Record<string, unknown>;
    const type = Array.isArray(target.policies)
      ? 'compose'
      : (builtInFamily(target) ?? (typeof target.family === 'string' ? target.family : 'policy'));
    const name = nameOf(target, type, ++this.unnamed);
    return measured(policy, name, type, this.instruments.callDuration, this.clock);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const tracker of this.trackers.values()) tracker.stop();
    this.trackers.clear();
    this.http?.stop();
    this.provider.getMeter(METER_NAME).removeBatchObservableCallback(this.callback, observables(this.instruments));
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
