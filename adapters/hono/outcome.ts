/**
 * The `next` that the shared limit chain and shedder (adapters/http) get from the promise-based frameworks
 * (Koa, Hono, NestJS): they answer with a return value or a promise instead of calling back.
 *
 * The chain calls exactly one of `done`/`fail`, synchronously when the store answered synchronously (the
 * memory store), else later. {@link Outcome.settle} is called right after the chain's `run`: an outcome
 * already known is returned (or thrown) as it is, so the fast path makes no promise; only a pending one
 * makes a promise, which the later `done`/`fail` settles. Free of runtime-specific APIs (Hono runs it on
 * Bun, Deno and workerd).
 */
import { LIMIT_OPTIONS, type LimitOptions } from '../http/limit.js';

const RUNNING = 0;
const DONE = 1;
const FAILED = 2;

export class Outcome<T, Next = undefined> {
  private state: 0 | 1 | 2 = RUNNING;
  private value: T | Promise<T> | undefined = undefined;
  private error: unknown = undefined;
  private resolve: ((value: T | Promise<T>) => void) | undefined = undefined;
  private reject: ((error: unknown) => void) | undefined = undefined;

  /** The framework's `next` (Koa, Hono), for a host that passes the request on. */
  constructor(readonly next: Next) {}

  /** The middleware's result: `value` (a promise of the rest of the chain, a response, true). */
  done(value: T | Promise<T>): void {
    if (this.state !== RUNNING) return;
    this.state = DONE;
    if (this.resolve !== undefined) this.resolve(value);
    else this.value = value;
  }

  /** The middleware fails with `error` (the framework's error handling answers). */
  fail(error: unknown): void {
    if (this.state !== RUNNING) return;
    this.state = FAILED;
    if (this.reject !== undefined) this.reject(error);
    else this.error = error;
  }

  /** After `run`: the value when known, a thrown error when failed, else a promise of what comes later. */
  settle(): T | Promise<T> {
    if (this.state === DONE) return this.value as T | Promise<T>;
    if (this.state === FAILED) throw this.error;
    return new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** The limit options among an adapter's options (the same object shape as `LimitOptions`, without the rest). */
export function limitOptionsOf<Req>(options: LimitOptions<Req>): LimitOptions<Req> {
  const picked = { limiter: options.limiter } as LimitOptions<Req>;
  for (const name of LIMIT_OPTIONS) {
    if (options[name] !== undefined) (picked as unknown as Record<string, unknown>)[name] = options[name];
  }
  return picked;
}
