/**
 * weir/nestjs: rate limiting and load shedding as NestJS guards, on the same core as weir/express and
 * weir/fastify (options, header fields, 429/503 problem details, store failures, IP keys), on the Express
 * and the Fastify platform.
 *
 *     app.useGlobalGuards(
 *       new LoadSheddingGuard({ bulkhead: bulkhead({ maxConcurrent: 200 }) }),
 *       new RateLimitGuard({ rateLimit: { limiter: tokenBucket({ capacity: 100, refillPerSecond: 10 }) } }),
 *     );
 *     @RateLimit({ limiter: strict, name: 'login' }) @Post('login') login() {}
 *     @SkipRateLimit() @Get('health') health() {}
 *
 * A refusal is thrown as a {@link RateLimitExceededException} (an `HttpException`, 429) whose response is
 * the RFC 9457 problem details, sent by Nest's exception handling as `application/problem+json`; an exception
 * filter can catch it to answer otherwise. The default key is `req.ip`, which follows the platform's proxy
 * setting (Express `app.set('trust proxy', ...)`, Fastify's `trustProxy`). See docs/nestjs.md.
 */
import type { ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, HttpException } from '@nestjs/common';
import { Outcome } from '../hono/outcome.js';
import type { ProblemDetails } from '../http/headers.js';
import {
  type ChainSettings,
  CompiledLimit,
  checkKnown,
  checkResponseOptions,
  type Host,
  LimitChain,
  type LimitedInfo,
  type LimitOptions,
  RESPONSE_OPTIONS,
  type ResponseOptions,
  responseOptionsOf,
  show,
} from '../http/limit.js';
import { type LoadSheddingOptions, Shedder, type ShedHost } from '../http/shed.js';
import { isUnshed, type NestRequest, RouteCache, type RouteLimits, routeLimits } from './metadata.js';

export * from '../http/public.js';
export { type ClassOrMethodDecorator, type NestRequest, RateLimit, SkipLoadShedding, SkipRateLimit } from './metadata.js';

/** Express's response (a Node response) or Fastify's reply (with `raw`). */
type NestResponse = ServerResponse | FastifyReplyLike;

interface FastifyReplyLike {
  readonly raw: ServerResponse;
  readonly sent: boolean;
  getHeader(name: string): unknown;
  header(name: string, value: string): unknown;
}

const isReply = (res: NestResponse): res is FastifyReplyLike => (res as Partial<FastifyReplyLike>).raw !== undefined;
const rawOf = (res: NestResponse): ServerResponse => (isReply(res) ? res.raw : res);

function setHeader(res: NestResponse, name: string, value: string): void {
  if (isReply(res)) res.header(name, value);
  else res.setHeader(name, value);
}

/** A refused request: Nest's exception handling sends `getResponse()`, the problem details, with status 429. */
export class RateLimitExceededException extends HttpException {
  /** The refusal: the limit's name, the key, the cost, the decision and the problem details. */
  readonly info: LimitedInfo;
  constructor(info: LimitedInfo) {
    super(info.problem, info.problem.status);
    this.info = info;
  }
}

/** A problem-details answer: the content type first, then the exception Nest's handling sends. */
function problemException(res: NestResponse, problem: ProblemDetails, info?: LimitedInfo): HttpException {
  setHeader(res, 'Content-Type', 'application/problem+json');
  return info === undefined ? new HttpException(problem, problem.status) : new RateLimitExceededException(info);
}

type Step = Outcome<boolean>;

class NestHost implements Host<NestRequest, NestResponse, Step> {
  clientAddress(req: NestRequest): string | undefined {
    return req.ip;
  }
  route(req: NestRequest): string | undefined {
    const express = (req as { route?: { path?: unknown } }).route?.path;
    if (typeof express === 'string') return express;
    const fastify = (req as { routeOptions?: { url?: unknown } }).routeOptions?.url;
    return typeof fastify === 'string' ? fastify : undefined;
  }
  whenDone(res: NestResponse, done: (statusCode: number) => void): void {
    const raw = rawOf(res);
    raw.once('close', () => done(raw.statusCode));
  }
  headersSent(res: NestResponse): boolean {
    return isReply(res) ? res.sent : res.headersSent;
  }
  getHeader(res: NestResponse, name: string): unknown {
    return res.getHeader(name);
  }
  setHeader(res: NestResponse, name: string, value: string): void {
    setHeader(res, name, value);
  }
  pass(_req: NestRequest, _res: NestResponse, step: Step): void {
    step.done(true);
  }
  fail(_req: NestRequest, _res: NestResponse, step: Step, error: unknown): void {
    step.fail(error);
  }
  limited(_req: NestRequest, res: NestResponse, step: Step, info: LimitedInfo): void {
    step.fail(problemException(res, info.problem, info));
  }
  sendProblem(_req: NestRequest, res: NestResponse, step: Step, problem: ProblemDetails): void {
    step.fail(problemException(res, problem));
  }
}

const host = new NestHost();

/** The guard's own limits and how refusals and store failures are answered (as weir/express's options). */
export interface RateLimitGuardOptions<Req extends NestRequest = NestRequest> extends ResponseOptions<Req> {
  /** Limits for every route the guard runs on (in order), before the controller's and the route's own. */
  rateLimit?: LimitOptions<Req> | readonly LimitOptions<Req>[];
}

const GUARD = 'weir/nestjs RateLimitGuard';
/** A route whose limits are none. */
const NONE = 0;

/**
 * Rate limits as a guard: the guard's own limits, then the controller's `@RateLimit(...)`, then the
 * route's, in one chain per route (built at the route's first request). `@SkipRateLimit()` on the route or
 * its controller turns all of them off there. Only HTTP requests are limited.
 */
export class RateLimitGuard<Req extends NestRequest = NestRequest> implements CanActivate {
  private readonly settings: ChainSettings<NestRequest>;
  private readonly own: readonly LimitOptions<NestRequest>[];
  private readonly routes = new RouteCache((controller, handler) => this.chainFor(controller, handler));

  constructor(options: RateLimitGuardOptions<Req> = {}) {
    checkKnown(GUARD, options, [...RESPONSE_OPTIONS, 'rateLimit']);
    this.settings = checkResponseOptions(GUARD, responseOptionsOf(options) as ResponseOptions<NestRequest>);
    const limits = options.rateLimit;
    if (limits === undefined) this.own = [];
    else if (Array.isArray(limits)) this.own = limits as LimitOptions<NestRequest>[];
    else if (typeof limits === 'object' && limits !== null) this.own = [limits as LimitOptions<NestRequest>];
    else
      throw new TypeError(
        `${GUARD}: option "rateLimit" must be a limit ({ limiter, ... }) or an array of limits, got ${show(limits)}`,
      );
    // Checked now (a route's chain is built at its first request).
    new LimitChain(this.compile(this.own), host, this.settings, GUARD);
  }

  /** True when every limit of the route allows the request; else throws the refusal (429, or 503). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const chain = this.routes.get(context.getClass(), context.getHandler());
    if (chain === NONE) return true;
    const http = context.switchToHttp();
    const step: Step = new Outcome<boolean>(undefined);
    chain.run(http.getRequest<NestRequest>(), http.getResponse<NestResponse>(), step);
    return step.settle();
  }

  private compile(limits: readonly LimitOptions<NestRequest>[]): CompiledLimit<NestRequest>[] {
    return limits.map((limit) => new CompiledLimit(GUARD, limit, this.settings.style));
  }

  private chainFor(controller: object, handler: object): LimitChain<NestRequest, NestResponse, Step> | typeof NONE {
    const recorded = routeLimits(controller, handler);
    if (recorded.own === false || recorded.controller === false) return NONE;
    const listed = (limits: RouteLimits | undefined) => (limits === undefined ? [] : (limits as LimitOptions<NestRequest>[]));
    const limits = [...this.own, ...listed(recorded.controller), ...listed(recorded.own)];
    if (limits.length === 0) return NONE;
    return new LimitChain(this.compile(limits), host, this.settings, GUARD);
  }
}

const shedHost: ShedHost<NestRequest, NestResponse, Step> = {
  raw: rawOf,
  setHeader,
  pass: (_req, _res, step) => step.done(true),
  fail: (_req, _res, step, error) => step.fail(error),
  sendProblem: (_req, res, step, problem) => step.fail(problemException(res, problem)),
};

/**
 * Load shedding as a guard: each request holds a slot of `bulkhead` until its response ends (or its
 * connection closes); when none is free (and the bulkhead's queue, if any, is full or its wait runs out) it
 * is refused with 503, `Retry-After` and problem details. Register it before the rate-limit guard.
 * `@SkipLoadShedding()` exempts a controller or a route.
 */
export class LoadSheddingGuard implements CanActivate {
  private readonly shedder: Shedder<NestRequest, NestResponse, Step>;
  private readonly exempt = new RouteCache(isUnshed);

  constructor(options: LoadSheddingOptions) {
    this.shedder = new Shedder('weir/nestjs LoadSheddingGuard', options, shedHost);
  }

  /** True once the request holds a slot (at once, or after its wait in the queue); else throws a 503. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (this.exempt.get(context.getClass(), context.getHandler())) return true;
    const http = context.switchToHttp();
    const step: Step = new Outcome<boolean>(undefined);
    this.shedder.run(http.getRequest<NestRequest>(), http.getResponse<NestResponse>(), step);
    return step.settle();
  }
}
