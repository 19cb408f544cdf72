/**
 * Typed, synchronous events. Emitting costs one property read when nobody listens: policies check
 * `emitter.has(name)` (or call `emit`, which returns at once) before building an event object.
 *
 * A listener that throws never changes the outcome of the call that emitted the event and never makes a
 * policy run anything again: the error goes to the listener-error handler ({@link setListenerErrorHandler}),
 * which by default emits a process warning.
 */
import { emitWarning } from './runtime.js';

export type Listener<T> = (event: T) => void;
export type EventMap = Record<string, any>;

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

export class Emitter<E extends EventMap> {
  // Listener arrays are replaced, never mutated, so an emit in progress is unaffected by on/off.
  private readonly lists: { [K in keyof E]?: readonly Listener<E[K]>[] } = {};
  /** Subscribed listeners in all: with none (the usual case) `has` and `emit` cost one field read. */
  private count = 0;

  constructor(private readonly names: ReadonlySet<string>) {}

  has<K extends keyof E>(event: K): boolean {
    return this.count !== 0 && this.lists[event] !== undefined;
  }

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): () => void {
    if (!this.names.has(event)) {
      throw new TypeError(`unknown event "${String(event)}"; known events: ${[...this.names].join(', ') || 'none'}`);
    }
    if (typeof listener !== 'function') throw new TypeError(`listener for "${event}" must be a function, got ${typeof listener}`);
    const current = this.lists[event];
    this.lists[event] = current === undefined ? [listener] : [...current, listener];
    this.count++;
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
    };
  }

  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    if (this.count === 0) return;
    const list = this.lists[event];
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as Listener<E[K]>)(payload);
      } catch (error) {
        reportListenerError(error, event);
      }
    }
  }
}
