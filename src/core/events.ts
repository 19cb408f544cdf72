/**
 * Typed, synchronous events. Emitting costs one property read when nobody listens: policies check
 * `emitter.has(name)`, or on a hot path the event's {@link EventProbe} (`probe.active`), before building an
 * event object, and a hot path sends it with `probe.emit(payload)`: no lookup by name.
 *
 * A listener that throws (or returns a promise that rejects) never changes the outcome of the call that
 * emitted the event and never makes a policy run anything again: the error goes to the listener-error
 * handler ({@link setListenerErrorHandler}), which by default emits a process warning.
 *
 * Each event is also published on the diagnostics channel `weir:<family>:<event in kebab-case>` where the
 * runtime has `node:diagnostics_channel`; the message is built only when the channel has a subscriber.
 *
 * An instrumentation that only counts an event (weir/otel) takes a {@link EventTally} instead of a listener:
 * the policy then adds one to a number on its hot path and builds no payload and calls nothing. Only the
 * events a policy declares tallied can be tallied (the hot ones: a success, an admission).
 */
import { diagnosticsChannel, emitWarning, type DiagnosticsChannel as PublishChannel } from './runtime.js';

/**
 * An event listener: `event` is the payload; `info` says which policy emitted it. A listener that throws,
 * or returns a promise that rejects, is reported the same way (see {@link setListenerErrorHandler}).
 */
export type Listener<T> = (event: T, info: EventInfo) => void;
export type EventMap = Record<string, any>;

/** Which policy emitted an event, and what the event is called. One frozen object per policy and event. */
export interface EventInfo {
  /** The emitting policy's `name` (given, or derived as `<family>-<n>`). */
  readonly policy: string;
  /** The policy's family: `timeout`, `retry`, `circuit-breaker`, ... or a custom policy's. */
  readonly family: string;
  /** The event's name, as passed to `on`. */
  readonly event: string;
}

/**
 * The message published on an event's diagnostics channel (`weir:<family>:<event in kebab-case>`), e.g.
 * `weir:circuit-breaker:state-change`: the policy, the event and the payload the listeners get.
 */
export interface ChannelMessage<T = unknown> extends EventInfo {
  readonly payload: T;
}

export interface ListenerErrorInfo {
  /** The event whose listener threw. */
  event: string;
}

export type ListenerErrorHandler = (error: unknown, info: ListenerErrorInfo) => void;

const defaultListenerErrorHandler: ListenerErrorHandler = (error, info) => {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  emitWarning(`a listener of "${info.event}" threw: ${detail}`, 'WEIR_LISTENER_ERROR');
};

let listenerErrorHandler: ListenerErrorHandler = defaultListenerErrorHandler;

/**
 * Sets where errors thrown by event listeners go (process-wide); returns the previous handler. Pass
 * `undefined` to restore the default, which calls `process.emitWarning` with code `WEIR_LISTENER_ERROR`.
 * A handler that throws is ignored.
 */
export function setListenerErrorHandler(handler: ListenerErrorHandler | undefined): ListenerErrorHandler {
  if (handler !== undefined && typeof handler !== 'function') {
    throw new TypeError(`setListenerErrorHandler: handler must be a function, got ${typeof handler}`);
  }
  const previous = listenerErrorHandler;
  listenerErrorHandler = handler ?? defaultListenerErrorHandler;
  return previous;
}

function reportListenerError(error: unknown, event: string): void {
  try {
    listenerErrorHandler(error, { event });
  } catch {
    // A broken handler must not break the call either.
  }
}

function reportRejection(this: string, error: unknown): void {
  reportListenerError(error, this);
}

const NO_CHANNELS: readonly PublishChannel[] = [];
/** A probe's channel before `attach`, or where the runtime has no diagnostics channel: nobody listens. */
const NO_CHANNEL: PublishChannel = Object.freeze({ hasSubscribers: false, publish() {} });

/** Receives the weight of each tallied emit whose weight is not 0 (e.g. a queue wait, for a histogram). */
export type TallySampler = (weight: number) => void;

/**
 * One event of one policy: its listeners, its frozen info and its diagnostics channel, held directly so a
 * hot path asks `probe.active` and sends with `probe.emit(payload)` in a few field reads, with no lookup
 * by event name. The emitter keeps one per event and keeps it up to date (`on`, unsubscribe, `attach`).
 */
export class EventProbe<T = any> {
  /** The event's listeners, or undefined when none. Replaced, never mutated: an emit in progress is unaffected by on/off. */
  list: readonly Listener<T>[] | undefined = undefined;
  /** Which policy sends the event (set by the emitter's `attach`). */
  info: EventInfo;
  /** The event's diagnostics channel, once the emitter is attached (where the runtime has one). */
  channel: PublishChannel = NO_CHANNEL;

  /** The policy calls {@link tally} for this event (declared when it takes the probe). */
  tallied = false;
  /** Tallies subscribed ({@link Emitter.tally}): while not 0, the policy calls {@link tally} at each emit. */
  tallying = 0;
  /** Emits tallied so far, and the sum of their weights (what the event carries that a tally sums). */
  count = 0;
  sum = 0;
  /** The tallies' samplers, or undefined when none. Replaced, never mutated. */
  samplers: readonly TallySampler[] | undefined = undefined;

  constructor(event: string) {
    this.info = Object.freeze({ policy: '', family: '', event });
  }

  /**
   * Counts one emit of weight `weight` (0 on the common path: a first attempt, no wait) for the tallies;
   * call it only while `tallying !== 0`. Independent of listeners: a policy calls it and `emit`, each when due.
   */
  tally(weight: number): void {
    this.count++;
    if (weight !== 0) this.weigh(weight);
  }

  private weigh(weight: number): void {
    this.sum += weight;
    const samplers = this.samplers;
    if (samplers === undefined) return;
    for (let i = 0; i < samplers.length; i++) {
      try {
        (samplers[i] as TallySampler)(weight);
      } catch (error) {
        reportListenerError(error, this.info.event);
      }
    }
  }

  /**
   * A listener is subscribed, or the diagnostics channel has a subscriber. Kept within V8's size for small
   * functions (27 bytecode bytes with what it inlines), which are inlined whatever the caller's budget.
   */
  get active(): boolean {
    return this.list !== undefined || this.channel.hasSubscribers;
  }

  /** Sends `payload` to the listeners, then to the channel's subscribers. Build the payload only when `active`. */
  emit(payload: T): void {
    // Kept small, with the rare paths out of line, so that it inlines into the policies' hot paths.
    const list = this.list;
    if (list !== undefined) {
      const info = this.info;
      for (let i = 0; i < list.length; i++) {
        let result: unknown;
        try {
          result = (list[i] as Listener<T>)(payload, info);
        } catch (error) {
          reportListenerError(error, info.event);
          continue;
        }
        if (result !== undefined) watchResult(result, info.event);
      }
    }
    const channel = this.channel;
    if (channel.hasSubscribers) publish(channel, this.info, payload);
  }
}

/** A listener returned something: if it is a promise, its rejection is reported, never left unhandled. */
function watchResult(result: unknown, event: string): void {
  if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
    Promise.resolve(result).then(undefined, reportRejection.bind(event));
  }
}

function publish(channel: PublishChannel, info: EventInfo, payload: unknown): void {
  // A subscriber that throws is diagnostics_channel's to report (Node: an uncaught exception on the next
  // tick); the call that emitted goes on unchanged.
  channel.publish({ policy: info.policy, family: info.family, event: info.event, payload } satisfies ChannelMessage);
}

/**
 * One instrumentation's count of one event, read at any time: the emits (and the sum of their weights)
 * since it was taken. Cheaper than a listener on a hot event: the policy builds no payload and calls no
 * function, it adds to two numbers. `stop()` ends it (the policy stops tallying when no tally is left).
 */
export class EventTally {
  /** The probe's count and sum when taken, and when stopped (until then, undefined: read live). */
  private readonly count0: number;
  private readonly sum0: number;
  private finalCount: number | undefined = undefined;
  private finalSum = 0;

  constructor(
    private readonly probe: EventProbe,
    private readonly sampler: TallySampler | undefined,
  ) {
    this.count0 = probe.count;
    this.sum0 = probe.sum;
    probe.tallying++;
    if (sampler !== undefined) probe.samplers = [...(probe.samplers ?? []), sampler];
  }

  /** Emits since this tally was taken (until it was stopped). */
  get count(): number {
    return this.finalCount ?? this.probe.count - this.count0;
  }

  /** The sum of their weights. */
  get sum(): number {
    return this.finalCount === undefined ? this.probe.sum - this.sum0 : this.finalSum;
  }

  stop(): void {
    if (this.finalCount !== undefined) return;
    const probe = this.probe;
    this.finalSum = this.sum;
    this.finalCount = this.count;
    probe.tallying--;
    const samplers = probe.samplers;
    if (this.sampler === undefined || samplers === undefined) return;
    const index = samplers.indexOf(this.sampler);
    if (index >= 0) probe.samplers = samplers.length === 1 ? undefined : samplers.filter((_, i) => i !== index);
  }
}

export class Emitter<E extends EventMap> {
  /** One probe per event, made with the emitter (a Map: event names are any strings a custom policy picks). */
  private readonly probes = new Map<string, EventProbe>();
  /** Subscribed listeners in all: with none (the usual case) `has` reads one field and scans the channels. */
  private count = 0;
  /** Every event's diagnostics channel (set by {@link attach} where `diagnostics_channel` exists). */
  private channelList: readonly PublishChannel[] = NO_CHANNELS;

  constructor(private readonly names: ReadonlySet<string>) {
    for (const event of names) this.probes.set(event, new EventProbe(event));
  }

  /**
   * Names the policy this emitter belongs to (its events then carry `policy` and `family`) and opens one
   * diagnostics channel per event. Called once, by the policy factory.
   */
  attach(family: string, policy: string): void {
    const channels = eventChannels(family, this.names);
    for (const [event, probe] of this.probes) {
      probe.info = Object.freeze({ policy, family, event });
      probe.channel = channels?.[event] ?? NO_CHANNEL;
    }
    this.channelList = channels === undefined ? NO_CHANNELS : Object.values(channels);
  }

  /**
   * The probe of `event` (one per event): `probe.active` answers `has(event)`, `probe.emit` sends it.
   * `tallied`: the policy also calls `probe.tally(weight)` while `probe.tallying !== 0`, so the event can be
   * {@link tally}ed.
   */
  probe<K extends keyof E & string>(event: K, tallied = false): EventProbe<E[K]> {
    const probe = this.probes.get(event);
    if (probe === undefined) throw this.unknown(event);
    if (tallied) probe.tallied = true;
    return probe;
  }

  /**
   * Counts `event` without a listener (see {@link EventTally}); `sampler` gets each non-zero weight. Only
   * for an event the policy tallies (a TypeError otherwise, naming those it does).
   */
  tally<K extends keyof E & string>(event: K, sampler?: TallySampler): EventTally {
    const probe = this.probes.get(event);
    if (probe === undefined) throw this.unknown(event);
    if (!probe.tallied) {
      const tallied = [...this.probes.values()].filter((each) => each.tallied).map((each) => each.info.event);
      throw new TypeError(`event "${event}" is not tallied; tallied events: ${tallied.join(', ') || 'none'}`);
    }
    if (sampler !== undefined && typeof sampler !== 'function') {
      throw new TypeError(`sampler for "${event}" must be a function, got ${typeof sampler}`);
    }
    return new EventTally(probe, sampler);
  }

  has<K extends keyof E>(event: K): boolean {
    if (this.count !== 0 && this.probes.get(event as string)?.list !== undefined) return true;
    // The usual case is no subscriber on any of this policy's channels: a scan of a small array of
    // same-shaped channel objects answers it without a lookup by name.
    const all = this.channelList;
    for (let i = 0; i < all.length; i++) {
      if ((all[i] as PublishChannel).hasSubscribers) return this.probes.get(event as string)?.channel.hasSubscribers === true;
    }
    return false;
  }

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): () => void {
    const probe = this.probes.get(event) as EventProbe<E[K]> | undefined;
    if (probe === undefined) throw this.unknown(event);
    if (typeof listener !== 'function') throw new TypeError(`listener for "${event}" must be a function, got ${typeof listener}`);
    const current = probe.list;
    probe.list = current === undefined ? [listener] : [...current, listener];
    this.count++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = probe.list;
      if (list === undefined) return;
      const index = list.indexOf(listener);
      if (index < 0) return;
      this.count--;
      probe.list = list.length === 1 ? undefined : list.filter((_, i) => i !== index);
    };
  }

  private unknown(event: unknown): TypeError {
    return new TypeError(`unknown event "${String(event)}"; known events: ${[...this.names].join(', ') || 'none'}`);
  }

  /** Sends `payload` (a no-op for an unknown event). Hot paths keep the event's {@link probe} instead. */
  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    this.probes.get(event)?.emit(payload);
  }
}

// --- diagnostics_channel ----------------------------------------------------------------------------------

/** `stateChange` -> `state-change`. */
export function kebab(event: string): string {
  return event.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The channel name of a family's event: `weir:<family>:<event in kebab-case>`. */
export function channelName(family: string, event: string): string {
  return `weir:${family}:${kebab(event)}`;
}

function eventChannels(family: string, names: ReadonlySet<string>): Record<string, PublishChannel> | undefined {
  const channels: Record<string, PublishChannel> = {};
  for (const event of names) {
    const channel = diagnosticsChannel(channelName(family, event));
    if (channel === undefined) return undefined;
    channels[event] = channel;
  }
  return channels;
}
