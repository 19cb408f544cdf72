/**
 * weir/express: rate limiting and load shedding middleware for Express 4 and 5.
 *
 *     import { tokenBucket } from 'weir';
 *     import { rateLimit, loadShedding } from 'weir/express';
 *     app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 200 }) }));
 *     app.use(rateLimit({ limiter: tokenBucket({ capacity: 100, refillPerSecond: 10 }) }));
 *
 * The middleware never returns a promise and never lets a store error escape as an unhandled rejection
 * (Express 4 would not catch it); programming errors go to `next(error)`. See docs/express.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/**
 * The part of an Express request weir's options see: `req.ip` (Express applies its `trust proxy` setting to
 * it) and what key functions commonly read.
 */
export interface ExpressRequestLike extends IncomingMessage {
  ip?: string | undefined;
  /** A request header (Express's `req.get`). */
  get(name: string): string | undefined;
  /** The path part of the URL. */
  path: string;
  /** The parsed body (set by a body parser such as `express.json()`, which must run before the limit). */
  body?: any;
  /** The matched route (set by Express's router, for route-level middleware). */
  route?: { path?: unknown } | undefined;
  baseUrl?: string | undefined;
}

/** Express's `next`. */
export type NextFunction = (error?: unknown) => void;

/** An Express middleware (assignable to Express 4's and 5's `RequestHandler`). */
export type Middleware<Req> = (req: Req, res: ServerResponse, next: NextFunction) => void;

export interface RateLimitOptions<Req extends ExpressRequestLike = ExpressRequestLike>
  extends LimitOptions<Req>,
    ResponseOptions<Req> {
  /**
   * Answers a refused request instead of the default 429 problem-details JSON. `Retry-After` and the
   * rate-limit fields are already set; it must send a response or call `next` (e.g. `next(error)`).
   */
  onLimited?: (req: Req, res: ServerResponse, next: NextFunction, info: LimitedInfo) => void;
}

const WHERE = 'weir/express rateLimit';

export function sendProblem(res: ServerResponse, problem: ProblemDetails): void {
  const body = JSON.stringify(problem);
  res.statusCode = problem.status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

class ExpressHost<Req extends ExpressRequestLike> implements Host<Req, ServerResponse, NextFunction> {
  constructor(private readonly onLimited: RateLimitOptions<Req>['onLimited']) {}
  clientAddress(req: Req): string | undefined {
    return req.ip;
  }
  route(req: Req): string | undefined {
    const path = req.route?.path;
    return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : undefined;
  }
  whenDone(res: ServerResponse, done: (statusCode: number) => void): void {
    res.once('close', () => done(res.statusCode));
  }
  headersSent(res: ServerResponse): boolean {
    return res.headersSent;
  }
  getHeader(res: ServerResponse, name: string): unknown {
    // Read and written by the lower-case name: Node lower-cases a name to store it, and one that is lower
    // case already costs no new string (HTTP field names are case-insensitive; HTTP/2 sends them so).
    return res.getHeader(lowerCaseField(name));
  }
  setHeader(res: ServerResponse, name: string, value: string): void {
    res.setHeader(lowerCaseField(name), value);
  }
  pass(_req: Req, _res: ServerResponse, next: NextFunction): void {
    next();
  }
  fail(_req: Req, _res: ServerResponse, next: NextFunction, error: unknown): void {
    next(error);
  }
  limited(req: Req, res: ServerResponse, next: NextFunction, info: LimitedInfo): void {
    if (this.onLimited === undefined) sendProblem(res, info.problem);
    else this.onLimited(req, res, next, info);
  }
  sendProblem(_req: Req, res: ServerResponse, _next: NextFunction, problem: ProblemDetails): void {
    sendProblem(res, problem);
  }
}

/**
 * Rate-limits requests with one limiter. Stack several (globally and per route) to apply several limits:
 * each appends its member to the `RateLimit` and `RateLimit-Policy` lists.
 */
export function rateLimit<Req extends ExpressRequestLike = ExpressRequestLike>(options: RateLimitOptions<Req>): Middleware<Req> {
  checkKnown(WHERE, options, [...LIMIT_OPTIONS, ...RESPONSE_OPTIONS, 'onLimited']);
  const settings: ChainSettings<Req> = checkResponseOptions(WHERE, responseOptionsOf(options));
  const onLimited = optionalFunction<RateLimitOptions<Req>['onLimited']>(WHERE, 'onLimited', options.onLimited);
  const limitOptions: LimitOptions<Req> = { limiter: options.limiter };
  for (const name of LIMIT_OPTIONS) {
    if (options[name] !== undefined) (limitOptions as unknown as Record<string, unknown>)[name] = options[name];
  }
  const limit = new CompiledLimit<Req>(WHERE, limitOptions, settings.style);
  const chain = new LimitChain<Req, ServerResponse, NextFunction>([limit], new ExpressHost(onLimited), settings, WHERE);
  return function weirRateLimit(req, res, next) {
    chain.run(req, res, next);
  };
}

const shedHost: ShedHost<unknown, ServerResponse, NextFunction> = {
  raw: (res) => res,
  setHeader: (res, name, value) => res.setHeader(lowerCaseField(name), value),
  pass: (_req, _res, next) => next(),
  fail: (_req, _res, next, error) => next(error),
  sendProblem: (_req, res, _next, problem) => sendProblem(res, problem),
};

/**
 * Load shedding: each request holds a slot of `bulkhead` until its response ends; when none is free (and
 * the bulkhead's queue, if any, is full or its wait runs out) the request gets 503 with `Retry-After`.
 * Put it first, before body parsing and rate limiting.
 */
export function loadShedding<Req extends IncomingMessage = IncomingMessage>(options: LoadSheddingOptions): Middleware<Req> {
  const shedder = new Shedder<unknown, ServerResponse, NextFunction>('weir/express loadShedding', options, shedHost);
  return function weirLoadShedding(req, res, next) {
    shedder.run(req, res, next);
  };
}
