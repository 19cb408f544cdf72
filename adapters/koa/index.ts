/**
 * weir/koa: rate limiting and load shedding middleware for Koa 2 and 3, on the same core as weir/express
 * (options, header fields, 429/503 problem details, store failures, IP keys).
 *
 *     import { tokenBucket, bulkhead } from 'weir';
 *     import { rateLimit, loadShedding } from 'weir/koa';
 *     app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 200 }) }));
 *     app.use(rateLimit({ limiter: tokenBucket({ capacity: 100, refillPerSecond: 10 }) }));
 *
 * The default key is `ctx.ip`, which follows Koa's own proxy setting (`app.proxy`, `proxyIpHeader`,
 * `maxIpsCount`); weir never reads `X-Forwarded-For` itself. Programming errors (a throwing key function)
 * are thrown into Koa's error handling. With a store that answers synchronously, an allowed request costs
 * no promise of weir's: the middleware returns `next()` itself. See docs/koa.md.
 */
import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import { limitOptionsOf, Outcome } from '../hono/outcome.js';
import { lowerCaseField, type ProblemDetails } from '../http/headers.js';
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

export * from '../http/public.js';

/** The part of a Koa context weir uses. */
export interface KoaContextLike {
  /** The client address after Koa's proxy rules (`app.proxy`). */
  readonly ip: string;
  readonly res: ServerResponse;
  status: number;
  type: string;
  body: unknown;
}

/** A Koa middleware. */
export type KoaMiddleware<Ctx> = (ctx: Ctx, next: Next) => unknown;

export interface RateLimitOptions<Ctx extends KoaContextLike = Context> extends LimitOptions<Ctx>, ResponseOptions<Ctx> {
  /**
   * Answers a refused request instead of the default 429 problem-details JSON (set `ctx.status` and
   * `ctx.body`; it may return a promise). `Retry-After` and the rate-limit fields are already set; the
   * rest of the middleware chain does not run.
   */
  onLimited?: (ctx: Ctx, info: LimitedInfo) => unknown;
}

const WHERE = 'weir/koa rateLimit';

/** Koa runs the rest of the chain through `next`, kept beside the outcome. */
type KoaStep = Outcome<unknown, Next>;

function sendProblem(ctx: KoaContextLike, problem: ProblemDetails): void {
  ctx.status = problem.status;
  // The type first: Koa sets text/plain for a string body when no type is set.
  ctx.type = 'application/problem+json';
  ctx.body = JSON.stringify(problem);
}

class KoaHost<Ctx extends KoaContextLike> implements Host<Ctx, Ctx, KoaStep> {
  constructor(private readonly onLimited: RateLimitOptions<Ctx>['onLimited']) {}
  clientAddress(ctx: Ctx): string | undefined {
    return ctx.ip;
  }
  route(ctx: Ctx): string | undefined {
    // @koa/router sets the matched pattern (route-level middleware); the app-level middleware runs before it.
    const pattern = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    return typeof pattern === 'string' ? pattern : undefined;
  }
  whenDone(ctx: Ctx, done: (statusCode: number) => void): void {
    const res = ctx.res;
    res.once('close', () => done(res.statusCode));
  }
  headersSent(ctx: Ctx): boolean {
    return ctx.res.headersSent;
  }
  getHeader(ctx: Ctx, name: string): unknown {
    // Read and written by the lower-case name: Node lower-cases a name to store it, and one that is lower
    // case already costs no new string (HTTP field names are case-insensitive; HTTP/2 sends them so).
    return ctx.res.getHeader(lowerCaseField(name));
  }
  setHeader(ctx: Ctx, name: string, value: string): void {
    ctx.res.setHeader(lowerCaseField(name), value);
  }
  pass(_ctx: Ctx, _res: Ctx, step: KoaStep): void {
    step.done(step.next());
  }
  fail(_ctx: Ctx, _res: Ctx, step: KoaStep, error: unknown): void {
    step.fail(error);
  }
  limited(ctx: Ctx, _res: Ctx, step: KoaStep, info: LimitedInfo): void {
    if (this.onLimited === undefined) {
      sendProblem(ctx, info.problem);
      step.done(undefined);
      return;
    }
    step.done(this.onLimited(ctx, info));
  }
  sendProblem(ctx: Ctx, _res: Ctx, step: KoaStep, problem: ProblemDetails): void {
    sendProblem(ctx, problem);
    step.done(undefined);
  }
}

/**
 * Rate-limits requests with one limiter. Stack several (on the app, and on a router's routes) to apply
 * several limits: each appends its member to the `RateLimit` and `RateLimit-Policy` lists.
 */
export function rateLimit<Ctx extends KoaContextLike = Context>(options: RateLimitOptions<Ctx>): KoaMiddleware<Ctx> {
  checkKnown(WHERE, options, [...LIMIT_OPTIONS, ...RESPONSE_OPTIONS, 'onLimited']);
  const settings: ChainSettings<Ctx> = checkResponseOptions(WHERE, responseOptionsOf(options));
  const onLimited = optionalFunction<RateLimitOptions<Ctx>['onLimited']>(WHERE, 'onLimited', options.onLimited);
  const limitOptions = limitOptionsOf(options);
  const limit = new CompiledLimit<Ctx>(WHERE, limitOptions, settings.style);
  const chain = new LimitChain<Ctx, Ctx, KoaStep>([limit], new KoaHost(onLimited), settings, WHERE);
  return function weirRateLimit(ctx, next) {
    const step = new Outcome<unknown, Next>(next);
    chain.run(ctx, ctx, step);
    return step.settle();
  };
}

const shedHost: ShedHost<KoaContextLike, KoaContextLike, KoaStep> = {
  raw: (ctx) => ctx.res,
  setHeader: (ctx, name, value) => ctx.res.setHeader(lowerCaseField(name), value),
  pass: (_ctx, _res, step) => step.done(step.next()),
  fail: (_ctx, _res, step, error) => step.fail(error),
  sendProblem: (ctx, _res, step, problem) => {
    sendProblem(ctx, problem);
    step.done(undefined);
  },
};

/**
 * Load shedding: each request holds a slot of `bulkhead` until its response ends (or its connection
 * closes); when none is free (and the bulkhead's queue, if any, is full or its wait runs out) the request
 * gets 503 with `Retry-After`. Put it first, before body parsing and rate limiting.
 */
export function loadShedding<Ctx extends KoaContextLike = Context>(options: LoadSheddingOptions): KoaMiddleware<Ctx> {
  const shedder = new Shedder<KoaContextLike, KoaContextLike, KoaStep>('weir/koa loadShedding', options, shedHost);
  return function weirLoadShedding(ctx, next) {
    const step = new Outcome<unknown, Next>(next);
    shedder.run(ctx, ctx, step);
    return step.settle();
  };
}
