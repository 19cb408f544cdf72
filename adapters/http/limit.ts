/**
 * The framework-neutral part of the HTTP rate-limit adapters: option checking, and the chain that runs one
 * or more limiters for a request and answers for them. Express and Fastify only supply a {@link Host}: how
 * to read the client address, write a header, continue, fail, and send a response.
 *
 * Per request, for each limit in order: `skip(req)` → `key(req)` → `cost(req)` → take. With a store that
 * answers synchronously (the memory store) an allowed request costs no promise and no timer. A store that
 * answers asynchronously (Redis) is awaited with a backstop timer (`storeTimeoutMs`), so a store that never
 * answers cannot hang the request. A store with its own `timeoutMs` (the Redis store) must get to decide
 * first (its `onError` may fail closed, while `storeFailure` defaults to letting the request through): the
 * default backstop waits at least that plus {@link STORE_TIMEOUT_MARGIN_MS}, and an explicit shorter
 * `storeTimeoutMs` is a RangeError at construction.
 *
 * Failure semantics (never a crash, never a bypass, never an unhandled rejection):
 * - `key`/`cost`/`skip` throwing, a key that is not a string, a cost that is not an integer >= 0: the
 *   error goes to the framework's error handler (a 500 by default). These are programming errors.
 * - The store failing (its `take` rejects or throws, or does not answer within `storeTimeoutMs`):
 *   `onStoreError(error, req, info)` is told, then `storeFailure` decides: `'allow'` (default: the request
 *   goes on, without this limiter's headers) or `'reject'` (503 + `Retry-After: 1`). When the limiter has its
 *   own error policy (a store's `onError`, issue 6), that runs first: a limiter that resolves a decision
 *   never reaches this path.
 * - A cost above the limiter's limit can never pass: 429 without `Retry-After` (and no `t`).
 */
import { checkOptions, show } from '../../src/core/validate.js';
import { type RateLimitDecision, type RateLimiter, TimeoutError } from '../../src/index.js';
import {
  checkPolicyName,
  HEADER_STYLES,
  type HeaderStyle,
  type HeaderTarget,
  overloadedProblem,
  type ProblemDetails,
  QuotaHeaders,
  retryAfterSeconds,
  tooManyRequestsProblem,
} from './headers.js';
import { checkIpv6Prefix, ipKey } from './ip.js';

/** One rate limit applied to requests. */
export interface LimitOptions<Req> {
  /** The limiter (`tokenBucket`, `slidingWindow`, `gcra`; any store). One limiter is one budget per key. */
  limiter: RateLimiter;
  /**
   * The policy name in the header fields (printable ASCII). Default `"<limit>-in-<w>s"`, with a suffix
   * (`"<limit>-in-<w>s-2"`) on a response whose fields already have a limit of that name. Names given here are
   * sent as they are; two limits of one middleware or route may not share one.
   */
  name?: string;
  /** The `w` of the fields, in ms. Default: the sliding window, or the time a bucket takes to refill from empty. */
  windowMs?: number;
  /** The client's key. Default: `ipKey(req.ip, ipv6Prefix)` (the address as the framework reports it). */
  key?: (req: Req) => string;
  /** The IPv6 prefix length the default key groups by (1–128, default 64). Only with the default key. */
  ipv6Prefix?: number;
  /** Units a request takes (an integer >= 0), or a function of the request. Default 1. */
  cost?: number | ((req: Req) => number);
  /** Requests for which this returns true are not limited (and get none of this limit's headers). */
  skip?: (req: Req) => boolean;
}

/** What a handler of a refused request is told. */
export interface LimitedInfo {
  /** The policy name of the limit that refused. */
  readonly name: string;
  readonly key: string;
  readonly cost: number;
  readonly decision: RateLimitDecision;
  /** The `Retry-After` already set (delay-seconds), or undefined when the cost can never pass. */
  readonly retryAfter: number | undefined;
  /** The RFC 9457 body the default handler sends. */
  readonly problem: ProblemDetails;
}

export interface StoreErrorInfo {
  /** The policy name of the limit whose store failed. */
  readonly name: string;
  readonly key: string;
  /** What happened to the request: it went on (`allow`) or got a 503 (`reject`). */
  readonly action: StoreFailureAction;
}

export type StoreFailureAction = 'allow' | 'reject';

/** How the adapter answers, shared by all limits of one middleware or plugin. */
export interface ResponseOptions<Req> {
  /** Header style: `draft-10` (default), `draft-7`, `draft-6`, `legacy` (`X-RateLimit-*`) or `none`. */
  headers?: HeaderStyle;
  /** What a failing store means for the request: `allow` (default) or `reject` (503). */
  storeFailure?: StoreFailureAction;
  /** Told about every store failure (before `storeFailure` applies). Errors it throws are ignored (a warning). */
  onStoreError?: (error: unknown, req: Req, info: StoreErrorInfo) => void;
  /**
   * Longest wait for an asynchronous store's answer before it counts as failed (default 1000, or the store's
   * own `timeoutMs` + 100 when that is longer; Infinity: none). A store's own `timeoutMs` comes first: a
   * value below it + 100 is a RangeError.
   */
  storeTimeoutMs?: number;
}

export { show };

export const LIMIT_OPTIONS = ['limiter', 'name', 'windowMs', 'key', 'ipv6Prefix', 'cost', 'skip'] as const;
export const RESPONSE_OPTIONS = ['headers', 'storeFailure', 'onStoreError', 'storeTimeoutMs'] as const;

/** The core's option check, with the options object required. */
export function checkKnown(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) throw new TypeError(`${where}: options must be an object, got undefined`);
  checkOptions(where, options, known);
}

function checkFn(where: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`${where}: option "${name}" must be a function, got ${show(value)}`);
  }
}

function isLimiter(value: unknown): value is RateLimiter {
  const limiter = value as Partial<RateLimiter> | null;
  return (
    typeof limiter === 'object' &&
    limiter !== null &&
    typeof limiter.take === 'function' &&
    typeof limiter.limit === 'number' &&
    typeof limiter.algorithm === 'object' &&
    typeof limiter.clock?.now === 'function'
  );
}

/** The `w` of a limiter in ms: the window of a sliding window, else the time to refill from empty. */
export function windowMsOf(limiter: RateLimiter): number {
  const config = limiter.algorithm.config;
  if (config.kind === 'sliding-window-log' || config.kind === 'sliding-window-counter') return config.windowUs / 1000;
  return limiter.algorithm.fullAfterUs / 1000;
}

/** A limit with its options checked and its header fields prepared. */
export class CompiledLimit<Req> {
  readonly name: string;
  /** Whether `name` was given (else it is the default, made unique per response). */
  readonly named: boolean;
  readonly limiter: RateLimiter;
  readonly headers: QuotaHeaders;
  readonly key: ((req: Req) => string) | undefined;
  readonly ipv6Prefix: number;
  readonly fixedCost: number;
  readonly cost: ((req: Req) => number) | undefined;
  readonly skip: ((req: Req) => boolean) | undefined;
  readonly takeSync: ((key?: string, cost?: number) => RateLimitDecision) | undefined;

  constructor(where: string, options: LimitOptions<Req>, style: HeaderStyle) {
    checkKnown(where, options, LIMIT_OPTIONS);
    if (!isLimiter(options.limiter)) {
      throw new TypeError(
        `${where}: option "limiter" must be a rate limiter (tokenBucket, slidingWindow or gcra), got ${show(options.limiter)}`,
      );
    }
    const limiter = options.limiter;
    this.limiter = limiter;
    this.takeSync = limiter.takeSync;
    let windowMs = windowMsOf(limiter);
    if (options.windowMs !== undefined) {
      const w = options.windowMs;
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
        throw new RangeError(`${where}: option "windowMs" must be a finite number of milliseconds > 0, got ${show(w)}`);
      }
      windowMs = w;
    }
    const wSeconds = Math.max(1, Math.ceil(windowMs / 1000));
    this.named = options.name !== undefined;
    this.name = options.name === undefined ? `${limiter.limit}-in-${wSeconds}s` : checkPolicyName(where, options.name);
    checkFn(where, 'key', options.key);
    checkFn(where, 'skip', options.skip);
    if (options.key !== undefined && options.ipv6Prefix !== undefined) {
      throw new TypeError(
        `${where}: option "ipv6Prefix" applies only to the default key; with your own "key", group addresses with ipKey(req.ip, prefix)`,
      );
    }
    this.key = options.key;
    this.ipv6Prefix = options.ipv6Prefix === undefined ? 64 : checkIpv6Prefix(where, options.ipv6Prefix);
    const cost = options.cost;
    this.cost = undefined;
    this.fixedCost = 1;
    if (typeof cost === 'function') this.cost = cost;
    else if (cost !== undefined) {
      if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 0) {
        throw new RangeError(`${where}: option "cost" must be an integer >= 0 or a function, got ${show(cost)}`);
      }
      if (cost > limiter.limit) {
        throw new RangeError(
          `${where}: option "cost" (${cost}) exceeds the limiter's limit (${limiter.limit}): no request could pass`,
        );
      }
      this.fixedCost = cost;
    }
    this.skip = options.skip;
    this.headers = new QuotaHeaders(style, { name: this.name, windowMs }, limiter.limit, !this.named);
  }
}

export interface ChainSettings<Req> {
  readonly style: HeaderStyle;
  readonly storeFailure: StoreFailureAction;
  readonly onStoreError: ((error: unknown, req: Req, info: StoreErrorInfo) => void) | undefined;
  readonly storeTimeoutMs: number;
  /** Whether `storeTimeoutMs` was given (else it is the default, raised for slower stores). */
  readonly storeTimeoutExplicit: boolean;
}

/** How much longer than a store's own `timeoutMs` the backstop waits, so the store's `onError` decides first. */
export const STORE_TIMEOUT_MARGIN_MS = 100;

/** The store's own deadline for an answer (the Redis store's `timeoutMs`), if it has one. */
function ownTimeoutOf(limiter: RateLimiter): number | undefined {
  const own = (limiter.bound as { timeoutMs?: unknown } | undefined)?.timeoutMs;
  return typeof own === 'number' && Number.isFinite(own) && own > 0 ? own : undefined;
}

/**
 * The backstop of one limit: `storeTimeoutMs`, but never before the store's own timeout has let its
 * `onError` decide. An explicit value that would cut it short is a configuration error.
 */
export function backstopMs<Req>(where: string, limit: CompiledLimit<Req>, settings: ChainSettings<Req>): number {
  const own = limit.takeSync === undefined ? ownTimeoutOf(limit.limiter) : undefined;
  if (own === undefined) return settings.storeTimeoutMs;
  const least = own + STORE_TIMEOUT_MARGIN_MS;
  if (settings.storeTimeoutMs >= least) return settings.storeTimeoutMs;
  if (!settings.storeTimeoutExplicit) return least;
  throw new RangeError(
    `${where}: option "storeTimeoutMs" (${settings.storeTimeoutMs}) must be at least the store's own timeoutMs (${own}) + ${STORE_TIMEOUT_MARGIN_MS} for limit "${limit.name}", so that the store's onError decides before this backstop (or leave storeTimeoutMs unset)`,
  );
}

export function checkResponseOptions<Req>(where: string, options: ResponseOptions<Req>): ChainSettings<Req> {
  const style = options.headers ?? 'draft-10';
  if (!HEADER_STYLES.includes(style)) {
    throw new TypeError(
      `${where}: option "headers" must be one of ${HEADER_STYLES.map((s) => `"${s}"`).join(', ')}, got ${show(style)}`,
    );
  }
  const storeFailure = options.storeFailure ?? 'allow';
  if (storeFailure !== 'allow' && storeFailure !== 'reject') {
    throw new TypeError(`${where}: option "storeFailure" must be "allow" or "reject", got ${show(storeFailure)}`);
  }
  checkFn(where, 'onStoreError', options.onStoreError);
  const timeout = options.storeTimeoutMs ?? 1000;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout <= 0) {
    throw new RangeError(
      `${where}: option "storeTimeoutMs" must be a number of milliseconds > 0 (or Infinity), got ${show(timeout)}`,
    );
  }
  return {
    style,
    storeFailure,
    onStoreError: options.onStoreError,
    storeTimeoutMs: timeout,
    storeTimeoutExplicit: options.storeTimeoutMs !== undefined,
  };
}

/** What a framework supplies to the chain. `Res` is what headers are written on; `Next` continues or fails. */
export interface Host<Req, Res, Next> extends HeaderTarget<Res> {
  /** The client address as the framework reports it (after its trust-proxy rules). */
  clientAddress(req: Req): string | undefined;
  /** True once a response has been sent: nothing more may be written, and the chain stops. */
  headersSent(res: Res): boolean;
  /** Every limit allowed the request. */
  pass(req: Req, res: Res, next: Next): void;
  /** A programming error (a throwing key function, a bad cost): the framework's error path. */
  fail(req: Req, res: Res, next: Next, error: unknown): void;
  /** A refusal; `Retry-After` and the rate-limit fields are set already. */
  limited(req: Req, res: Res, next: Next, info: LimitedInfo): void;
  /** Sends a problem-details response with `status` (the 503 of a failed store in `reject` mode). */
  sendProblem(req: Req, res: Res, next: Next, problem: ProblemDetails): void;
}

function warn(message: string, error: unknown): void {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.emitWarning(`${message}: ${detail}`, { code: 'WEIR_HTTP_HOOK_ERROR' });
}

/** Races a store's answer against a backstop timer on the limiter's clock (only on the asynchronous path). */
function withTimeout(limiter: RateLimiter, promise: Promise<RateLimitDecision>, ms: number): Promise<RateLimitDecision> {
  if (ms === Number.POSITIVE_INFINITY) return promise;
  const clock = limiter.clock;
  return new Promise((resolve, reject) => {
    const timer = clock.setTimer(() => reject(new TimeoutError(ms)), ms);
    promise.then(
      (decision) => {
        clock.clearTimer(timer);
        resolve(decision);
      },
      (error: unknown) => {
        clock.clearTimer(timer);
        reject(error);
      },
    );
  });
}

/** Runs limits in order for one request; the first refusal answers, a full pass calls `host.pass`. */
export class LimitChain<Req, Res, Next> {
  /** Per limit: how long an asynchronous take may take before it counts as a store failure. */
  private readonly backstops: readonly number[];

  constructor(
    readonly limits: readonly CompiledLimit<Req>[],
    private readonly host: Host<Req, Res, Next>,
    private readonly settings: ChainSettings<Req>,
    private readonly where: string,
  ) {
    this.backstops = limits.map((limit) => backstopMs(where, limit, settings));
    const names = new Set<string>();
    for (const limit of limits) {
      if (!limit.named) continue;
      if (names.has(limit.name)) {
        throw new RangeError(
          `${where}: two limits are named ${show(limit.name)}; each limit needs its own name (they are members of one RateLimit list)`,
        );
      }
      names.add(limit.name);
    }
  }

  run(req: Req, res: Res, next: Next): void {
    this.from(0, req, res, next);
  }

  private from(start: number, req: Req, res: Res, next: Next): void {
    const limits = this.limits;
    for (let i = start; i < limits.length; i++) {
      const limit = limits[i] as CompiledLimit<Req>;
      let key: string;
      let cost: number;
      try {
        if (limit.skip !== undefined && limit.skip(req) === true) continue;
        key = limit.key === undefined ? ipKey(this.host.clientAddress(req), limit.ipv6Prefix) : this.keyOf(limit, req);
        cost = limit.cost === undefined ? limit.fixedCost : this.costOf(limit, req);
      } catch (error) {
        this.host.fail(req, res, next, error);
        return;
      }
      const sync = limit.takeSync;
      if (sync === undefined) {
        this.takeAsync(i, limit, key, cost, req, res, next);
        return;
      }
      let decision: RateLimitDecision;
      try {
        decision = sync(key, cost);
      } catch (error) {
        if (!this.storeFailed(limit, key, error, req, res, next)) return;
        continue;
      }
      if (!this.apply(limit, key, cost, decision, req, res, next)) return;
    }
    this.host.pass(req, res, next);
  }

  private keyOf(limit: CompiledLimit<Req>, req: Req): string {
    const key = (limit.key as (req: Req) => string)(req);
    if (typeof key !== 'string') {
      throw new TypeError(`${this.where}: the key function of limit "${limit.name}" must return a string, got ${show(key)}`);
    }
    return key;
  }

  private costOf(limit: CompiledLimit<Req>, req: Req): number {
    const cost = (limit.cost as (req: Req) => number)(req);
    if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 0) {
      throw new RangeError(
        `${this.where}: the cost function of limit "${limit.name}" must return an integer >= 0, got ${show(cost)}`,
      );
    }
    return cost;
  }

  private takeAsync(i: number, limit: CompiledLimit<Req>, key: string, cost: number, req: Req, res: Res, next: Next): void {
    let answer: Promise<RateLimitDecision>;
    try {
      answer = withTimeout(limit.limiter, limit.limiter.take(key, cost), this.backstops[i] as number);
    } catch (error) {
      if (this.storeFailed(limit, key, error, req, res, next)) this.from(i + 1, req, res, next);
      return;
    }
    answer.then(
      (decision) => this.resume(i, limit, key, cost, decision, undefined, req, res, next),
      (error: unknown) => this.resume(i, limit, key, cost, undefined, error, req, res, next),
    );
  }

  /** Continues after an asynchronous take; never throws (it runs in a promise callback). */
  private resume(
    i: number,
    limit: CompiledLimit<Req>,
    key: string,
    cost: number,
    decision: RateLimitDecision | undefined,
    error: unknown,
    req: Req,
    res: Res,
    next: Next,
  ): void {
    try {
      // The response may have been sent meanwhile (a timeout middleware, a closed connection).
      if (this.host.headersSent(res)) return;
      const goOn =
        decision === undefined
          ? this.storeFailed(limit, key, error, req, res, next)
          : this.apply(limit, key, cost, decision, req, res, next);
      if (goOn) this.from(i + 1, req, res, next);
    } catch (failure) {
      try {
        this.host.fail(req, res, next, failure);
      } catch (last) {
        warn(`${this.where}: could not report an error`, last);
      }
    }
  }

  /** Writes the headers of an answered take; on a refusal answers and returns false. */
  private apply(
    limit: CompiledLimit<Req>,
    key: string,
    cost: number,
    decision: RateLimitDecision,
    req: Req,
    res: Res,
    next: Next,
  ): boolean {
    const host = this.host;
    // The name the fields use: a default name may have been made unique on this response.
    const name =
      limit.headers.style === 'none' ? limit.name : limit.headers.write(host, res, decision, limit.limiter.clock.wallNow());
    if (decision.allowed) return true;
    const retryAfter = retryAfterSeconds(decision);
    if (retryAfter !== undefined) host.setHeader(res, 'Retry-After', String(retryAfter));
    const problem = tooManyRequestsProblem(name, retryAfter, cost, limit.limiter.limit);
    host.limited(req, res, next, { name, key, cost, decision, retryAfter, problem });
    return false;
  }

  /** Reports a store failure and applies `storeFailure`; returns true when the request goes on. */
  private storeFailed(limit: CompiledLimit<Req>, key: string, error: unknown, req: Req, res: Res, next: Next): boolean {
    const { storeFailure, onStoreError } = this.settings;
    if (onStoreError !== undefined) {
      try {
        onStoreError(error, req, { name: limit.name, key, action: storeFailure });
      } catch (hookError) {
        warn(`${this.where}: onStoreError threw`, hookError);
      }
    }
    if (storeFailure === 'allow') return true;
    this.host.setHeader(res, 'Retry-After', '1');
    const problem = overloadedProblem(1);
    problem.detail = `Rate limit "${limit.name}" could not be checked; retry after 1 s.`;
    this.host.sendProblem(req, res, next, problem);
    return false;
  }
}
