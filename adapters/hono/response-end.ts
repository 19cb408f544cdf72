/**
 * The end of a Hono response, in the shape the shared shedder (adapters/http/shed.ts) watches on a Node
 * response: a 'close' event, once, after the response is finished (`writableFinished`, with its
 * `statusCode`) or alone when the client went away (`destroyed`). Hono gives no response object that
 * lives until the bytes are sent, so "finished" is when the rest of the middleware chain has produced the
 * response, and "went away" is the request's `signal` aborting (Node's server adapter, Bun and Deno abort
 * it on a disconnect). Portable: no Node API.
 */
import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'hono';
import { Outcome } from './outcome.js';

/** Called with the response end as `this`, as a Node response calls its listeners. */
type Listener = (this: ResponseEnd) => void;

export class ResponseEnd extends Outcome<unknown, Next> {
  closed = false;
  destroyed = false;
  writableFinished = false;
  statusCode = 0;
  private listeners: Listener[] | undefined = undefined;
  private signal: AbortSignal | undefined = undefined;

  constructor(
    readonly c: Context,
    next: Next,
  ) {
    super(next);
  }

  /** The shedder's view of this response (it uses only the members above and `on`/`once`/`off`). */
  asResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }

  /** 'close' happens once: `on` and `once` are the same. */
  on(event: 'close', listener: Listener): this {
    return this.once(event, listener);
  }

  once(_event: 'close', listener: Listener): this {
    if (this.listeners === undefined) this.listeners = [listener];
    else this.listeners.push(listener);
    if (this.signal === undefined) {
      const signal = this.c.req.raw.signal;
      if (signal !== undefined && signal !== null) {
        this.signal = signal;
        if (signal.aborted) queueMicrotask(() => this.handleEvent());
        else signal.addEventListener('abort', this);
      }
    }
    return this;
  }

  off(_event: 'close', listener: Listener): this {
    const listeners = this.listeners;
    const at = listeners === undefined ? -1 : listeners.indexOf(listener);
    if (at >= 0) (listeners as Listener[]).splice(at, 1);
    return this;
  }

  /** Runs the rest of the chain; the response ends when it has produced the response. */
  async proceed(): Promise<void> {
    try {
      await this.next();
    } catch (error) {
      this.finish(500);
      throw error;
    }
    this.finish(this.c.res.status);
  }

  /** The request's signal aborted: the client went away (this object is the signal's listener). */
  handleEvent(): void {
    if (this.closed) return;
    this.destroyed = true;
    this.close();
  }

  private finish(statusCode: number): void {
    if (this.closed) return;
    this.statusCode = statusCode;
    this.writableFinished = true;
    this.close();
  }

  private close(): void {
    this.closed = true;
    this.signal?.removeEventListener('abort', this);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener.call(this);
  }
}
