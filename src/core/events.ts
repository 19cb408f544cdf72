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
  channel: PublishChannel | undefined = undefined;

  constructor(event: string) {
    this.info = Object.freeze({ policy: '', family: '', event });
  }

  /** A listener is subscribed, or the diagnostics channel has a subscriber. */
  get active(): boolean {
    return this.list !== undefined || this.channel?.hasSubscribers === true;
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
    if (channel?.hasSubscribers) publish(channel, this.info, payload);
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
      probe.channel = channels?.[event];
    }
    this.channelList = channels === undefined ? NO_CHANNELS : Object.values(channels);
  }

  /** The probe of `event` (one per event): `probe.active` answers `has(event)`, `probe.emit` sends it. */
  probe<K extends keyof E & string>(event: K): EventProbe<E[K]> {
    const probe = this.probes.get(event);
    if (probe === undefined) throw this.unknown(event);
    return probe;
  }

  has<K extends keyof E>(event: K): boolean {
    if (this.count !== 0 && this.probes.get(event as string)?.list !== undefined) return true;
    // The usual case is no subscriber on any of this policy's channels: a scan of a small array of
    // same-shaped channel objects answers it without a lookup by name.
    const all = this.channelList;
    for (let i = 0; i < all.length; i++) {
      if ((all[i] as PublishChannel).hasSubscribers) return this.probes.get(event as string)?.channel?.hasSubscribers === true;
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
