/**
 * `redisStore({ client, prefix, onError })`: a rate-limit store (src/rate-limit/store.ts) that keeps state in
 * Redis, so every process using the same Redis shares the limits.
 *
 * - One round trip per decision: each algorithm's Lua twin (scripts.ts), registered with ioredis
 *   `defineCommand` (EVALSHA, EVAL on first use per socket and after NOSCRIPT: restarts, failovers and
 *   SCRIPT FLUSH heal by themselves), reads Redis `TIME`, decides, writes and sets the TTL atomically.
 * - Keys: `prefix{escapedKey}` (keys.ts), so a decision's keys share one Cluster slot.
 * - Failure: when the client is not ready (fail fast, nothing queued), when Redis answers with an error, or
 *   when no answer comes within `timeoutMs`, the decision comes from `onError` ('allow', 'deny', or a local
 *   limiter) and a `fallback` event reports it. Timeouts share one timer per store: no per-call timer.
 * - A hung Redis (SIGSTOP, a partition) keeps the socket open and the client 'ready', and ioredis queues
 *   every command sent to it; when Redis resumes, those stale takes would all count. So the store sends
 *   nothing while it has `suspendAfter` consecutive timeouts/errors behind it (a small circuit breaker:
 *   cause 'suspended', for `suspendForMs`, then one probe; an answer in time resumes), and never has more
 *   than `maxInFlight` commands unanswered (cause 'overloaded'). The first answer after fallbacks emits
 *   `recovered`.
 * - Optional local cache of keys known to be blocked until a time (`blockedCacheSize`), so a flood on a
 *   blocked key costs no round trip.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../../src/core/clock.js';
import { Emitter, type Listener } from '../../src/core/events.js';
import { checkInteger, checkOptions, show } from '../../src/core/validate.js';
import { StepResult } from '../../src/rate-limit/algorithms.js';
import type { RateLimiter } from '../../src/rate-limit/limiter.js';
import {
  type BoundRateLimitStore,
  type RateLimitAlgorithm,
  type RateLimitDecision,
  type RateLimitStore,
  toDecision,
} from '../../src/rate-limit/store.js';
import { LOG_TOTAL_SUFFIX, stateKey } from './keys.js';
import { GCRA_LUA, SLIDING_COUNTER_LUA, SLIDING_LOG_LUA, TOKEN_BUCKET_LUA } from './scripts.js';

/** An ioredis client: a `Redis` or a `Cluster` (ioredis 5.3+ or 6). */
export type RedisClient = Redis | Cluster;

/** 2025-01-01T00:00:00Z. GCRA keeps `nowUs * ticksPerUs < 2^53`, i.e. at least 8.9 years after the origin. */
export const DEFAULT_TIME_ORIGIN_SECONDS = 1_735_689_600;

export type RedisOnError = 'allow' | 'deny' | RateLimiter;

export interface RedisStoreOptions {
  /** An ioredis `Redis` or `Cluster`. Recommended: `enableOfflineQueue: false`, `maxRetriesPerRequest: 0`. */
  client: RedisClient;
  /** Prepended to every key (non-empty, without `{` or `}`); use one prefix per limiter. */
  prefix: string;
  /**
   * What decides when Redis cannot (not ready, error, or no answer within `timeoutMs`): `'allow'` (fail
   * open), `'deny'` (fail closed), or a local limiter (e.g. an in-memory `tokenBucket` with the limit
   * divided by the number of instances). Required: there is no safe default for every application.
   */
  onError: RedisOnError;
  /** Longest wait for Redis's answer, in ms, before `onError` decides (default 100). */
  timeoutMs?: number;
  /** Keys remembered as blocked until a time, so floods on them skip Redis (default 0: off). */
  blockedCacheSize?: number;
  /** Epoch seconds that Redis time is counted from (default 2025-01-01); the same in every process. */
  timeOriginSeconds?: number;
  /** Consecutive timeouts or errors after which decisions stop going to Redis for `suspendForMs` (default 3). */
  suspendAfter?: number;
  /** How long decisions fall back at once (cause 'suspended') before one probe goes to Redis (default 1000). */
  suspendForMs?: number;
  /**
   * Most commands sent and not yet answered (timed out ones included: a hung Redis still holds them); a
   * decision beyond it falls back at once (cause 'overloaded'). Bounds what a hung Redis can queue (default 256).
   */
  maxInFlight?: number;
}

/**
 * Why a decision fell back: the client is not connected (`not-ready`), Redis answered with an error or the
 * connection dropped (`error`), no answer within `timeoutMs` (`timeout`), the store is not sending after
 * `suspendAfter` consecutive failures (`suspended`), or `maxInFlight` commands are unanswered (`overloaded`).
 */
export type RedisFallbackCause = 'not-ready' | 'timeout' | 'error' | 'suspended' | 'overloaded';

export interface RedisStoreEvents {
  /** A decision came from `onError` instead of Redis. */
  fallback: {
    key: string;
    cost: number;
    cause: RedisFallbackCause;
    /** The Redis error (cause `'error'`); undefined otherwise. */
    error: unknown;
    /** What decided: `'allow'`, `'deny'` or `'limiter'`. */
    action: 'allow' | 'deny' | 'limiter';
  };
  /** Redis answered again after `fallbacks` decisions fell back. */
  recovered: { fallbacks: number };
}

export interface RedisRateLimitStore extends RateLimitStore {
  readonly prefix: string;
  readonly timeoutMs: number;
  on<K extends keyof RedisStoreEvents & string>(event: K, listener: Listener<RedisStoreEvents[K]>): () => void;
  /** The Redis keys that hold `key`'s state (one, or two for the sliding log). */
  keysOf(key: string): string[];
}

const OPTIONS = [
  'client',
  'prefix',
  'onError',
  'timeoutMs',
  'blockedCacheSize',
  'timeOriginSeconds',
  'suspendAfter',
  'suspendForMs',
  'maxInFlight',
] as const;

const DEFAULT_TIMEOUT_MS = 100;
const DEFAULT_SUSPEND_AFTER = 3;
const DEFAULT_SUSPEND_FOR_MS = 1000;
const DEFAULT_MAX_IN_FLIGHT = 256;

/** The retry hint of a fail-closed decision: Redis's recovery time is unknown. */
const DENY_RETRY_AFTER_MS = 1000;

interface ScriptSpec {
  readonly lua: string;
  readonly keys: number;
}

const SCRIPTS: Record<RateLimitAlgorithm['config']['kind'], ScriptSpec> = {
  'token-bucket': { lua: TOKEN_BUCKET_LUA, keys: 1 },
  gcra: { lua: GCRA_LUA, keys: 1 },
  'sliding-window-counter': { lua: SLIDING_COUNTER_LUA, keys: 1 },
  'sliding-window-log': { lua: SLIDING_LOG_LUA, keys: 2 },
};

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Defines the script on the client once (named by its hash, so two copies of weir never clash). */
function commandFor(client: RedisClient, spec: ScriptSpec): ScriptFn {
  const name = `weirRl_${createHash('sha1').update(spec.lua).digest('hex').slice(0, 12)}`;
  const target = client as unknown as Record<string, ScriptFn | undefined>;
  if (typeof target[name] !== 'function') client.defineCommand(name, { numberOfKeys: spec.keys, lua: spec.lua });
  const fn = target[name] as ScriptFn;
  return (...args) => fn.apply(client, args);
}

function configArgs(algorithm: RateLimitAlgorithm): number[] {
  const c = algorithm.config;
  switch (c.kind) {
    case 'token-bucket':
      return [c.capacity, c.unitsPerToken, c.unitsPerUs, c.capacityUnits];
    case 'gcra':
      return [c.burst, c.ticksPerUs, c.intervalTicks, c.toleranceTicks];
    default:
      return [c.limit, c.windowUs];
  }
}

function checkClient(where: string, client: unknown): RedisClient {
  const c = client as Partial<Redis> | null | undefined;
  if (typeof c !== 'object' || c === null || typeof c.defineCommand !== 'function' || typeof c.status !== 'string') {
    throw new TypeError(
      `${where}: option "client" must be an ioredis Redis or Cluster client (with defineCommand and status), got ${show(client)}`,
    );
  }
  const options = (c as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options;
  for (const keyPrefix of [options?.keyPrefix, options?.redisOptions?.keyPrefix]) {
    if (typeof keyPrefix === 'string' && /[{}]/.test(keyPrefix)) {
      throw new RangeError(`${where}: the client's keyPrefix ${show(keyPrefix)} contains "{" or "}", which breaks hash tags`);
    }
  }
  return client as RedisClient;
}

function checkPrefix(where: string, prefix: unknown): string {
  if (typeof prefix !== 'string') throw new TypeError(`${where}: option "prefix" must be a string, got ${show(prefix)}`);
  if (prefix.length === 0) throw new RangeError(`${where}: option "prefix" must not be empty`);
  if (/[{}]/.test(prefix)) {
    throw new RangeError(
      `${where}: option "prefix" must not contain "{" or "}" (they would break hash tags), got ${show(prefix)}`,
    );
  }
  return prefix;
}

function checkOnError(where: string, onError: unknown): RedisOnError {
  if (onError === 'allow' || onError === 'deny') return onError;
  const bound = (onError as Partial<RateLimiter> | null | undefined)?.bound;
  if (typeof onError === 'object' && onError !== null && typeof bound?.take === 'function') return onError as RateLimiter;
  throw new TypeError(
    `${where}: option "onError" must be 'allow', 'deny' or a limiter (e.g. an in-memory tokenBucket), got ${show(onError)}`,
  );
}

function checkMs(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${where}: option "${name}" must be a finite number of milliseconds > 0, got ${show(value)}`);
  }
  return value;
}

/** An integer >= 1, or Infinity (never). */
function checkCount(where: string, name: string, value: unknown): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${where}: option "${name}" must be an integer >= 1 (or Infinity), got ${show(value)}`);
  }
  return value;
}

/** The failure handling of one bound store (checked options). */
export interface RedisFailureSettings {
  readonly onError: RedisOnError;
  readonly timeoutMs: number;
  readonly suspendAfter: number;
  readonly suspendForMs: number;
  readonly maxInFlight: number;
}

/** A decision waiting for Redis. */
class Pending {
  settled = false;
  /** Sent while suspended, after the pause: its outcome resumes or re-suspends the store. */
  probe = false;
  resolve!: (decision: RateLimitDecision) => void;
  reject!: (error: unknown) => void;
  constructor(
    readonly key: string,
    readonly cost: number,
    readonly consume: boolean,
    readonly sentAt: number,
    readonly deadline: number,
  ) {}
}

interface BlockedEntry {
  readonly cost: number;
  /** Clock time (ms) before which the same take is refused. */
  readonly until: number;
  readonly resetUntil: number;
  readonly remaining: number;
}

/** One limiter's view of the Redis store. */
export class RedisBoundStore implements BoundRateLimitStore {
  private readonly command: ScriptFn;
  private readonly args: number[];
  private readonly log: boolean;
  private readonly step = new StepResult();
  private readonly queue: Pending[] = [];
  private head = 0;
  /** Decisions waiting for Redis (not settled yet). */
  private inFlight = 0;
  /** Commands sent whose reply or error has not come back, timed out ones included. */
  private unanswered = 0;
  /** Timeouts and errors since the last answer in time. */
  private failures = 0;
  private suspended = false;
  /** While suspended: clock time from which one probe may go to Redis. */
  private probeAt = 0;
  private probing = false;
  private timer: unknown;
  private timerArmed = false;
  private fallbacks = 0;
  private readonly blocked: Map<string, BlockedEntry> | undefined;
  private readonly onExpire = (): void => this.expire();
  private readonly onError: RedisOnError;
  readonly timeoutMs: number;
  private readonly suspendAfter: number;
  private readonly suspendForMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly algorithm: RateLimitAlgorithm,
    private readonly clock: Clock,
    failure: RedisFailureSettings,
    private readonly blockedCacheSize: number,
    private readonly origin: number,
    private readonly events: Emitter<RedisStoreEvents>,
  ) {
    this.onError = failure.onError;
    this.timeoutMs = failure.timeoutMs;
    this.suspendAfter = failure.suspendAfter;
    this.suspendForMs = failure.suspendForMs;
    this.maxInFlight = failure.maxInFlight;
    const spec = SCRIPTS[algorithm.config.kind];
    this.command = commandFor(client, spec);
    this.args = configArgs(algorithm);
    this.log = spec.keys === 2;
    this.blocked = blockedCacheSize > 0 ? new Map() : undefined;
  }

  keysOf(key: string): string[] {
    const state = stateKey(this.prefix, key);
    return this.log ? [state, state + LOG_TOTAL_SUFFIX] : [state];
  }

  /** Sends the script: `nowUs` -1 reads Redis `TIME`. */
  private send(key: string, cost: number, consume: boolean, nowUs: number): Promise<unknown> {
    const state = stateKey(this.prefix, key);
    const write = consume && cost > 0 ? 1 : 0;
    const a = this.args;
    if (this.log) {
      return this.command(state, state + LOG_TOTAL_SUFFIX, nowUs, this.origin, cost, write, a[0] as number, a[1] as number);
    }
    if (a.length === 2) return this.command(state, nowUs, this.origin, cost, write, a[0] as number, a[1] as number);
    return this.command(state, nowUs, this.origin, cost, write, a[0] as number, a[1] as number, a[2] as number, a[3] as number);
  }

  private toDecision(reply: unknown): RateLimitDecision {
    const r = reply as number[];
    const step = this.step;
    step.allowed = r[0] === 1;
    step.never = r[1] === 1;
    step.remaining = r[2] as number;
    step.waitUs = r[3] as number;
    step.fullUs = r[4] as number;
    return toDecision(this.algorithm, step);
  }

  /**
   * @internal Test-only: the script at an explicit time (µs since the origin), with no timeout, fallback or
   * cache, so that tests can hold the Lua twins to the pure steps.
   */
  async takeAt(key: string, cost: number, consume: boolean, nowUs: number): Promise<RateLimitDecision> {
    return toDecision(this.algorithm, await this.stepAt(key, cost, consume, nowUs));
  }

  /** @internal Test-only: the script's raw step result (µs) at an explicit time. */
  async stepAt(key: string, cost: number, consume: boolean, nowUs: number): Promise<StepResult> {
    if (!Number.isSafeInteger(nowUs) || nowUs < 0) throw new RangeError(`takeAt: nowUs must be an integer >= 0, got ${nowUs}`);
    const r = (await this.send(key, cost, consume, nowUs)) as number[];
    const step = new StepResult();
    step.allowed = r[0] === 1;
    step.never = r[1] === 1;
    step.remaining = r[2] as number;
    step.waitUs = r[3] as number;
    step.fullUs = r[4] as number;
    return step;
  }

  take(key: string, cost: number, consume: boolean): Promise<RateLimitDecision> {
    const blocked = this.blocked;
    if (blocked !== undefined) {
      const hit = blocked.get(key);
      if (hit !== undefined) {
        const now = this.clock.now();
        if (now < hit.until && hit.cost === cost) return Promise.resolve(this.blockedDecision(hit, now));
        if (now >= hit.until) blocked.delete(key);
      }
    }
    if (this.client.status !== 'ready') {
      // ioredis with lazyConnect stays in 'wait' until a command is sent: start it, but do not queue.
      if (this.client.status === 'wait') this.client.connect().catch(() => {});
      // A new connection means the hang is over ('ready' requires Redis to answer its handshake), so the
      // first decision on it goes to Redis. Commands left unanswered by the old one are re-sent by ioredis
      // unless `autoResendUnfulfilledCommands: false` (recommended in docs/redis.md); maxInFlight bounds them.
      if (this.suspended) this.resume();
      return this.fallback(key, cost, consume, 'not-ready', undefined);
    }
    const now = this.clock.now();
    let probe = false;
    if (this.suspended) {
      if (this.probing || now < this.probeAt) return this.fallback(key, cost, consume, 'suspended', undefined);
      probe = true;
    }
    if (this.unanswered >= this.maxInFlight) return this.fallback(key, cost, consume, 'overloaded', undefined);
    if (probe) this.probing = true;
    const pending = new Pending(key, cost, consume, now, now + this.timeoutMs);
    pending.probe = probe;
    const promise = new Promise<RateLimitDecision>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
    });
    let sent: Promise<unknown>;
    try {
      sent = this.send(key, cost, consume, -1);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (reply) => this.answered(pending, reply),
      (error) => this.failed(pending, error),
    );
    this.unanswered++;
    this.queue.push(pending);
    this.inFlight++;
    if (!this.timerArmed) this.arm(this.timeoutMs);
    return promise;
  }

  async reset(key: string): Promise<void> {
    this.blocked?.delete(key);
    if (typeof this.onError === 'object') await this.onError.reset(key);
    if (this.client.status !== 'ready')
      throw new Error(`redisStore: cannot reset "${key}": the Redis client is ${this.client.status}`);
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimer(
        () => reject(new Error(`redisStore: reset of "${key}" got no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      await Promise.race([this.client.del(...this.keysOf(key)), timeout]);
    } finally {
      this.clock.clearTimer(timer);
    }
  }

  private answered(pending: Pending, reply: unknown): void {
    this.unanswered--;
    // A late answer (after the timeout) does not resume: a slow Redis would otherwise flap.
    if (pending.settled) return;
    this.settle(pending);
    this.failures = 0;
    if (this.suspended) this.resume();
    if (this.fallbacks > 0) {
      const fallbacks = this.fallbacks;
      this.fallbacks = 0;
      if (this.events.has('recovered')) this.events.emit('recovered', { fallbacks });
    }
    let decision: RateLimitDecision;
    try {
      decision = this.toDecision(reply);
    } catch (error) {
      this.fallback(pending.key, pending.cost, pending.consume, 'error', error).then(pending.resolve, pending.reject);
      return;
    }
    if (this.blocked !== undefined && !decision.allowed && decision.reason === 'limit') this.remember(pending, decision);
    pending.resolve(decision);
  }

  private failed(pending: Pending, error: unknown): void {
    this.unanswered--;
    if (pending.settled) return;
    this.settle(pending);
    this.failure(pending);
    this.fallback(pending.key, pending.cost, pending.consume, 'error', error).then(pending.resolve, pending.reject);
  }

  private settle(pending: Pending): void {
    pending.settled = true;
    if (--this.inFlight === 0) {
      // Idle: drop the queue and the timer, so nothing is left behind.
      this.queue.length = 0;
      this.head = 0;
      if (this.timerArmed) {
        this.timerArmed = false;
        this.clock.clearTimer(this.timer);
      }
    }
  }

  /** A timeout or an error: a failed probe, or `suspendAfter` failures in a row, suspends sending. */
  private failure(pending: Pending): void {
    this.failures++;
    if (pending.probe) {
      this.probing = false;
      this.suspend();
    } else if (!this.suspended && this.failures >= this.suspendAfter) this.suspend();
  }

  private suspend(): void {
    this.suspended = true;
    this.probeAt = this.clock.now() + this.suspendForMs;
  }

  private resume(): void {
    this.suspended = false;
    this.probing = false;
    this.failures = 0;
  }

  private arm(ms: number): void {
    this.timerArmed = true;
    this.timer = this.clock.setTimer(this.onExpire, ms);
  }

  /** Times out every due decision (deadlines are in send order), then re-arms for the next one. */
  private expire(): void {
    this.timerArmed = false;
    const now = this.clock.now();
    const queue = this.queue;
    while (this.head < queue.length) {
      const pending = queue[this.head] as Pending;
      if (!pending.settled) {
        if (pending.deadline > now) break;
        this.settle(pending);
        this.failure(pending);
        this.fallback(pending.key, pending.cost, pending.consume, 'timeout', undefined).then(pending.resolve, pending.reject);
        if (this.inFlight === 0) return; // settle cleared the queue
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    const next = queue[this.head];
    if (next !== undefined && !this.timerArmed) this.arm(Math.max(0, next.deadline - now));
  }

  private fallback(
    key: string,
    cost: number,
    consume: boolean,
    cause: RedisFallbackCause,
    error: unknown,
  ): Promise<RateLimitDecision> {
    this.fallbacks++;
    const onError = this.onError;
    const action = onError === 'allow' || onError === 'deny' ? onError : 'limiter';
    if (this.events.has('fallback')) this.events.emit('fallback', { key, cost, cause, error, action });
    if (typeof onError === 'object') {
      try {
        return onError.bound.take(key, cost, consume);
      } catch (failure) {
        return Promise.reject(failure);
      }
    }
    const limit = this.algorithm.limit;
    if (cost > limit) {
      return Promise.resolve({
        allowed: false,
        limit,
        remaining: onError === 'allow' ? limit : 0,
        retryAfterMs: Number.POSITIVE_INFINITY,
        resetAfterMs: 0,
        reason: 'cost-exceeds-limit',
      });
    }
    if (onError === 'allow') {
      return Promise.resolve({
        allowed: true,
        limit,
        remaining: limit - cost,
        retryAfterMs: 0,
        resetAfterMs: 0,
        reason: undefined,
      });
    }
    return Promise.resolve({
      allowed: false,
      limit,
      remaining: 0,
      retryAfterMs: DENY_RETRY_AFTER_MS,
      resetAfterMs: DENY_RETRY_AFTER_MS,
      reason: 'limit',
    });
  }

  /**
   * Remembers a refusal until the time Redis said the same take would pass, counted from when the request
   * was sent (Redis decided later, so the entry never outlives the real block).
   */
  private remember(pending: Pending, decision: RateLimitDecision): void {
    const blocked = this.blocked as Map<string, BlockedEntry>;
    const until = pending.sentAt + this.step.waitUs / 1000;
    if (until <= this.clock.now()) return;
    if (!blocked.has(pending.key) && blocked.size >= this.blockedCacheSize) {
      // Bounded: drop the oldest entry (Map iteration is insertion order).
      const oldest = blocked.keys().next().value as string;
      blocked.delete(oldest);
    }
    blocked.set(pending.key, {
      cost: pending.cost,
      until,
      resetUntil: pending.sentAt + this.step.fullUs / 1000,
      remaining: decision.remaining,
    });
  }

  private blockedDecision(hit: BlockedEntry, now: number): RateLimitDecision {
    return {
      allowed: false,
      limit: this.algorithm.limit,
      remaining: hit.remaining,
      retryAfterMs: Math.max(1, Math.ceil(hit.until - now)),
      resetAfterMs: Math.max(0, Math.ceil(hit.resetUntil - now)),
      reason: 'limit',
    };
  }
}

/** A store that keeps limiter state in Redis (ioredis `Redis` or `Cluster`). Bind it to one limiter. */
export function redisStore(options: RedisStoreOptions): RedisRateLimitStore {
  const where = 'redisStore';
  if (options === undefined || options === null) throw new TypeError(`${where}: options are required`);
  checkOptions(where, options, OPTIONS);
  if (options.client === undefined) throw new TypeError(`${where}: option "client" is required (an ioredis Redis or Cluster)`);
  const client = checkClient(where, options.client);
  const prefix = checkPrefix(where, options.prefix);
  if (options.onError === undefined) {
    throw new TypeError(`${where}: option "onError" is required: 'allow' (fail open), 'deny' (fail closed) or a local limiter`);
  }
  const onError = checkOnError(where, options.onError);
  const timeoutMs = options.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : checkMs(where, 'timeoutMs', options.timeoutMs);
  const failure: RedisFailureSettings = {
    onError,
    timeoutMs,
    suspendAfter:
      options.suspendAfter === undefined ? DEFAULT_SUSPEND_AFTER : checkCount(where, 'suspendAfter', options.suspendAfter),
    suspendForMs:
      options.suspendForMs === undefined ? DEFAULT_SUSPEND_FOR_MS : checkMs(where, 'suspendForMs', options.suspendForMs),
    maxInFlight:
      options.maxInFlight === undefined ? DEFAULT_MAX_IN_FLIGHT : checkCount(where, 'maxInFlight', options.maxInFlight),
  };
  const blockedCacheSize =
    options.blockedCacheSize === undefined ? 0 : checkInteger(where, 'blockedCacheSize', options.blockedCacheSize, 0);
  const origin =
    options.timeOriginSeconds === undefined
      ? DEFAULT_TIME_ORIGIN_SECONDS
      : checkInteger(where, 'timeOriginSeconds', options.timeOriginSeconds, 0);
  const events = new Emitter<RedisStoreEvents>(new Set(['fallback', 'recovered']));
  let bound: RedisBoundStore | undefined;
  return Object.freeze({
    prefix,
    timeoutMs,
    on: <K extends keyof RedisStoreEvents & string>(event: K, listener: Listener<RedisStoreEvents[K]>) =>
      events.on(event, listener),
    keysOf(key: string): string[] {
      if (typeof key !== 'string') throw new TypeError(`${where}: keysOf: key must be a string, got ${show(key)}`);
      if (bound === undefined) throw new Error(`${where}: keysOf needs the store to be bound to a limiter first`);
      return bound.keysOf(key);
    },
    bind(algorithm: RateLimitAlgorithm, clock: Clock): BoundRateLimitStore {
      if (bound !== undefined) {
        throw new Error(
          `${where}: this store (prefix ${show(prefix)}) already serves a limiter; create one redisStore per limiter, each with its own prefix`,
        );
      }
      if (algorithm.config.kind === 'gcra') {
        const nowUs = (Date.now() / 1000 - origin) * 1e6;
        if (nowUs < 0 || nowUs * algorithm.config.ticksPerUs > Number.MAX_SAFE_INTEGER * 0.99) {
          throw new RangeError(
            `${where}: GCRA at this rate needs timeOriginSeconds within ${Math.floor(Number.MAX_SAFE_INTEGER / algorithm.config.ticksPerUs / 1e6 / 86400)} days before now, got ${origin}`,
          );
        }
      }
      bound = new RedisBoundStore(client, prefix, algorithm, clock, failure, blockedCacheSize, origin, events);
      return bound;
    },
  });
}
