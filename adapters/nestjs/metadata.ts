/**
 * The route metadata of weir/nestjs: the `@RateLimit(...)`, `@SkipRateLimit()` and `@SkipLoadShedding()`
 * decorators, for a controller class or a route method. They work as legacy (`experimentalDecorators`, what
 * NestJS compiles with) and as TC39 decorators, and keep what they record in module-level WeakMaps keyed
 * by the class or the method's function (the same function Nest hands a guard as `getHandler()`), so they
 * need no `reflect-metadata` and never outlive the class.
 */
import { CompiledLimit, type LimitOptions } from '../http/limit.js';

/** The request as both platforms give it to a guard: Express's `req` or Fastify's `request`. */
export interface NestRequest {
  /** The client address after the platform's proxy rules. */
  readonly ip?: string | undefined;
  /** The request header fields (lower-case names). */
  readonly headers: Record<string, string | string[] | undefined>;
  /** The request target. */
  readonly url?: string | undefined;
}

/** A controller class or a route handler function. */
type Target = object;

/** What a class or a method says about rate limits: its own limits (in source order), or `false` (none). */
export type RouteLimits = readonly LimitOptions<never>[] | false;

const limitsOf = new WeakMap<Target, RouteLimits>();
const unshed = new WeakSet<Target>();
/**
 * Legacy method decorators also record by prototype and method name: a decorator written above this one
 * may replace the method (a weir policy decorator does), and Nest then hands the guard the replacement.
 */
const byName = new WeakMap<object, Map<string | symbol, Target>>();

function remember(target: unknown, keyOrContext: unknown, holder: Target): void {
  if (typeof keyOrContext !== 'string' && typeof keyOrContext !== 'symbol') return;
  if (typeof target !== 'object' || target === null) return;
  let names = byName.get(target);
  if (names === undefined) byName.set(target, (names = new Map()));
  names.set(keyOrContext, holder);
}

/** Legacy: (prototype, key, descriptor) or (class); TC39: (method, context) or (class, context). */
function holderOf(target: unknown, keyOrContext: unknown, descriptor: unknown): Target {
  if (typeof descriptor === 'object' && descriptor !== null) {
    const method = (descriptor as PropertyDescriptor).value;
    if (typeof method === 'function') return method;
  } else if (keyOrContext === undefined || (typeof keyOrContext === 'object' && keyOrContext !== null)) {
    // A class (legacy), or a TC39 decorator, whose first argument is the class or the method itself.
    if (typeof target === 'function') return target;
  }
  throw new TypeError('weir/nestjs: decorate a controller class or a method (not a property or a parameter)');
}

/** A decorator for a controller class or a method (legacy `experimentalDecorators` or TC39). */
export type ClassOrMethodDecorator = <T>(target: T, keyOrContext?: unknown, descriptor?: unknown) => void;

/**
 * Rate limits for a controller (every route of it) or one route, applied after the guard's own limits
 * (and a method's after its class's): each adds a member to the `RateLimit` lists. The options are the
 * ones of weir/express's `rateLimit` limits (`limiter`, `name`, `key`, `cost`, `skip`, ...); `key`, `cost`
 * and `skip` get the platform's request (Express or Fastify). Checked when the class is defined.
 */
export function RateLimit<Req extends NestRequest = NestRequest>(...limits: LimitOptions<Req>[]): ClassOrMethodDecorator {
  if (limits.length === 0) throw new TypeError('weir/nestjs @RateLimit: give at least one limit ({ limiter, ... })');
  for (const limit of limits) new CompiledLimit('weir/nestjs @RateLimit', limit, 'none');
  return (target, keyOrContext, descriptor) => {
    const holder = holderOf(target, keyOrContext, descriptor);
    remember(target, keyOrContext, holder);
    const existing = limitsOf.get(holder);
    if (existing === false) return; // @SkipRateLimit() wins on the same target
    // Decorators run bottom-up: the one written first comes first.
    limitsOf.set(holder, [...(limits as unknown as LimitOptions<never>[]), ...(existing ?? [])]);
  };
}

/** No rate limit at all on this controller or route (not even the guard's own limits): health checks. */
export function SkipRateLimit(): ClassOrMethodDecorator {
  return (target, keyOrContext, descriptor) => {
    const holder = holderOf(target, keyOrContext, descriptor);
    remember(target, keyOrContext, holder);
    limitsOf.set(holder, false);
  };
}

/** Exempts this controller or route from the load-shedding guard. */
export function SkipLoadShedding(): ClassOrMethodDecorator {
  return (target, keyOrContext, descriptor) => {
    const holder = holderOf(target, keyOrContext, descriptor);
    remember(target, keyOrContext, holder);
    unshed.add(holder);
  };
}

/**
 * The function a method decorator recorded on for `handler` of `controller`: the handler itself, or the
 * method it replaced (found by the name under which the prototype holds the handler).
 */
function recorded(controller: Target, handler: Target): Target {
  if (limitsOf.has(handler) || unshed.has(handler)) return handler;
  const prototype = (controller as { prototype?: object }).prototype;
  for (
    let proto = prototype;
    proto !== undefined && proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const names = byName.get(proto);
    if (names === undefined) continue;
    for (const [name, original] of names) {
      if ((prototype as Record<string | symbol, unknown>)[name] === handler) return original;
    }
  }
  return handler;
}

/** The limits recorded on a class or a route handler, if any. */
export function routeLimits(
  controller: Target,
  handler: Target,
): { own: RouteLimits | undefined; controller: RouteLimits | undefined } {
  return { own: limitsOf.get(recorded(controller, handler)), controller: limitsOf.get(controller) };
}

export function isUnshed(controller: Target, handler: Target): boolean {
  return unshed.has(controller) || unshed.has(recorded(controller, handler));
}

/**
 * A value per route, computed at the route's first request. Keyed by controller and handler: a method
 * inherited by two controllers is one handler function with each controller's own class metadata.
 */
export class RouteCache<V> {
  private readonly byController = new WeakMap<Target, WeakMap<Target, V>>();

  constructor(private readonly compute: (controller: Target, handler: Target) => V) {}

  get(controller: Target, handler: Target): V {
    let routes = this.byController.get(controller);
    if (routes === undefined) this.byController.set(controller, (routes = new WeakMap()));
    let value = routes.get(handler);
    if (value === undefined) {
      value = this.compute(controller, handler);
      routes.set(handler, value);
    }
    return value;
  }
}
