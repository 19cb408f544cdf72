/**
 * weir/fastify: a Fastify 5 plugin (made with fastify-plugin, so it applies to the whole application) for
 * rate limiting and load shedding.
 *
 *     import weir from 'weir/fastify';
 *     await app.register(weir, { rateLimit: { limiter: tokenBucket({ capacity: 100, refillPerSecond: 10 }) } });
 *     app.get('/login', { config: { rateLimit: { limiter: strict } } }, handler);   // replaces the global limits
 *     app.get('/health', { config: { rateLimit: false, loadShedding: false } }, handler);
 *
 * Hooks are attached per route when the route is declared (an `onRoute` hook), so register the plugin
 * before your routes. Rate limits run in `onRequest` by default, or `preHandler` (`hook: 'preHandler'`) to
 * key on an authenticated user; load shedding always runs first, in `onRequest`. See docs/fastify.md.
 */
import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { lowerCaseField, type ProblemDetails } from '../http/headers.js';
import {
  type ChainSettings,
  CompiledLimit,
  checkKnown,
  checkResponseOptions,
  type Host,
  LimitChain,
  type LimitedInfo,
  type LimitOptions,
  optionalFunction,
  RESPONSE_OPTIONS,
  type ResponseOptions,
  responseOptionsOf,
  show,
} from '../http/limit.js';
import { type LoadSheddingOptions, Shedder, type ShedHost } from '../http/shed.js';

export * from '../http/public.js';

/** One rate limit; `key`, `cost` and `skip` receive the Fastify request (`request.ip` honours `trustProxy`). */
export type FastifyLimit = LimitOptions<FastifyRequest>;

export interface WeirFastifyOptions extends ResponseOptions<FastifyRequest> {
  /** Limits for every route (in order) unless a route's `config.rateLimit` says otherwise. */
  rateLimit?: FastifyLimit | readonly FastifyLimit[];
  /** The hook the rate limits run in: `onRequest` (default) or `preHandler` (after authentication hooks). */
  hook?: 'onRequest' | 'preHandler';
  /**
   * Answers a refused request instead of the default 429 problem-details JSON. `Retry-After` and the
   * rate-limit fields are already set; it must send the reply (`reply.code(429).send(...)`).
   */
  onLimited?: (request: FastifyRequest, reply: FastifyReply, info: LimitedInfo) => unknown;
  /** Puts every route (except those with `config.loadShedding: false`) through a bulkhead: 503 when full. */
  loadShedding?: LoadSheddingOptions;
  /**
   * Rate-limit requests that match no route (a 404 flood), which route hooks never see: `true` applies the
   * global `rateLimit` limits to them, or give their own limit(s). Default: not limited. They run in
   * `onRequest`, before the not-found handler.
   */
  limitNotFound?: boolean | FastifyLimit | readonly FastifyLimit[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's limits, replacing the plugin's global ones; `false`: no rate limit on this route. */
    rateLimit?: FastifyLimit | readonly FastifyLimit[] | false;
    /** `false` exempts this route from load shedding (health checks, metrics). */
    loadShedding?: false;
  }
}

const WHERE = 'weir/fastify';
const PLUGIN_OPTIONS = [...RESPONSE_OPTIONS, 'rateLimit', 'hook', 'onLimited', 'loadShedding', 'limitNotFound'] as const;
/**
 * Marks weir's hooks on a route with the registration that added them: a route seen twice by the same
 * registration (the HEAD copy of a GET) keeps its hooks; hooks of another registration are an error.
 * Registry symbols, so that two copies of weir in one application see each other.
 */
const kWeirHook = Symbol.for('weir.fastify.hook');
/** Set on the instance weir is registered on (child contexts inherit it through their prototype). */
const kRegistered = Symbol.for('weir.fastify.registered');

type Done = HookHandlerDoneFunction;
/** One registration of the plugin. */
type Registration = object;
type RouteHook = ((request: FastifyRequest, reply: FastifyReply, done: Done) => void) & { [kWeirHook]?: Registration };

function sendProblem(reply: FastifyReply, problem: ProblemDetails): void {
  reply.code(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

class FastifyHost implements Host<FastifyRequest, FastifyReply, Done> {
  /** weir registers once per application and a route's limits replace the global ones: one chain per request. */
  readonly soleWriter = true;
  constructor(private readonly onLimited: WeirFastifyOptions['onLimited']) {}
  clientAddress(request: FastifyRequest): string | undefined {
    return request.ip;
  }
  route(request: FastifyRequest): string | undefined {
    return request.routeOptions.url;
  }
  whenDone(reply: FastifyReply, done: (statusCode: number) => void): void {
    const raw = reply.raw;
    raw.once('close', () => done(raw.statusCode));
  }
  headersSent(reply: FastifyReply): boolean {
    return reply.sent;
  }
  getHeader(reply: FastifyReply, name: string): unknown {
    return reply.getHeader(lowerCaseField(name));
  }
  setHeader(reply: FastifyReply, name: string, value: string): void {
    reply.header(lowerCaseField(name), value);
  }
  pass(_request: FastifyRequest, _reply: FastifyReply, done: Done): void {
    done();
  }
  fail(_request: FastifyRequest, _reply: FastifyReply, done: Done, error: unknown): void {
    done(error instanceof Error ? error : new Error(String(error)));
  }
  limited(request: FastifyRequest, reply: FastifyReply, _done: Done, info: LimitedInfo): void {
    if (this.onLimited === undefined) {
      sendProblem(reply, info.problem);
      return;
    }
    const result = this.onLimited(request, reply, info);
    if (typeof (result as Promise<unknown> | undefined)?.then === 'function') {
      (result as Promise<unknown>).then(undefined, (error: unknown) => {
        if (!reply.sent) reply.send(error);
      });
    }
  }
  sendProblem(_request: FastifyRequest, reply: FastifyReply, _done: Done, problem: ProblemDetails): void {
    sendProblem(reply, problem);
  }
}

const shedHost: ShedHost<FastifyRequest, FastifyReply, Done> = {
  raw: (reply) => reply.raw,
  setHeader: (reply, name, value) => {
    reply.header(lowerCaseField(name), value);
  },
  pass: (_request, _reply, done) => done(),
  fail: (_request, _reply, done, error) => done(error instanceof Error ? error : new Error(String(error))),
  sendProblem: (_request, reply, _done, problem) => sendProblem(reply, problem),
};

function asList(where: string, value: unknown): readonly FastifyLimit[] {
  if (Array.isArray(value)) return value as readonly FastifyLimit[];
  if (typeof value === 'object' && value !== null) return [value as FastifyLimit];
  throw new TypeError(
    `${where}: "rateLimit" must be a limit ({ limiter, ... }), an array of limits, or false, got ${show(value)}`,
  );
}

const twice = (what: string): string =>
  `${WHERE}: ${what}: the plugin is registered twice (on this instance, or on it and a parent), and only one set of limits would apply. Register weir once, and give routes their own limits with config.rateLimit`;

function prepend(route: RouteOptions, name: 'onRequest' | 'preHandler', hooks: RouteHook[], registration: Registration): void {
  const existing = route[name] as RouteHook | RouteHook[] | undefined;
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  let ours = false;
  for (const hook of list) {
    const owner = hook[kWeirHook];
    if (owner === registration) ours = true;
    else if (owner !== undefined) throw new Error(twice(`route ${route.method} ${route.url} already has weir's hooks`));
  }
  if (ours) return; // the HEAD copy of a GET route: its hooks are the GET's
  (route as { [K in typeof name]?: unknown })[name] = [...hooks, ...list];
}

const weirPlugin: FastifyPluginCallback<WeirFastifyOptions> = (fastify, options, done) => {
  // A configuration error rejects `register` (a synchronous throw would escape avvio as an uncaught exception).
  try {
    setUp(fastify, options);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};

function setUp(fastify: FastifyInstance, options: WeirFastifyOptions): void {
  checkKnown(WHERE, options, PLUGIN_OPTIONS);
  const holder = fastify as unknown as { [kRegistered]?: true };
  if (holder[kRegistered] === true) throw new Error(twice('register'));
  const registration: Registration = {};
  const mark = (hook: RouteHook): RouteHook => {
    hook[kWeirHook] = registration;
    return hook;
  };
  const { rateLimit, hook = 'onRequest', loadShedding, limitNotFound, ...rest } = options;
  if (hook !== 'onRequest' && hook !== 'preHandler') {
    throw new TypeError(`${WHERE}: option "hook" must be "onRequest" or "preHandler", got ${show(hook)}`);
  }
  const onLimited = optionalFunction<WeirFastifyOptions['onLimited']>(WHERE, 'onLimited', rest.onLimited);
  const response = responseOptionsOf(rest);
  const settings: ChainSettings<FastifyRequest> = checkResponseOptions(WHERE, response);
  const host = new FastifyHost(onLimited);
  const compile = (where: string, value: unknown): LimitChain<FastifyRequest, FastifyReply, Done> | undefined => {
    const limits = asList(where, value).map((limit) => new CompiledLimit<FastifyRequest>(where, limit, settings.style));
    return limits.length === 0 ? undefined : new LimitChain(limits, host, settings, WHERE);
  };
  const globalChain = rateLimit === undefined ? undefined : compile(`${WHERE} option "rateLimit"`, rateLimit);
  const shedder = loadShedding === undefined ? undefined : new Shedder(WHERE, loadShedding, shedHost, 'loadShedding.');
  const shedHook = shedder === undefined ? undefined : mark((request, reply, next) => shedder.run(request, reply, next));
  const chainHook = (chain: LimitChain<FastifyRequest, FastifyReply, Done>): RouteHook =>
    mark((request, reply, next) => chain.run(request, reply, next));
  const globalHook = globalChain === undefined ? undefined : chainHook(globalChain);
  const notFoundChain = notFoundChainOf(limitNotFound, globalChain, compile);
  holder[kRegistered] = true;
  if (notFoundChain !== undefined) {
    // Requests that match no route get no route hooks: an instance-wide hook runs their limits.
    fastify.addHook('onRequest', (request, reply, next) => {
      if (request.is404) notFoundChain.run(request, reply, next);
      else next();
    });
  }

  fastify.addHook('onRoute', (route) => {
    const config = route.config as { rateLimit?: unknown; loadShedding?: unknown } | undefined;
    const routeLimit = config?.rateLimit;
    let limitHook: RouteHook | undefined = globalHook;
    if (routeLimit === false) limitHook = undefined;
    else if (routeLimit !== undefined) {
      const chain = compile(`${WHERE} route ${route.method} ${route.url} config "rateLimit"`, routeLimit);
      limitHook = chain === undefined ? undefined : chainHook(chain);
    }
    if (config?.loadShedding !== undefined && config.loadShedding !== false) {
      throw new TypeError(
        `${WHERE}: route ${route.method} ${route.url} config "loadShedding" may only be false, got ${show(config.loadShedding)}`,
      );
    }
    const shed = shedHook !== undefined && config?.loadShedding !== false ? shedHook : undefined;
    if (hook === 'onRequest') {
      const hooks = [shed, limitHook].filter((h): h is RouteHook => h !== undefined);
      if (hooks.length > 0) prepend(route, 'onRequest', hooks, registration);
    } else {
      if (shed !== undefined) prepend(route, 'onRequest', [shed], registration);
      if (limitHook !== undefined) prepend(route, 'preHandler', [limitHook], registration);
    }
  });
}

type Chain = LimitChain<FastifyRequest, FastifyReply, Done>;

/** The chain for requests that match no route, from the `limitNotFound` option. */
function notFoundChainOf(
  option: unknown,
  globalChain: Chain | undefined,
  compile: (where: string, value: unknown) => Chain | undefined,
): Chain | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true) return compile(`${WHERE} option "limitNotFound"`, option);
  if (globalChain === undefined) {
    throw new TypeError(`${WHERE}: option "limitNotFound" is true but there is no global "rateLimit" to apply; give its limits`);
  }
  return globalChain;
}

/** The weir plugin (register it before the routes it should guard). */
const weir = fp(weirPlugin, { fastify: '5.x', name: 'weir' });
export default weir;
export { weir };
