/**
 * The options of the HTTP rate-limit adapters, parsed once at construction with the core's option layer:
 * one {@link CompiledLimit} per limit (its limiter, key, cost, skip and prepared header fields) and one
 * {@link ChainSettings} per middleware or plugin (header style, store-failure policy, hooks, backstop).
 */
import {
  checkCount,
  checkDuration,
  checkFunction,
  checkOneOf,
  checkOptions,
  checkPositive,
  MAX_TIMER_MS,
  show,
} from '../../src/core/validate.js';
import type { BoundRateLimitStore, RateLimitAlgorithm, RateLimitDecision, RateLimiter } from '../../src/index.js';
import { checkRateLimiter } from '../../src/rate-limit/limiter.js';
import { MemoryTable } from '../../src/rate-limit/memory.js';
import { checkPolicyName, HEADER_STYLES, type HeaderStyle, type ProblemDetails, QuotaHeaders } from './headers.js';
import { checkIpv6Prefix, ipKey, UNKNOWN_CLIENT } from './ip.js';
import type { RateLimitOutcome } from './observe.js';

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
  /**
   * Count only the requests whose response this selects, decided when the response is over: e.g.
   * `(res) => res.statusCode === 401` on a login route counts failed logins only. Every request is charged
   * when it arrives (so concurrent requests cannot slip past the limit) and one that is not selected is
   * refunded when its response ends. Its `RateLimit` fields, sent before the outcome was known, show the
   * charged state: exact for a counted request, lower by its cost for a refunded one. Needs a limiter
   * whose store can refund.
   */
  countOnly?: (response: CountedResponse, req: Req) => boolean;
}

/** What `countOnly` sees of a finished response. */
export interface CountedResponse {
  readonly statusCode: number;
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
  /**
   * What a failing store means for the request: `allow` (default: the request goes on unlimited, and the
   * failure is reported) or `reject` (503 + `Retry-After: 1`). A store failure is a rejected or thrown take,
   * no answer within `storeTimeoutMs`, or an answer that is not a valid decision.
   */
  storeFailure?: StoreFailureAction;
  /**
   * Told about every store failure (before `storeFailure` applies). Errors it throws are ignored (a warning).
   * When neither this, `onResult` nor a subscriber of the `weir:http:rate-limit` channel listens, the first
   * failure a request is let through for prints a process warning (`WEIR_STORE_FAILURE_ALLOWED`), once.
   */
  onStoreError?: (error: unknown, req: Req, info: StoreErrorInfo) => void;
  /**
   * Longest wait for an asynchronous store's answer before it counts as failed, in ms (at most 2^31 - 1; or
   * Infinity: none). Default 1000, or the store's own `timeoutMs` + 100 when that is longer. A store's own
   * `timeoutMs` comes first: a value below it + 100 is a RangeError.
   */
  storeTimeoutMs?: number;
  /**
   * Told the outcome of every limit for every request (allowed, limited, store error), with the route and the
   * limit's name: what a metrics layer records. Errors it throws are ignored (a warning).
   */
  onResult?: (outcome: RateLimitOutcome, req: Req) => void;
}

export const LIMIT_OPTIONS = ['limiter', 'name', 'windowMs', 'key', 'ipv6Prefix', 'cost', 'skip', 'countOnly'] as const;
export const RESPONSE_OPTIONS = ['headers', 'storeFailure', 'onStoreError', 'storeTimeoutMs', 'onResult'] as const;

/** The core's option check, with the options object required. */
export function checkKnown(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) throw new TypeError(`${where}: options must be an object, got undefined`);
  checkOptions(where, options, known);
}

/** An optional function option: undefined stays undefined, anything else must be a function. */
export function optionalFunction<F>(where: string, name: string, value: unknown): F | undefined {
  return value === undefined ? undefined : checkFunction<F>(where, name, value);
}

/** The `w` of limits in ms: the window of a sliding window, else the time to refill from empty. */
export function windowMsOf(limits: RateLimiter | RateLimitAlgorithm): number {
  const algorithm = 'algorithm' in limits ? limits.algorithm : limits;
  const config = algorithm.config;
  if (config.kind === 'sliding-window-log' || config.kind === 'sliding-window-counter') return config.windowUs / 1000;
  return algorithm.fullAfterUs / 1000;
}

/** The policy name of limits without a given name: `"<q>-in-<w>s"`. */
function defaultName(limit: number, windowMs: number): string {
  return `${limit}-in-${Math.max(1, Math.ceil(windowMs / 1000))}s`;
}

/** Header variants per quota for decisions that do not say their limits (custom stores); bounded. */
const MAX_QUOTA_VARIANTS = 64;

/** A limit with its options checked and its header fields prepared. */
export class CompiledLimit<Req> {
  readonly name: string;
  /** Whether `name` was given (else it is the default, made unique per response). */
  readonly named: boolean;
  readonly limiter: RateLimiter;
  readonly headers: QuotaHeaders;
  /** Whether this limit writes rate-limit fields (its header style is not `none`). */
  readonly sendsFields: boolean;
  readonly key: ((req: Req) => string) | undefined;
  readonly ipv6Prefix: number;
  readonly fixedCost: number;
  readonly cost: ((req: Req) => number) | undefined;
  readonly skip: ((req: Req) => boolean) | undefined;
  readonly countOnly: ((response: CountedResponse, req: Req) => boolean) | undefined;
  /** The store's synchronous take (key and cost are checked by the chain), when it has one. */
  readonly takeSync: BoundRateLimitStore['takeSync'];
  /**
   * The limiter's table when its store is weir's memory store: the chain admits through it without a decision
   * object on an allowed request, and does not check its answers (they are decisions by construction).
   */
  readonly table: MemoryTable | undefined;

  /** The limits `headers` were made for, and the `windowMs` option (it applies to the default limits only). */
  private readonly defaultLimits: RateLimitAlgorithm;
  private readonly windowOption: number | undefined;
  /** Header fields per limits object (tiers, reconfigured limits): held as long as the limits are. */
  private readonly byLimits = new WeakMap<RateLimitAlgorithm, QuotaHeaders>();
  private readonly byQuota = new Map<number, QuotaHeaders>();

  /** The limiter's wall clock, bound once (only the `legacy` header style reads it). */
  readonly wallNow: () => number;

  /** The last address the default key was made from, and its key: a keep-alive client skips the parsing. */
  private lastAddress: string | undefined = undefined;
  private lastKey: string = UNKNOWN_CLIENT;

  /** The default key of a client address: `ipKey(address, ipv6Prefix)`, remembered for the last address. */
  addressKey(address: string | undefined): string {
    if (address === this.lastAddress && address !== undefined) return this.lastKey;
    const key = ipKey(address, this.ipv6Prefix);
    this.lastAddress = address;
    this.lastKey = key;
    return key;
  }

  /** Gives back units a request was charged (for `countOnly`). */
  refund(key: string, cost: number): Promise<unknown> {
    return this.limiter.refund(key, cost);
  }

  constructor(
    where: string,
    options: LimitOptions<Req>,
    private readonly style: HeaderStyle,
  ) {
    checkKnown(where, options, LIMIT_OPTIONS);
    const limiter = checkRateLimiter(where, 'option "limiter"', options.limiter);
    this.limiter = limiter;
    this.takeSync = limiter.bound.takeSync;
    this.table = limiter.bound instanceof MemoryTable ? limiter.bound : undefined;
    const clock = limiter.clock;
    this.wallNow = () => clock.wallNow();
    this.defaultLimits = limiter.algorithm;
    this.windowOption = options.windowMs === undefined ? undefined : checkPositive(where, 'windowMs', options.windowMs);
    const windowMs = this.windowOption ?? windowMsOf(limiter);
    this.named = options.name !== undefined;
    this.name = options.name === undefined ? defaultName(limiter.limit, windowMs) : checkPolicyName(where, options.name);
    this.key = optionalFunction(where, 'key', options.key);
    this.skip = optionalFunction(where, 'skip', options.skip);
    this.countOnly = optionalFunction(where, 'countOnly', options.countOnly);
    if (options.key !== undefined && options.ipv6Prefix !== undefined) {
      throw new TypeError(
        `${where}: option "ipv6Prefix" applies only to the default key; with your own "key", group addresses with ipKey(req.ip, prefix)`,
      );
    }
    this.ipv6Prefix = options.ipv6Prefix === undefined ? 64 : checkIpv6Prefix(where, options.ipv6Prefix);
    const cost = options.cost;
    this.cost = undefined;
    this.fixedCost = 1;
    if (typeof cost === 'function') this.cost = cost;
    else if (cost !== undefined) {
      if (typeof cost !== 'number') {
        throw new TypeError(`${where}: option "cost" must be an integer >= 0 or a function, got ${show(cost)}`);
      }
      checkCount(where, 'cost', cost, 0);
      if (cost > limiter.limit) {
        throw new RangeError(
          `${where}: option "cost" (${cost}) exceeds the limiter's limit (${limiter.limit}): no request could pass`,
        );
      }
      this.fixedCost = cost;
    }
    this.headers = new QuotaHeaders(style, { name: this.name, windowMs }, limiter.limit, !this.named);
    this.sendsFields = style !== 'none';
  }

  /**
   * The header fields of a decision: its own limits' quota, window and name (a key's tier, or limits
   * reconfigured since), so each response reports the policy it was decided with. A tier of a named limit
   * is reported as `<name>-<tier>`; unnamed, as `"<q>-in-<w>s"` of its limits.
   */
  headersFor(decision: RateLimitDecision): QuotaHeaders {
    const limits = decision.limits;
    if (limits === undefined) return decision.limit === this.headers.limit ? this.headers : this.forQuota(decision.limit);
    return this.headersForLimits(limits);
  }

  /** The header fields of a decision made under `limits`. */
  headersForLimits(limits: RateLimitAlgorithm): QuotaHeaders {
    if (limits === this.defaultLimits) return this.headers;
    let headers = this.byLimits.get(limits);
    if (headers === undefined) {
      const windowMs = limits.tier === undefined && this.windowOption !== undefined ? this.windowOption : windowMsOf(limits);
      let name = defaultName(limits.limit, windowMs);
      if (this.named) name = limits.tier === undefined ? this.name : `${this.name}-${limits.tier}`;
      headers = new QuotaHeaders(this.style, { name, windowMs }, limits.limit, !this.named);
      this.byLimits.set(limits, headers);
    }
    return headers;
  }

  /** A decision from a store that does not say its limits, with a quota other than the limiter's. */
  private forQuota(limit: number): QuotaHeaders {
    let headers = this.byQuota.get(limit);
    if (headers === undefined) {
      const windowMs = this.headers.policy.windowMs;
      const name = this.named ? this.name : defaultName(limit, windowMs);
      headers = new QuotaHeaders(this.style, { name, windowMs }, limit, !this.named);
      if (this.byQuota.size >= MAX_QUOTA_VARIANTS) this.byQuota.clear();
      this.byQuota.set(limit, headers);
    }
    return headers;
  }
}

export interface ChainSettings<Req> {
  readonly style: HeaderStyle;
  readonly storeFailure: StoreFailureAction;
  readonly onStoreError: ((error: unknown, req: Req, info: StoreErrorInfo) => void) | undefined;
  readonly onResult: ((outcome: RateLimitOutcome, req: Req) => void) | undefined;
  readonly storeTimeoutMs: number;
  /** Whether `storeTimeoutMs` was given (else it is the default, raised for slower stores). */
  readonly storeTimeoutExplicit: boolean;
}

/** How much longer than a store's own `timeoutMs` the backstop waits, so the store's `onError` decides first. */
export const STORE_TIMEOUT_MARGIN_MS = 100;
export const DEFAULT_STORE_TIMEOUT_MS = 1000;

/** The store's own deadline for an answer (the Redis store's `timeoutMs`), if its contract declares one. */
function ownTimeoutOf(limiter: RateLimiter): number | undefined {
  const own: unknown = limiter.bound.timeoutMs;
  return typeof own === 'number' && Number.isFinite(own) && own > 0 ? own : undefined;
}

/**
 * The backstop of one limit: `storeTimeoutMs`, but never before the store's own timeout has let its
 * `onError` decide. An explicit value that would cut it short is a configuration error.
 */
export function backstopMs<Req>(where: string, limit: CompiledLimit<Req>, settings: ChainSettings<Req>): number {
  const own = limit.takeSync === undefined ? ownTimeoutOf(limit.limiter) : undefined;
  if (own === undefined) return settings.storeTimeoutMs;
  const least = Math.min(own + STORE_TIMEOUT_MARGIN_MS, MAX_TIMER_MS);
  if (settings.storeTimeoutMs >= least) return settings.storeTimeoutMs;
  if (!settings.storeTimeoutExplicit) return least;
  throw new RangeError(
    `${where}: option "storeTimeoutMs" (${settings.storeTimeoutMs}) must be at least the store's own timeoutMs (${own}) + ${STORE_TIMEOUT_MARGIN_MS} for limit "${limit.name}", so that the store's onError decides before this backstop (or leave storeTimeoutMs unset)`,
  );
}

export function checkResponseOptions<Req>(where: string, options: ResponseOptions<Req>): ChainSettings<Req> {
  const style = options.headers === undefined ? 'draft-10' : checkOneOf(where, 'headers', options.headers, HEADER_STYLES);
  const storeFailure = options.storeFailure === undefined ? 'allow' : options.storeFailure;
  if (storeFailure !== 'allow' && storeFailure !== 'reject') {
    throw new TypeError(`${where}: option "storeFailure" must be "allow" or "reject", got ${show(storeFailure)}`);
  }
  const timeout =
    options.storeTimeoutMs === undefined
      ? DEFAULT_STORE_TIMEOUT_MS
      : checkDuration(where, 'storeTimeoutMs', options.storeTimeoutMs, { exclusiveMin: true, never: true });
  return {
    style,
    storeFailure,
    onStoreError: optionalFunction(where, 'onStoreError', options.onStoreError),
    onResult: optionalFunction(where, 'onResult', options.onResult),
    storeTimeoutMs: timeout,
    storeTimeoutExplicit: options.storeTimeoutMs !== undefined,
  };
}

/** Splits an adapter's options into the response options (returned) and the rest. */
export function responseOptionsOf<Req>(options: ResponseOptions<Req>): ResponseOptions<Req> {
  const picked: ResponseOptions<Req> = {};
  for (const name of RESPONSE_OPTIONS) {
    if (options[name] !== undefined) (picked as Record<string, unknown>)[name] = options[name];
  }
  return picked;
}
