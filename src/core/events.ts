/**
 * Typed, synchronous events. Emitting costs one property read when nobody listens: policies check
 * `emitter.has(name)` (or call `emit`, which returns at once) before building an event object.
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

const UNNAMED: EventInfo = Object.freeze({ policy: '', family: '', event: '' });

/**
 * Whether one event is listened to now (a listener or a diagnostics channel subscriber), for a hot path
 * that keeps it instead of calling `has` with a name: one field and one channel read, no scan.
 */
export class EventProbe {
  /** A listener is subscribed to the event (kept up to date by `on` and its unsubscribe). */
  listened = false;
  /** The event's diagnostics channel, once the emitter is attached. */
  channel: PublishChannel | undefined = undefined;

  get active(): boolean {
    return this.listened || this.channel?.hasSubscribers === true;
  }
}

export class Emitter<E extends EventMap> {
  // Listener arrays are replaced, never mutated, so an emit in progress is unaffected by on/off.
  private readonly lists: { [K in keyof E]?: readonly Listener<E[K]>[] } = {};
  /** Subscribed listeners in all: with none (the usual case) `has` and `emit` cost one field read. */
  private count = 0;
  /** Per event, its info object (set by {@link attach}). */
  private infos: Record<string, EventInfo> | undefined = undefined;
  /** Per event, its diagnostics channel (set by {@link attach} where `diagnostics_channel` exists). */
  private channels: Record<string, PublishChannel> | undefined = undefined;
  /** The same channels, as an array. */
  private channelList: readonly PublishChannel[] = NO_CHANNELS;
  /** Per event, its probe, if one was asked for. */
  private probes: Record<string, EventProbe> | undefined = undefined;

  constructor(private readonly names: ReadonlySet<string>) {}

  /**
   * Names the policy this emitter belongs to (its events then carry `policy` and `family`) and opens one
   * diagnostics channel per event. Called once, by the policy factory.
   */
  attach(family: string, policy: string): void {
    const infos: Record<string, EventInfo> = {};
    for (const event of this.names) infos[event] = Object.freeze({ policy, family, event });
    this.infos = infos;
    this.channels = eventChannels(family, this.names);
    this.channelList = this.channels === undefined ? NO_CHANNELS : Object.values(this.channels);
    if (this.probes !== undefined)
      for (const event in this.probes) (this.probes[event] as EventProbe).channel = this.channels?.[event];
  }

  /** The probe of `event` (one per event): `probe.active` answers `has(event)`. */
  probe<K extends keyof E & string>(event: K): EventProbe {
    const probes = (this.probes ??= {});
    let probe = probes[event];
    if (probe === undefined) {
      probe = probes[event] = new EventProbe();
      probe.listened = this.lists[event] !== undefined;
      probe.channel = this.channels?.[event];
    }
    return probe;
  }

  has<K extends keyof E>(event: K): boolean {
    if (this.count !== 0 && this.lists[event] !== undefined) return true;
    // The usual case is no subscriber on any of this policy's channels: a scan of a small array of
    // same-shaped channel objects answers it, where a lookup by event name would not be monomorphic.
    const all = this.channelList;
    for (let i = 0; i < all.length; i++) {
      if ((all[i] as PublishChannel).hasSubscribers)
        return (this.channels as Record<string, PublishChannel>)[event as string]?.hasSubscribers === true;
    }
    return false;
  }

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): () => void {
    if (!this.names.has(event)) {
      throw new TypeError(`unknown event "${String(event)}"; known events: ${[...this.names].join(', ') || 'none'}`);
    }
    if (typeof listener !== 'function') throw new TypeError(`listener for "${event}" must be a function, got ${typeof listener}`);
    const current = this.lists[event];
    this.lists[event] = current === undefined ? [listener] : [...current, listener];
    this.count++;
    const probe = this.probes?.[event];
    if (probe !== undefined) probe.listened = true;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = this.lists[event];
      if (list === undefined) return;
      const index = list.indexOf(listener);
      if (index < 0) return;
      this.count--;
      const next = list.filter((_, i) => i !== index);
      if (next.length === 0) delete this.lists[event];
      else this.lists[event] = next;
      const probe = this.probes?.[event];
      if (probe !== undefined) probe.listened = next.length !== 0;
    };
  }

  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    const list = this.count === 0 ? undefined : this.lists[event];
    if (list !== undefined) {
      const info = this.infos?.[event] ?? UNNAMED;
      for (let i = 0; i < list.length; i++) {
        try {
          const result = (list[i] as Listener<E[K]>)(payload, info);
          if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
            Promise.resolve(result).then(undefined, reportRejection.bind(event));
          }
        } catch (error) {
          reportListenerError(error, event);
        }
      }
    }
    const channel = this.channels?.[event];
    if (channel?.hasSubscribers === true) {
      const info = (this.infos as Record<string, EventInfo>)[event] as EventInfo;
      // A subscriber that throws is diagnostics_channel's to report (Node: an uncaught exception on the
      // next tick); the call that emitted goes on unchanged.
      channel.publish({ policy: info.policy, family: info.family, event, payload } satisfies ChannelMessage<E[K]>);
    }
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
