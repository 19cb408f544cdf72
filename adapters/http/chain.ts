/**
 * The chain that runs one or more limits for a request and answers for them. A framework only supplies a
 * {@link Host}: how to read the client address, write a header, continue, fail, and send a response.
 *
 * Per request, for each limit in order: `skip(req)` → `key(req)` → `cost(req)` → take. With a store that
 * answers synchronously an allowed request costs no promise and no timer; with weir's memory store, no
 * decision object either (the fields are written from the units left, unless a listener or `countOnly`
 * needs the decision; test/http/memory-path.test.ts holds the two paths equal). A store that
 * answers asynchronously (Redis) is awaited with a backstop timer (`storeTimeoutMs`), so a store that never
 * answers cannot hang the request. A store with its own `timeoutMs` (the Redis store) must get to decide
 * first (its `onError` may fail closed, while `storeFailure` defaults to letting the request through): the
 * default backstop waits at least that plus {@link STORE_TIMEOUT_MARGIN_MS}, and an explicit shorter
 * `storeTimeoutMs` is a RangeError at construction.
 *
 * Failure semantics (never a crash, never a bypass, never an unhandled rejection):
 * - `key`/`cost`/`skip` throwing, a key that is not a string, a cost that is not an integer >= 0: the
 *   error goes to the framework's error handler (a 500 by default). These are programming errors.
 * - The store failing (its `take` rejects or throws, does not answer within `storeTimeoutMs`, or answers
 *   something that is not a valid decision): reported (see observe.ts), then `storeFailure` decides:
 *   `'allow'` (default: the request goes on, without this limiter's headers) or `'reject'` (503 +
 *   `Retry-After: 1`). A limiter with its own error policy (a store's `onError`) resolves a decision
 *   and never reaches this path.
 * - A cost above the limiter's limit can never pass: 429 without `Retry-After` (and no `t`).
 */
import { show } from '../../src/core/validate.js';
import { type RateLimitAlgorithm, type RateLimitDecision, type RateLimiter, TimeoutError } from '../../src/index.js';
import {
  type HeaderDecision,
  type HeaderTarget,
  overloadedProblem,
  type ProblemDetails,
  retryAfterSeconds,
  tooManyRequestsProblem,
} from './headers.js';
import { Observer, warnHook, warnUnobservedStoreFailure } from './observe.js';
import { backstopMs, type ChainSettings, type CompiledLimit, type LimitedInfo } from './options.js';

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
  /**
   * True when this chain is the only one that can write rate-limit fields on a response (Fastify: one
   * registration per application, and a route's limits replace the global ones): its first limit then
   * sets the fields without reading them, replacing any an earlier hook of the application set.
   */
  readonly soleWriter?: boolean;
  /** A refusal; `Retry-After` and the rate-limit fields are set already. */
  limited(req: Req, res: Res, next: Next, info: LimitedInfo): void;
  /** Sends a problem-details response with `status` (the 503 of a failed store in `reject` mode). */
  sendProblem(req: Req, res: Res, next: Next, problem: ProblemDetails): void;
  /** The route pattern the request matched, if the framework knows it yet (for outcomes; optional). */
  route?(req: Req): string | undefined;
  /**
   * Calls `done` once when the response is over (sent, or its connection closed), with its status code.
   * Needed only by limits with `countOnly`; a host without it cannot run them.
   */
  whenDone?(res: Res, done: (statusCode: number) => void): void;
}

/** Why `decision` cannot be used (a message), or undefined when it is a valid decision. */
export function invalidDecision(decision: unknown): string | undefined {
  if (typeof decision !== 'object' || decision === null) return `not an object: ${show(decision)}`;
  const d = decision as Partial<Record<keyof RateLimitDecision, unknown>>;
  if (typeof d.allowed !== 'boolean') return `"allowed" must be a boolean, got ${show(d.allowed)}`;
  const limit = d.limit;
  if (typeof limit !== 'number' || !(limit > 0) || !Number.isFinite(limit)) {
    return `"limit" must be a finite number > 0, got ${show(limit)}`;
  }
  const remaining = d.remaining;
  if (typeof remaining !== 'number' || !(remaining >= 0 && remaining <= limit)) {
    return `"remaining" must be a number in [0, limit], got ${show(remaining)}`;
  }
  // Infinity is the wait of a cost that can never pass, so only a refusal may have it.
  const wait = d.retryAfterMs;
  if (typeof wait !== 'number' || !(wait >= 0) || (d.allowed && !Number.isFinite(wait))) {
    return `"retryAfterMs" must be a number >= 0 (Infinity only when refused), got ${show(wait)}`;
  }
  const reset = d.resetAfterMs;
  if (typeof reset !== 'number' || !(reset >= 0) || !Number.isFinite(reset)) {
    return `"resetAfterMs" must be a finite number >= 0, got ${show(reset)}`;
  }
  return undefined;
}

/** A store's answer that is not a decision: handled as a store failure. */
export class InvalidDecisionError extends TypeError {
  override readonly name = 'InvalidDecisionError';
  constructor(
    readonly decision: unknown,
    reason: string,
  ) {
    super(`the rate-limit store returned an invalid decision: ${reason}`);
  }
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

/**
 * The fields of an allowed decision, reused from request to request: the header writer reads them at once
 * and keeps none of them, so the memory store's allowed path allocates no decision.
 */
class AllowedFields implements HeaderDecision {
  readonly allowed = true;
  limit = 0;
  remaining = 0;
  readonly retryAfterMs = 0;
  resetAfterMs = 0;
}

/** Refunds a charged request that `countOnly` does not select, once its response is over. */
class Charge<Req> {
  constructor(
    private readonly limit: CompiledLimit<Req>,
    private readonly req: Req,
    private readonly key: string,
    private readonly cost: number,
  ) {}

  readonly settle = (statusCode: number): void => {
    const limit = this.limit;
    let counted: boolean;
    try {
      counted = (limit.countOnly as (response: { statusCode: number }, req: Req) => boolean)({ statusCode }, this.req) === true;
    } catch (error) {
      warnHook(`rate limit "${limit.name}": countOnly threw (the request stays counted)`, error);
      return;
    }
    if (counted) return;
    try {
      limit.refund(this.key, this.cost).then(undefined, (error: unknown) => {
        warnHook(`rate limit "${limit.name}": a refund failed`, error);
      });
    } catch (error) {
      warnHook(`rate limit "${limit.name}": a refund failed`, error);
    }
  };
}

/** Runs limits in order for one request; the first refusal answers, a full pass calls `host.pass`. */
export class LimitChain<Req, Res, Next> {
  /** Per limit: how long an asynchronous take may take before it counts as a store failure. */
  private readonly backstops: readonly number[];
  private readonly observer: Observer<Req>;
  /** The limit that writes first on every response, when no other chain can write before it (see `soleWriter`). */
  private readonly writesFirst: CompiledLimit<Req> | undefined;
  /** Filled for each allowed take of the memory store, and read at once by the header writer. */
  private readonly allowedFields = new AllowedFields();

  constructor(
    readonly limits: readonly CompiledLimit<Req>[],
    private readonly host: Host<Req, Res, Next>,
    private readonly settings: ChainSettings<Req>,
    private readonly where: string,
  ) {
    this.backstops = limits.map((limit) => backstopMs(where, limit, settings));
    const names = new Set<string>();
    for (const limit of limits) {
      if (limit.countOnly !== undefined && host.whenDone === undefined) {
        throw new TypeError(`${where}: option "countOnly" is not supported by this adapter`);
      }
      if (!limit.named) continue;
      if (names.has(limit.name)) {
        throw new RangeError(
          `${where}: two limits are named ${show(limit.name)}; each limit needs its own name (they are members of one RateLimit list)`,
        );
      }
      names.add(limit.name);
    }
    this.observer = new Observer(where, settings.onResult, host.route?.bind(host));
    this.writesFirst = host.soleWriter === true ? limits[0] : undefined;
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
        key = limit.key === undefined ? limit.addressKey(this.host.clientAddress(req)) : this.keyOf(limit, req);
        cost = limit.cost === undefined ? limit.fixedCost : this.costOf(limit, req);
      } catch (error) {
        this.host.fail(req, res, next, error);
        return;
      }
      const table = limit.table;
      if (table !== undefined) {
        // weir's memory store: an allowed request costs no decision object (the fields are written from the
        // units left), unless a listener or `countOnly` needs the decision.
        let limits: RateLimitAlgorithm;
        let admitted: number | RateLimitDecision;
        try {
          // A `tierOf` that throws is a store failure, as on every store's path.
          limits = limit.limiter.limitsFor(key);
          admitted = table.admitSync(key, cost, true, limits);
        } catch (error) {
          if (!this.storeFailed(limit, key, cost, error, req, res, next)) return;
          continue;
        }
        if (typeof admitted === 'number') {
          if (limit.countOnly === undefined && !this.observer.active) {
            if (limit.sendsFields) this.writeAllowed(limit, limits, admitted, table.allowedResetAfterMs(), res);
            continue;
          }
          admitted = table.allowedDecision(limits);
        }
        if (!this.decided(limit, key, cost, admitted, req, res, next)) return;
        continue;
      }
      const sync = limit.takeSync;
      if (sync === undefined) {
        this.takeAsync(i, limit, key, cost, req, res, next);
        return;
      }
      let decision: RateLimitDecision;
      try {
        decision = sync(key, cost, true, limit.limiter.limitsFor(key));
      } catch (error) {
        if (!this.storeFailed(limit, key, cost, error, req, res, next)) return;
        continue;
      }
      if (!this.decided(limit, key, cost, decision, req, res, next)) return;
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
      if (this.storeFailed(limit, key, cost, error, req, res, next)) this.from(i + 1, req, res, next);
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
          ? this.storeFailed(limit, key, cost, error, req, res, next)
          : this.decided(limit, key, cost, decision, req, res, next);
      if (goOn) this.from(i + 1, req, res, next);
    } catch (failure) {
      try {
        this.host.fail(req, res, next, failure);
      } catch (last) {
        warnHook(`${this.where}: could not report an error`, last);
      }
    }
  }

  /** Checks a store's answer and applies it; an invalid answer is a store failure. Returns true to go on. */
  private decided(
    limit: CompiledLimit<Req>,
    key: string,
    cost: number,
    decision: RateLimitDecision,
    req: Req,
    res: Res,
    next: Next,
  ): boolean {
    const invalid = limit.table !== undefined ? undefined : invalidDecision(decision);
    if (invalid !== undefined) {
      return this.storeFailed(limit, key, cost, new InvalidDecisionError(decision, invalid), req, res, next);
    }
    if (this.observer.active) {
      this.observer.report(req, limit.name, key, cost, decision.allowed ? 'allowed' : 'limited', decision, undefined, undefined);
    }
    if (decision.allowed && limit.countOnly !== undefined && cost > 0) {
      (this.host.whenDone as NonNullable<Host<Req, Res, Next>['whenDone']>)(res, new Charge(limit, req, key, cost).settle);
    }
    return this.apply(limit, key, cost, decision, req, res, next);
  }

  /** Writes the fields of a take the memory store allowed, from the units left (see {@link AllowedFields}). */
  private writeAllowed(
    limit: CompiledLimit<Req>,
    limits: RateLimitAlgorithm,
    remaining: number,
    resetAfterMs: number,
    res: Res,
  ): void {
    const fields = this.allowedFields;
    fields.limit = limits.limit;
    fields.remaining = remaining;
    fields.resetAfterMs = resetAfterMs;
    limit.headersForLimits(limits).write(this.host, res, fields, limit.wallNow, limit === this.writesFirst);
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
    const name = !limit.sendsFields
      ? limit.name
      : limit.headersFor(decision).write(host, res, decision, limit.wallNow, limit === this.writesFirst);
    if (decision.allowed) return true;
    const retryAfter = retryAfterSeconds(decision);
    if (retryAfter !== undefined) host.setHeader(res, 'Retry-After', String(retryAfter));
    const problem = tooManyRequestsProblem(name, retryAfter, cost, decision.limit);
    host.limited(req, res, next, { name, key, cost, decision, retryAfter, problem });
    return false;
  }

  /** Reports a store failure and applies `storeFailure`; returns true when the request goes on. */
  private storeFailed(
    limit: CompiledLimit<Req>,
    key: string,
    cost: number,
    error: unknown,
    req: Req,
    res: Res,
    next: Next,
  ): boolean {
    const { storeFailure, onStoreError } = this.settings;
    if (onStoreError !== undefined) {
      try {
        onStoreError(error, req, { name: limit.name, key, action: storeFailure });
      } catch (hookError) {
        warnHook(`${this.where}: onStoreError threw`, hookError);
      }
    }
    const observed = this.observer.active;
    if (observed) this.observer.report(req, limit.name, key, cost, 'store-error', undefined, storeFailure, error);
    if (storeFailure === 'allow') {
      if (onStoreError === undefined && !observed) warnUnobservedStoreFailure(this.where, limit.name, error);
      return true;
    }
    this.host.setHeader(res, 'Retry-After', '1');
    const problem = overloadedProblem(1);
    problem.detail = `Rate limit "${limit.name}" could not be checked; retry after 1 s.`;
    this.host.sendProblem(req, res, next, problem);
    return false;
  }
}
