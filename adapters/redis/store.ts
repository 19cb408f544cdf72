/**
 * `redisStore({ client, prefix, onError })`: a rate-limit store (src/rate-limit/store.ts) that keeps state in
 * Redis, so every process using the same Redis shares the limits. The parts:
 *
 * - options.ts: the options, their defaults and their parsing (the core's option layer);
 * - client.ts, script-client.ts, clients/: the one narrow interface to the client library (ioredis,
 *   iovalkey, node-redis, Valkey GLIDE), with NOSCRIPT recovery;
 * - scripts.ts: each algorithm's Lua twin and the call builders (what to send for a take or a refund);
 * - transport.ts: sending with a deadline per decision, the in-flight bound, failure accounting per node;
 * - suspension.ts: when a node is not sent to (a pure state machine);
 * - fallback.ts: what 'allow' and 'deny' decide (a pure function);
 * - blocked.ts: the optional cache of keys known to be blocked.
 *
 * One round trip per decision: the script reads Redis `TIME`, decides, writes and sets the TTL atomically.
 * Keys: `prefix{escapedKey}` (keys.ts), so a decision's keys share one Cluster slot. When the client is not
 * ready (fail fast, nothing queued), when Redis answers with an error, or when no answer comes within
 * `timeoutMs`, the decision comes from `onError` and a `fallback` event reports it.
 */
import type { Clock } from '../../src/core/clock.js';
import { Emitter, type Listener } from '../../src/core/events.js';
import { show } from '../../src/core/validate.js';
import { StepResult } from '../../src/rate-limit/algorithms.js';
import { storedKey } from '../../src/rate-limit/keys.js';
import {
  type BoundRateLimitStore,
  type RateLimitAlgorithm,
  type RateLimitDecision,
  type RateLimitStore,
  toDecision,
} from '../../src/rate-limit/store.js';
import { BlockedKeys } from './blocked.js';
import { fallbackDecision } from './fallback.js';
import {
  checkGcraOrigin,
  parseRedisOptions,
  type RedisOnError,
  type RedisRateLimitStore,
  type RedisSettings,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './options.js';
import { LuaScript, type ScriptClient } from './script-client.js';
import {
  bakedBatchScript,
  bakedTakeScript,
  batchScript,
  keysFor,
  LUA_ALGORITHMS,
  limitArgs,
  PACKED_REMAINING,
  packArgs,
  REFUND_SCRIPTS,
  type ScriptCall,
  TAKE_SCRIPTS,
} from './scripts.js';
import { LimitScripts, Pending, type RedisFallbackCause, type Shard, Transport, type TransportOwner } from './transport.js';

export {
  DEFAULT_TIME_ORIGIN_SECONDS,
  type RedisClient,
  type RedisOnError,
  type RedisRateLimitStore,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './options.js';
export type { RedisFallbackCause } from './transport.js';

/** One `LuaScript` (hashed once) per script text. */
const scripts = new Map<string, LuaScript>();
export function luaScriptOf(call: ScriptCall): LuaScript {
  return scriptOf(call.script, call.keys.length);
}

/** One `LuaScript` per script text, with `keys` keys per call (-1: a batch). */
function scriptOf(lua: string, keys: number): LuaScript {
  let script = scripts.get(lua);
  if (script === undefined) {
    script = new LuaScript(lua, keys);
    scripts.set(lua, script);
  }
  return script;
}

/**
 * Most sets of limits per process whose scripts get the limits written in. Every limiter's default limits,
 * tiers and reconfigurations bake one pair of scripts, which stays in Redis's script cache (and in this
 * process); past this many, limits travel as arguments instead, so neither a limiter reconfigured
 * continuously nor limiters created per tenant can fill either cache.
 */
export const MAX_BAKED_LIMITS = 64;

/** The baked take script texts of this process (at most MAX_BAKED_LIMITS). */
const baked = new Set<string>();

/**
 * A script reply as a step result: an allowed decision packed in one integer (fullUs * 2^21 + remaining,
 * scripts.ts `PACKED_REMAINING`), or `{ allowed, never, remaining, waitUs, fullUs }`; throws on anything else.
 */
export function stepOf(reply: unknown, out: StepResult): StepResult {
  if (typeof reply === 'number') {
    if (!Number.isSafeInteger(reply) || reply < 0) throw new TypeError(`redisStore: unexpected script reply ${show(reply)}`);
    const remaining = reply % PACKED_REMAINING;
    out.allowed = true;
    out.never = false;
    out.remaining = remaining;
    out.waitUs = 0;
    out.fullUs = (reply - remaining) / PACKED_REMAINING;
    return out;
  }
  const r = reply as unknown[];
  if (!Array.isArray(r) || r.length !== 5) throw new TypeError(`redisStore: unexpected script reply ${show(reply)}`);
  for (let i = 0; i < 5; i++) {
    if (typeof r[i] !== 'number') r[i] = Number(r[i]);
    if (!Number.isFinite(r[i])) throw new TypeError(`redisStore: unexpected script reply ${show(reply)}`);
  }
  out.allowed = r[0] === 1;
  out.never = r[1] === 1;
  out.remaining = r[2] as number;
  out.waitUs = r[3] as number;
  out.fullUs = r[4] as number;
  return out;
}

/** One limiter's view of the Redis store. */
export class RedisBoundStore implements BoundRateLimitStore, TransportOwner {
  readonly timeoutMs: number;
  /** The client seam, the key prefix and the time origin: what a test needs to run a script itself. */
  readonly client: ScriptClient;
  readonly prefix: string;
  readonly origin: number;
  private readonly transport: Transport;
  private readonly step = new StepResult();
  private readonly blocked: BlockedKeys | undefined;
  private readonly onError: RedisOnError;
  /** The scripts of the limits seen last, and of every limits object seen (baked or not). */
  private lastLimits: RateLimitAlgorithm | undefined = undefined;
  private lastScripts: LimitScripts | undefined = undefined;
  private readonly scriptsByLimits = new WeakMap<RateLimitAlgorithm, LimitScripts>();

  constructor(
    readonly algorithm: RateLimitAlgorithm,
    private readonly clock: Clock,
    settings: RedisSettings,
    private readonly events: Emitter<RedisStoreEvents>,
  ) {
    this.client = settings.client;
    this.prefix = settings.prefix;
    this.origin = settings.timeOriginSeconds;
    this.timeoutMs = settings.timeoutMs;
    this.onError = settings.onError;
    this.transport = new Transport(settings.client, settings, clock, this);
    this.blocked = settings.blockedCacheSize > 0 ? new BlockedKeys(settings.blockedCacheSize) : undefined;
  }

  keysOf(key: string): string[] {
    return keysFor(this.algorithm.config.kind, this.prefix, key);
  }

  /** The failure accounting of each node seen so far (one entry off a Cluster). */
  get shards(): readonly Shard[] {
    return this.transport.allShards();
  }

  /** The blocked-key cache, if on. */
  get blockedKeys(): BlockedKeys | undefined {
    return this.blocked;
  }

  take(key: string, cost: number, consume: boolean, limits: RateLimitAlgorithm = this.algorithm): Promise<RateLimitDecision> {
    const blocked = this.blocked;
    if (blocked !== undefined) {
      const hit = blocked.lookup(storedKey(key), cost, limits, this.clock.now());
      if (hit !== undefined) return Promise.resolve(hit);
    }
    const scripts = limits === this.lastLimits ? (this.lastScripts as LimitScripts) : this.scriptsFor(limits);
    const args =
      cost === 1 && consume ? scripts.defaultArgs : [packArgs(-1, this.origin, cost, consume && cost > 0, limitArgs(limits))];
    const kind = limits.config.kind;
    return this.start(key, cost, consume, false, limits, scripts.take, keysFor(kind, this.prefix, key), args, scripts);
  }

  /** The scripts for `limits`: baked ones while the process has baked fewer than MAX_BAKED_LIMITS. */
  scriptsFor(limits: RateLimitAlgorithm): LimitScripts {
    let found = this.scriptsByLimits.get(limits);
    if (found === undefined) {
      const kind = limits.config.kind;
      const keys = LUA_ALGORITHMS[kind].keyCount;
      const packed = packArgs(-1, this.origin, 1, true, limitArgs(limits));
      const take = bakedTakeScript(limits, this.origin);
      if (baked.has(take) || baked.size < MAX_BAKED_LIMITS) {
        baked.add(take);
        found = new LimitScripts(scriptOf(take, keys), scriptOf(bakedBatchScript(limits, this.origin), -1), [], packed);
      } else {
        found = new LimitScripts(scriptOf(TAKE_SCRIPTS[kind], keys), scriptOf(batchScript(kind), -1), [packed], packed);
      }
      this.scriptsByLimits.set(limits, found);
    }
    this.lastLimits = limits;
    this.lastScripts = found;
    return found;
  }

  refund(key: string, cost: number, limits: RateLimitAlgorithm = this.algorithm): Promise<RateLimitDecision> {
    this.blocked?.delete(storedKey(key));
    const kind = limits.config.kind;
    const args = [packArgs(-1, this.origin, cost, false, limitArgs(limits))];
    const script = scriptOf(REFUND_SCRIPTS[kind], LUA_ALGORITHMS[kind].keyCount);
    return this.start(key, cost, false, true, limits, script, keysFor(kind, this.prefix, key), args, undefined);
  }

  private start(
    key: string,
    cost: number,
    consume: boolean,
    refund: boolean,
    limits: RateLimitAlgorithm,
    script: LuaScript,
    keys: string[],
    args: Buffer[],
    scripts: LimitScripts | undefined,
  ): Promise<RateLimitDecision> {
    const now = this.clock.now();
    const transport = this.transport;
    const shard = transport.shardOf(keys[0] as string);
    const pending = new Pending(transport, shard, key, cost, consume, refund, limits, script, keys, args, scripts, now);
    if (!this.client.ready()) {
      // A new connection means the hang is over (ready needs Redis to answer its handshake), so the first
      // decision on it goes to Redis, and failures on the old connection no longer count toward suspending.
      shard.suspension.resume();
      return this.fallback(pending, 'not-ready', undefined);
    }
    const cause = transport.submit(pending, now);
    if (cause !== undefined) return this.fallback(pending, cause, undefined);
    // Safe after sending: an answer (or a synchronous throw of the client) settles in a later microtask.
    return new Promise<RateLimitDecision>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
    });
  }

  async reset(key: string): Promise<void> {
    this.blocked?.delete(storedKey(key));
    if (typeof this.onError === 'object') await this.onError.reset(key);
    if (!this.client.ready()) throw new Error(`redisStore: cannot reset "${key}": the Redis client is ${this.client.state()}`);
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimer(
        () => reject(new Error(`redisStore: reset of "${key}" got no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
        true,
      );
    });
    try {
      await Promise.race([this.client.del(this.keysOf(key)), timeout]);
    } finally {
      this.clock.clearTimer(timer);
    }
  }

  answered(pending: Pending, reply: unknown): void {
    let decision: RateLimitDecision;
    try {
      decision = toDecision(pending.limits, stepOf(reply, this.step));
    } catch (error) {
      this.fallback(pending, 'error', error).then(pending.resolve, pending.reject);
      return;
    }
    if (this.events.has('reply')) this.events.emit('reply', { ms: this.clock.now() - pending.sentAt, node: pending.shard.node });
    const blocked = this.blocked;
    if (blocked !== undefined && !pending.refund && !decision.allowed && decision.reason === 'limit') {
      const step = this.step;
      blocked.remember(
        storedKey(pending.key),
        pending.cost,
        pending.limits,
        pending.sentAt,
        step.waitUs,
        step.fullUs,
        decision.remaining,
        this.clock.now(),
      );
    }
    pending.resolve(decision);
  }

  fellBack(pending: Pending, cause: RedisFallbackCause, error: unknown): void {
    this.fallback(pending, cause, error).then(pending.resolve, pending.reject);
  }

  recovered(shard: Shard, fallbacks: number): void {
    if (this.events.has('recovered')) this.events.emit('recovered', { fallbacks, node: shard.node });
  }

  suspended(shard: Shard): void {
    if (this.events.has('suspended')) {
      this.events.emit('suspended', { failures: shard.suspendedAfter, forMs: shard.suspension.forMs, node: shard.node });
    }
  }

  private fallback(pending: Pending, cause: RedisFallbackCause, error: unknown): Promise<RateLimitDecision> {
    this.transport.countFallback(pending.shard);
    const onError = this.onError;
    const { key, cost, limits } = pending;
    if (this.events.has('fallback')) {
      const action = onError === 'allow' || onError === 'deny' ? onError : 'limiter';
      this.events.emit('fallback', { key, cost, cause, error, action, node: pending.shard.node });
    }
    if (typeof onError === 'object') {
      try {
        const local = onError.bound;
        if (pending.refund) {
          return local.refund !== undefined ? local.refund(key, cost) : local.take(key, 0, false);
        }
        return local.take(key, cost, pending.consume);
      } catch (failure) {
        return Promise.reject(failure);
      }
    }
    // A refund that cannot reach Redis answers like a peek.
    return Promise.resolve(fallbackDecision(onError, limits, pending.refund ? 0 : cost));
  }
}

/**
 * Builds the store around a client seam; `redisStore` passes the detected library, tests a scripted one.
 * @internal
 */
export function createRedisStore(
  options: RedisStoreOptions,
  clientOf?: (where: string, client: unknown) => ScriptClient,
): RedisRateLimitStore {
  const where = 'redisStore';
  const settings = parseRedisOptions(where, options, clientOf);
  const { prefix, timeoutMs, timeOriginSeconds: origin } = settings;
  const events = new Emitter<RedisStoreEvents>(new Set(['fallback', 'recovered', 'suspended', 'reply']));
  let bound: RedisBoundStore | undefined;
  const store: RedisRateLimitStore & RateLimitStore = {
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
      if (algorithm.config.kind === 'gcra') checkGcraOrigin(where, algorithm.config.ticksPerUs, origin, Date.now());
      bound = new RedisBoundStore(algorithm, clock, settings, events);
      return bound;
    },
  };
  return Object.freeze(store);
}

/**
 * A store that keeps limiter state in Redis. `client` is an ioredis or iovalkey `Redis`/`Cluster` (Sentinel
 * too), a node-redis v5/v6 client, cluster or Sentinel, or a Valkey GLIDE client. Bind it to one limiter.
 */
export function redisStore(options: RedisStoreOptions): RedisRateLimitStore {
  return createRedisStore(options);
}
