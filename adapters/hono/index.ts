/**
 * weir/hono: rate limiting and load shedding middleware for Hono 4, on the same core as weir/express
 * (options, header fields, 429/503 problem details, store failures, IP keys). It uses no runtime-specific
 * API, so one app runs on Node (@hono/node-server), Bun, Deno and Cloudflare Workers.
 *
 *     import { getConnInfo } from '@hono/node-server/conninfo'; // or 'hono/bun', 'hono/deno', 'hono/cloudflare-workers'
 *     app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 200 }) }));
 *     app.use(rateLimit({ limiter: tokenBucket({ capacity: 100, refillPerSecond: 10 }), getConnInfo }));
 *
 * Hono has no portable client address: the default key is the address that the runtime adapter's
 * `getConnInfo` reports (the TCP peer; on Cloudflare the `cf-connecting-ip` that Cloudflare sets). Give
 * either `getConnInfo` or your own `key`; weir never reads `X-Forwarded-For` itself. See docs/hono.md.
 */
import type { Context, Env, MiddlewareHandler, Next } from 'hono';
import type { ConnInfo } from 'hono/conninfo';
import type { ProblemDetails } from '../http/headers.js';
import {
  type ChainSettings,
  CompiledLimit,
  checkKnown,
  checkResponseOptions,
  type Host,
  LIMIT_OPTIONS,
  LimitChain,
  type LimitedInfo,
  type LimitOptions,
  optionalFunction,
  RESPONSE_OPTIONS,
  type ResponseOptions,
  responseOptionsOf,
} from '../http/limit.js';
import { type LoadSheddingOptions, Shedder, type ShedHost } from '../http/shed.js';
import { limitOptionsOf, Outcome } from './outcome.js';
import { ResponseEnd } from './response-end.js';

export type { HeaderStyle, ProblemDetails } from '../http/headers.js';
export { ipKey, UNKNOWN_CLIENT } from '../http/ip.js';
export type { LimitedInfo, LimitOptions, ResponseOptions, StoreErrorInfo, StoreFailureAction } from '../http/limit.js';
export type { LoadSheddingOptions } from '../http/shed.js';

// Hono's own default for an app's Env.
type AnyEnv = any;

/** A runtime adapter's `getConnInfo` (`@hono/node-server/conninfo`, `hono/bun`, `hono/deno`, ...). */
export type GetConnInfo<E extends Env = AnyEnv> = (c: Context<E>) => ConnInfo;

export interface RateLimitOptions<E extends Env = AnyEnv> extends LimitOptions<Context<E>>, ResponseOptions<Context<E>> {
  /**
   * Where the default key gets the client address: your runtime adapter's `getConnInfo`. Required unless
   * you give `key`. Behind a proxy, key on what the proxy sets (see docs/hono.md).
   */
  getConnInfo?: GetConnInfo<E>;
  /**
   * Answers a refused request instead of the default 429 problem-details JSON: return a Response
   * (`c.json(..., 429)`). `Retry-After` and the rate-limit fields are already set on `c.res`.
   */
  onLimited?: (c: Context<E>, info: LimitedInfo) => Response | Promise<Response>;
}

const WHERE = 'weir/hono rateLimit';
const PROBLEM_JSON = { 'Content-Type': 'application/problem+json' };

function problemResponse(c: Context, problem: ProblemDetails): Response {
  return c.body(JSON.stringify(problem), problem.status as 429, PROBLEM_JSON);
}

/**
 * One request through a rate limit: the outcome of the middleware, and the response's end for limits that
 * count only some responses (`countOnly`), reported once the rest of the chain has produced the response.
 */
class LimitStep extends Outcome<unknown, Next> {
  private finishers: ((statusCode: number) => void)[] | undefined = undefined;

  constructor(
    readonly c: Context,
    next: Next,
  ) {
    super(next);
  }

  whenDone(done: (statusCode: number) => void): void {
    if (this.finishers === undefined) this.finishers = [done];
    else this.finishers.push(done);
  }

  /** Runs the rest of the chain; reports its status to `whenDone` callers. */
  proceed(): Promise<void> {
    const rest = this.next();
    return this.finishers === undefined ? rest : rest.then(this.finished, this.failed);
  }

  private report(statusCode: number): void {
    for (const done of this.finishers as ((statusCode: number) => void)[]) done(statusCode);
  }

  private readonly finished = (): void => this.report(this.c.res.status);
  private readonly failed = (error: unknown): never => {
    this.report(500);
    throw error;
  };
}

class HonoHost implements Host<Context, LimitStep, LimitStep> {
  constructor(
    private readonly getConnInfo: GetConnInfo | undefined,
    private readonly onLimited: RateLimitOptions['onLimited'],
  ) {}
  clientAddress(c: Context): string | undefined {
    // Only reached without a key function, so getConnInfo was given (checked at construction).
    return (this.getConnInfo as GetConnInfo)(c).remote.address;
  }
  whenDone(step: LimitStep, done: (statusCode: number) => void): void {
    step.whenDone(done);
  }
  headersSent(): boolean {
    // A Hono response is the value the chain returns: nothing is sent while this middleware runs.
    return false;
  }
  // Through c.res, which Hono merges into the response the handler returns (also a plain `new Response`).
  getHeader(step: LimitStep, name: string): unknown {
    return step.c.res.headers.get(name);
  }
  setHeader(step: LimitStep, name: string, value: string): void {
    step.c.res.headers.set(name, value);
  }
  pass(_c: Context, step: LimitStep): void {
    step.done(step.proceed());
  }
  fail(_c: Context, step: LimitStep, _next: LimitStep, error: unknown): void {
    step.fail(error);
  }
  limited(c: Context, step: LimitStep, _next: LimitStep, info: LimitedInfo): void {
    step.done(this.onLimited === undefined ? problemResponse(c, info.problem) : this.onLimited(c, info));
  }
  sendProblem(c: Context, step: LimitStep, _next: LimitStep, problem: ProblemDetails): void {
    step.done(problemResponse(c, problem));
  }
}

/**
 * Rate-limits requests with one limiter. Stack several (on the app, and on routes) to apply several
 * limits: each appends its member to the `RateLimit` and `RateLimit-Policy` lists.
 */
export function rateLimit<E extends Env = AnyEnv>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  checkKnown(WHERE, options, [...LIMIT_OPTIONS, ...RESPONSE_OPTIONS, 'getConnInfo', 'onLimited']);
  const settings: ChainSettings<Context> = checkResponseOptions(WHERE, responseOptionsOf(options) as ResponseOptions<Context>);
  const onLimited = optionalFunction<RateLimitOptions['onLimited']>(WHERE, 'onLimited', options.onLimited);
  const getConnInfo = optionalFunction<GetConnInfo>(WHERE, 'getConnInfo', options.getConnInfo);
  if (getConnInfo === undefined && options.key === undefined) {
    throw new TypeError(
      `${WHERE}: give option "getConnInfo" (from your runtime's Hono adapter: '@hono/node-server/conninfo', 'hono/bun', 'hono/deno', 'hono/cloudflare-workers') or a "key" function; Hono itself knows no client address`,
    );
  }
  const limit = new CompiledLimit<Context>(WHERE, limitOptionsOf(options) as LimitOptions<Context>, settings.style);
  const chain = new LimitChain<Context, LimitStep, LimitStep>([limit], new HonoHost(getConnInfo, onLimited), settings, WHERE);
  const middleware = (c: Context, next: Next) => {
    const step = new LimitStep(c, next);
    chain.run(c, step, step);
    return step.settle();
  };
  return middleware as MiddlewareHandler<E>;
}

const shedHost: ShedHost<Context, ResponseEnd, ResponseEnd> = {
  raw: (end) => end.asResponse(),
  setHeader: (end, name, value) => end.c.header(name, value),
  pass: (_c, end) => end.done(end.proceed()),
  fail: (_c, end, _next, error) => end.fail(error),
  sendProblem: (c, end, _next, problem) => end.done(problemResponse(c, problem)),
};

/**
 * Load shedding: each request holds a slot of `bulkhead` until the rest of the chain has produced its
 * response (or the client disconnects, where the runtime aborts the request's signal); when none is free
 * (and the bulkhead's queue, if any, is full or its wait runs out) the request gets 503 with `Retry-After`.
 * A streamed body is still being sent when the slot is released. Put it first.
 */
export function loadShedding<E extends Env = AnyEnv>(options: LoadSheddingOptions): MiddlewareHandler<E> {
  const shedder = new Shedder<Context, ResponseEnd, ResponseEnd>('weir/hono loadShedding', options, shedHost);
  const middleware = (c: Context, next: Next) => {
    const end = new ResponseEnd(c, next);
    shedder.run(c, end, end);
    return end.settle();
  };
  return middleware as MiddlewareHandler<E>;
}
