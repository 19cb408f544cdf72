import type { Attributes, BatchObservableResult } from '@opentelemetry/api';
import type { RedisStoreEvents } from '../redis/store.js';
import { ATTR_ERROR_TYPE, ATTR_FALLBACK_ACTION, ATTR_FALLBACK_CAUSE, ATTR_STORE_NAME } from './conventions.js';
import type { Instruments } from './instruments.js';
import { ErrorTypes, Tally } from './tally.js';
import type { Tracker } from './trackers.js';

/** What weir/otel needs of a Redis store (`redisStore(...)` from weir/redis). */
export interface RedisStoreLike {
  readonly name?: string;
  readonly prefix?: string;
  on<K extends keyof RedisStoreEvents & string>(event: K, listener: (event: RedisStoreEvents[K]) => void): () => void;
  keysOf(key: string): string[];
}

/** A Redis store: decisions that fell back (by cause, action and error type), recoveries, suspensions and answer times. */
export class StoreTracker implements Tracker {
  private readonly base: Attributes;
  private readonly fallbacks: Tally;
  private readonly errors = new ErrorTypes();
  private recoveries = 0;
  private suspensions = 0;
  private readonly unsubscribes: (() => void)[];

  constructor(
    private readonly instruments: Instruments,
    name: string,
    store: RedisStoreLike,
  ) {
    this.base = { [ATTR_STORE_NAME]: name };
    this.fallbacks = new Tally(this.base);
    this.unsubscribes = [
      store.on('fallback', (event) => {
        const type = event.error === undefined ? undefined : this.errors.of(event.error);
        this.fallbacks.add(`${event.cause}|${event.action}|${type ?? ''}`, () => {
          const attributes: Attributes = { [ATTR_FALLBACK_CAUSE]: event.cause, [ATTR_FALLBACK_ACTION]: event.action };
          if (type !== undefined) attributes[ATTR_ERROR_TYPE] = type;
          return attributes;
        });
      }),
      store.on('recovered', () => {
        this.recoveries++;
      }),
      store.on('suspended', () => {
        this.suspensions++;
      }),
      store.on('reply', (event) => this.instruments.redisDecisionDuration.record(event.ms / 1000, this.base)),
    ];
  }

  observe(result: BatchObservableResult): void {
    this.fallbacks.observe(result, this.instruments.redisFallbacks);
    if (this.recoveries !== 0) result.observe(this.instruments.redisRecoveries, this.recoveries, this.base);
    if (this.suspensions !== 0) result.observe(this.instruments.redisSuspensions, this.suspensions, this.base);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }
}
