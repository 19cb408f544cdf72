/** `redisStore`'s options: their types, named defaults, and parsing with the core's option layer. */
import type { Listener } from '../../src/core/events.js';
import { checkBoolean, checkCount, checkDuration, checkOptions, isUnset, show } from '../../src/core/validate.js';
import type { RateLimiter } from '../../src/rate-limit/limiter.js';
import type { RateLimitStore } from '../../src/rate-limit/store.js';
import { scriptClientOf } from './client.js';
import type { ScriptClient } from './script-client.js';
import { checkTimeOriginSeconds } from './scripts.js';
import type { RedisFallbackCause } from './transport.js';

/** 2025-01-01T00:00:00Z. GCRA keeps `nowUs * ticksPerUs < 2^53`, i.e. at least 8.9 years after the origin. */
export const DEFAULT_TIME_ORIGIN_SECONDS = 1_735_689_600;
export const DEFAULT_TIMEOUT_MS = 100;
export const DEFAULT_SUSPEND_AFTER = 3;
export const DEFAULT_SUSPEND_FOR_MS = 1000;
/** Per node. Enough to keep a local Redis busy; a healthy one never makes decisions fall back (they wait). */
export const DEFAULT_MAX_IN_FLIGHT = 256;

export type RedisOnError = 'allow' | 'deny' | RateLimiter;

/**
 * A client of one of the supported libraries: ioredis or iovalkey (`Redis`, `Cluster`, Sentinel via the
 * `sentinels` option), node-redis v5/v6 (`createClient`, `createCluster`, `createSentinel`), Valkey GLIDE (`GlideClient`,
 * `GlideClusterClient`). Typed loosely so that none of them is a required dependency.
 */
export type RedisClient = object;

export interface RedisStoreOptions {
  /**
   * The Redis client (see {@link RedisClient}); recognised by shape. Recommended for ioredis:
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 0` (docs/redis.md has the settings of each client).
   */
  client: RedisClient;
  /** Prepended to every key (non-empty, without `{` or `}`); use one prefix per limiter. */
  prefix: string;
  /**
   * What decides when Redis cannot (not ready, error, or no answer within `timeoutMs`): `'allow'` (fail
   * open), `'deny'` (fail closed), or a local limiter (e.g. an in-memory `tokenBucket` with the limit
   * divided by the number of instances). Required: there is no safe default for every application.
   */
  onError: RedisOnError;
  /** Longest wait for Redis's answer, in ms, before `onError` decides (default 100, at most 2^31 - 1). */
  timeoutMs?: number;
  /** Keys remembered as blocked until a time, so floods on them skip Redis (default 0: off). */
  blockedCacheSize?: number;
  /** Epoch seconds that Redis time is counted from (default 2025-01-01); the same in every process. */
  timeOriginSeconds?: number;
  /** Consecutive timeouts or errors of a node after which its keys stop going to Redis for `suspendForMs` (default 3). */
  suspendAfter?: number;
  /** How long a suspended node's decisions fall back at once (cause 'suspended') before one probe goes (default 1000). */
  suspendForMs?: number;
  /**
   * Most commands on the wire per node (timed out ones included: a hung Redis still holds them). More
   * decisions wait for room, within their `timeoutMs`; once the node has stopped answering (a command timed
   * out unanswered) they fall back at once (cause 'overloaded'). Bounds what a hung Redis can queue and
   * replay (default 256).
   */
  maxInFlight?: number;
  /**
   * Coalesce the decisions issued in one event-loop turn (a microtask checkpoint): the turn's first goes
   * out at once, the others as batch script calls of at most `maxBatch` that decide each in arrival order,
   * atomically, on Redis's clock, exactly as one call per take would (default true). Ignored on a Cluster,
   * where the keys of one call must share a slot.
   */
  coalesce?: boolean;
  /**
   * With `coalesce`, the most decisions one script call carries (default 16): a turn's decisions beyond it
   * go out as further calls on the same connection, in order, so that Redis decides one batch while the
   * client handles the answer to the one before.
   */
  maxBatch?: number;
}

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
    /** On a Cluster, the node (`host:port`) that owns the key; undefined otherwise. */
    node?: string | undefined;
  };
  /** Redis (on a Cluster: the node `node`) answered again after `fallbacks` decisions fell back. */
  recovered: { fallbacks: number; node?: string | undefined };
  /**
   * The store stopped sending to Redis (on a Cluster: to `node`) for `forMs`, after `failures` timeouts or
   * errors in a row, or after a failed probe; decisions meanwhile fall back with cause `suspended`.
   */
  suspended: { failures: number; forMs: number; node?: string | undefined };
  /** Redis answered a decision in time, `ms` after it was asked for (waiting for room on the wire included). */
  reply: { ms: number; node?: string | undefined };
}

export interface RedisRateLimitStore extends RateLimitStore {
  readonly prefix: string;
  readonly timeoutMs: number;
  on<K extends keyof RedisStoreEvents & string>(event: K, listener: Listener<RedisStoreEvents[K]>): () => void;
  /** The Redis keys that hold `key`'s state (one, or two for the sliding log). */
  keysOf(key: string): string[];
}

/** The checked options. */
export interface RedisSettings {
  readonly client: ScriptClient;
  readonly prefix: string;
  readonly onError: RedisOnError;
  readonly timeoutMs: number;
  readonly suspendAfter: number;
  readonly suspendForMs: number;
  readonly maxInFlight: number;
  readonly blockedCacheSize: number;
  readonly timeOriginSeconds: number;
  readonly coalesce: boolean;
  readonly maxBatch: number;
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
  'coalesce',
  'maxBatch',
] as const;

/** The default most decisions per coalesced call (see `maxBatch`; docs/redis.md has the measurements). */
export const DEFAULT_MAX_BATCH = 16;
/** A batch's keys and arguments travel in one command: a bound that keeps one call's time on Redis short. */
const MAX_MAX_BATCH = 1000;

/** The blocked-key cache holds an entry per key: a bound that a typo cannot turn into gigabytes. */
const MAX_BLOCKED_CACHE_SIZE = 10_000_000;

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

const POSITIVE_MS = { exclusiveMin: true } as const;
const COUNT_OR_NEVER = { unbounded: true } as const;

/**
 * Parses `options`; `clientOf` turns the `client` option into the store's client seam (the library
 * detection by default; tests pass a scripted client).
 */
export function parseRedisOptions(
  where: string,
  options: RedisStoreOptions,
  clientOf: (where: string, client: unknown) => ScriptClient = scriptClientOf,
): RedisSettings {
  if (options === undefined || options === null) throw new TypeError(`${where}: options are required`);
  checkOptions(where, options, OPTIONS);
  if (isUnset(where, 'client', options.client)) {
    throw new TypeError(`${where}: option "client" is required (an ioredis, node-redis, iovalkey or Valkey GLIDE client)`);
  }
  const client = clientOf(where, options.client);
  const prefix = checkPrefix(where, options.prefix);
  if (isUnset(where, 'onError', options.onError)) {
    throw new TypeError(`${where}: option "onError" is required: 'allow' (fail open), 'deny' (fail closed) or a local limiter`);
  }
  const o = options;
  return {
    client,
    prefix,
    onError: checkOnError(where, o.onError),
    timeoutMs: isUnset(where, 'timeoutMs', o.timeoutMs)
      ? DEFAULT_TIMEOUT_MS
      : checkDuration(where, 'timeoutMs', o.timeoutMs, POSITIVE_MS),
    suspendAfter: isUnset(where, 'suspendAfter', o.suspendAfter)
      ? DEFAULT_SUSPEND_AFTER
      : checkCount(where, 'suspendAfter', o.suspendAfter, 1, COUNT_OR_NEVER),
    suspendForMs: isUnset(where, 'suspendForMs', o.suspendForMs)
      ? DEFAULT_SUSPEND_FOR_MS
      : checkDuration(where, 'suspendForMs', o.suspendForMs, POSITIVE_MS),
    maxInFlight: isUnset(where, 'maxInFlight', o.maxInFlight)
      ? DEFAULT_MAX_IN_FLIGHT
      : checkCount(where, 'maxInFlight', o.maxInFlight, 1, COUNT_OR_NEVER),
    blockedCacheSize: isUnset(where, 'blockedCacheSize', o.blockedCacheSize)
      ? 0
      : checkCount(where, 'blockedCacheSize', o.blockedCacheSize, 0, { max: MAX_BLOCKED_CACHE_SIZE }),
    timeOriginSeconds: isUnset(where, 'timeOriginSeconds', o.timeOriginSeconds)
      ? DEFAULT_TIME_ORIGIN_SECONDS
      : checkTimeOriginSeconds(where, o.timeOriginSeconds),
    coalesce: isUnset(where, 'coalesce', o.coalesce) ? true : checkBoolean(where, 'coalesce', o.coalesce),
    maxBatch: isUnset(where, 'maxBatch', o.maxBatch)
      ? DEFAULT_MAX_BATCH
      : checkCount(where, 'maxBatch', o.maxBatch, 1, { max: MAX_MAX_BATCH }),
  };
}

/** GCRA counts time in ticks below 2^53: the origin must be recent enough for the rate. */
export function checkGcraOrigin(where: string, ticksPerUs: number, origin: number, nowMs: number): void {
  const nowUs = (nowMs / 1000 - origin) * 1e6;
  if (nowUs < 0 || nowUs * ticksPerUs > Number.MAX_SAFE_INTEGER * 0.99) {
    throw new RangeError(
      `${where}: GCRA at this rate needs timeOriginSeconds within ${Math.floor(Number.MAX_SAFE_INTEGER / ticksPerUs / 1e6 / 86400)} days before now, got ${origin}`,
    );
  }
}
