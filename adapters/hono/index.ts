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

export * from '../http/public.js';

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
   * (`c.json(..., 429)`, or any Response). `Retry-After` and the rate-limit fields are set on it.
   */
  onLimited?: (c: Context<E>, info: LimitedInfo) => Response | Promise<Response>;
}

const WHERE = 'weir/hono rateLimit';
const PROBLEM_JSON = { 'Content-Type': 'application/problem+json' };

function problemResponse(c: Context, problem: ProblemDetails): Response {
  return c.body(JSON.stringify(problem), problem.status as 429, PROBLEM_JSON);
}

/**
 * What weir keeps on a request's context, shared by all its limits: the fields set (read back by the next
 * limit, and restored after the handler), and the `countOnly` callbacks of the limits that just ran.
 */
const kFields = Symbol('weir.hono.fields');
const kFinishers = Symbol('weir.hono.finishers');
type Finisher = (statusCode: number) => void;
interface Kept {
  [kFields]?: Record<string, string>;
  [kFinishers]?: Finisher[] | undefined;
}

/**
 * One request through a rate-limit middleware: its outcome, and after the rest of the chain, the fields
 * restored (Hono merges what `c.header` set into a response made with `c.text`/`c.json`/`c.body`, not into a
 * plain `new Response(...)`) and the status reported to this middleware's `countOnly` limits.
 */
class LimitStep extends Outcome<unknown, Next> {
  private finishers: Finisher[] | undefined = undefined;

  constructor(
    readonly c: Context,
    next: Next,
  ) {
    super(next);
  }

  /** Runs the rest of the chain; then restores the fields and reports the status to `whenDone` callers. */
  proceed(): Promise<void> {
    const c = this.c as Context & Kept;
    // The callbacks registered by this middleware's limits (the next middleware has not started yet).
    this.finishers = c[kFinishers];
    c[kFinishers] = undefined;
    const rest = this.next();
    return this.finishers === undefined && c[kFields] === undefined ? rest : this.after(rest);
  }

  private report(statusCode: number): void {
    const finishers = this.finishers;
    if (finishers !== undefined) for (const done of finishers) done(statusCode);
  }

  /** Awaits the rest of the chain, then restores the fields and reports the status (no closure per request). */
  private async after(rest: Promise<void>): Promise<void> {
    try {
      await rest;
    } catch (error) {
      this.report(500);
      throw error;
    }
    const c = this.c;
    const fields = (c as Kept)[kFields];
    if (fields !== undefined) {
      const headers = c.res.headers;
      for (const name in fields) if (!headers.has(name)) c.header(name, fields[name]);
    }
    this.report(c.res.status);
  }
}

/** A refusal's Response with weir's fields (a plain `new Response(...)` does not get Hono's merge). */
function withFields(c: Context, response: Response): Response {
  const fields = (c as Kept)[kFields];
  if (fields === undefined || !(response instanceof Response)) return response;
  for (const name in fields) if (!response.headers.has(name)) response.headers.set(name, fields[name] as string);
  return response;
}

// The response is the context: the fields and the markers of the shared header logic live on it, so that
// every limit of the request (app-wide and per route) sees what the others wrote.
class HonoHost implements Host<Context, Context, LimitStep> {
  constructor(
    private readonly getConnInfo: GetConnInfo | undefined,
    private readonly onLimited: RateLimitOptions['onLimited'],
  ) {}
  clientAddress(c: Context): string | undefined {
    // Only reached without a key function, so getConnInfo was given (checked at construction).
    return (this.getConnInfo as GetConnInfo)(c).remote.address;
  }
  whenDone(c: Context, done: Finisher): void {
    const kept = c as Context & Kept;
    const finishers = kept[kFinishers];
    if (finishers === undefined) kept[kFinishers] = [done];
    else finishers.push(done);
  }
  headersSent(): boolean {
    // A Hono response is the value the chain returns: nothing is sent while this middleware runs.
    return false;
  }
  getHeader(c: Context, name: string): unknown {
    return (c as Kept)[kFields]?.[name];
  }
  setHeader(c: Context, name: string, value: string): void {
    const kept = c as Context & Kept;
    c.header(name, value);
    const fields = kept[kFields];
    if (fields === undefined) kept[kFields] = { [name]: value };
    else fields[name] = value;
  }
  pass(_c: Context, _res: Context, step: LimitStep): void {
    step.done(step.proceed());
  }
  fail(_c: Context, _res: Context, step: LimitStep, error: unknown): void {
    step.fail(error);
  }
  limited(c: Context, _res: Context, step: LimitStep, info: LimitedInfo): void {
    if (this.onLimited === undefined) {
      step.done(problemResponse(c, info.problem));
      return;
    }
    const answer = this.onLimited(c, info);
    step.done(answer instanceof Promise ? answer.then((response) => withFields(c, response)) : withFields(c, answer));
  }
  sendProblem(c: Context, _res: Context, step: LimitStep, problem: ProblemDetails): void {
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
  const chain = new LimitChain<Context, Context, LimitStep>([limit], new HonoHost(getConnInfo, onLimited), settings, WHERE);
  const middleware = (c: Context, next: Next) => {
    const step = new LimitStep(c, next);
    chain.run(c, c, step);
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
