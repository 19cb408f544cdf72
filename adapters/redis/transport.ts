/**
 * Sending decisions to Redis: one deadline per decision on the shared deadline queue (one timer per store,
 * none per call), the in-flight bound, and failure accounting per node.
 *
 * Nodes: on a Cluster, every node (the owner of a key's slot, as the client knows it) has its own
 * {@link Shard}: its own suspension, in-flight count and waiting line, so a dead or migrating node sends
 * only its own keys to `onError` while the others keep deciding. A standalone or Sentinel client is one
 * shard.
 *
 * The in-flight bound (`maxInFlight` per node) is not a load limit: a healthy Redis answers whatever the
 * client can carry. Up to `maxInFlight` commands are on the wire; decisions beyond it wait in a local line
 * (in arrival order) and go out as answers come back, each still within its own `timeoutMs`. Only when a
 * node has stopped answering (a command on its wire has timed out and is still unanswered) does a decision
 * that finds the wire full fall back at once (cause 'overloaded'), and a waiting one falls back at its
 * deadline. What a hung Redis holds, and replays when it resumes, is thus at most `maxInFlight` takes.
 */
import type { Clock } from '../../src/core/clock.js';
import { DeadlineEntry, DeadlineQueue } from '../../src/core/deadlines.js';
import type { RateLimitAlgorithm, RateLimitDecision } from '../../src/rate-limit/store.js';
import { isNoScript, type LuaScript, type ScriptClient } from './script-client.js';

import { PROBE, SUSPENDED, Suspension } from './suspension.js';

/**
 * Why a decision fell back: the client is not connected (`not-ready`), Redis answered with an error or the
 * connection dropped (`error`), no answer within `timeoutMs` (`timeout`), the node is not sent to after
 * `suspendAfter` consecutive failures (`suspended`), or the node has stopped answering with `maxInFlight`
 * commands unanswered (`overloaded`).
 */
export type RedisFallbackCause = 'not-ready' | 'timeout' | 'error' | 'suspended' | 'overloaded';

const WAITING = 0;
const SENT = 1;
/** Timed out and still unanswered: it holds a place on the wire until Redis answers or the socket drops. */
const STALE = 2;
const SETTLED = 3;

/**
 * The scripts of one set of limits: the take script, the batch script that decides many takes in one call,
 * and the packed arguments of a take of cost 1 (what a baked script assumes when it gets none).
 */
export class LimitScripts {
  constructor(
    readonly take: LuaScript,
    readonly batch: LuaScript,
    /** What a take of cost 1 sends: nothing to a baked script, else the packed default. */
    readonly defaultArgs: Buffer[],
    readonly packedDefault: Buffer,
  ) {}
}

/** One decision (or refund) on its way to Redis. */
export class Pending extends DeadlineEntry {
  state = WAITING;
  /** Sent while its node was suspended, after the pause: its outcome resumes or re-suspends the node. */
  probe = false;
  /** Sent again with EVAL after NOSCRIPT (once). */
  resent = false;
  /** The next decision in its node's waiting line. */
  nextWaiting: Pending | undefined = undefined;
  resolve!: (decision: RateLimitDecision) => void;
  reject!: (error: unknown) => void;
  readonly onReply = (reply: unknown): void => this.transport.replied(this, reply);
  readonly onError = (error: unknown): void => this.transport.failed(this, error);

  constructor(
    private readonly transport: Transport,
    readonly shard: Shard,
    readonly key: string,
    readonly cost: number,
    readonly consume: boolean,
    /** A refund rather than a take. */
    readonly refund: boolean,
    readonly limits: RateLimitAlgorithm,
    readonly script: LuaScript,
    readonly keys: string[],
    /** The packed arguments (one binary string, scripts.ts `packArgs`), or none for a baked default take. */
    readonly args: Buffer[],
    /** The scripts of its limits (takes: for coalescing); undefined for a refund. */
    readonly scripts: LimitScripts | undefined,
    /** Clock time when the decision was asked for. */
    readonly sentAt: number,
  ) {
    super();
  }
}

/** One node's failure accounting. */
export class Shard {
  readonly suspension: Suspension;
  /** Commands sent and not answered, timed out ones included. */
  unanswered = 0;
  /** Commands timed out and not answered. */
  stale = 0;
  waitHead: Pending | undefined = undefined;
  waitTail: Pending | undefined = undefined;
  /** Decisions that fell back since the last answer (reported by `recovered`). */
  fallbacks = 0;
  /** The failures in a row that last suspended the node (reported by `suspended`). */
  suspendedAfter = 0;
  constructor(
    /** `host:port` on a Cluster; undefined for a standalone client. */
    readonly node: string | undefined,
    suspendAfter: number,
    suspendForMs: number,
  ) {
    this.suspension = new Suspension(suspendAfter, suspendForMs);
  }
}

export interface TransportSettings {
  /** Decisions of one turn go out as one batch script call (see options.ts). */
  readonly coalesce: boolean;
  /** The most decisions one batch call carries. */
  readonly maxBatch: number;
  readonly timeoutMs: number;
  readonly suspendAfter: number;
  readonly suspendForMs: number;
  readonly maxInFlight: number;
}

/** What the bound store does with outcomes. */
export interface TransportOwner {
  /** Redis answered `pending` in time. */
  answered(pending: Pending, reply: unknown): void;
  /** `pending` falls back (after it left every queue). */
  fellBack(pending: Pending, cause: RedisFallbackCause, error: unknown): void;
  /** A node answered in time after `fallbacks` decisions of its keys fell back. */
  recovered(shard: Shard, fallbacks: number): void;
  /** A node was suspended (a run of failures, or a failed probe). */
  suspended(shard: Shard): void;
}

export class Transport {
  private readonly deadlines: DeadlineQueue<Pending>;
  private readonly single: Shard;
  private readonly shards = new Map<string, Shard>();
  private readonly coalesce: boolean;
  /** Takes sent in this turn after its first, not flushed yet (coalescing). */
  private batch: Pending[] = [];
  private batchScheduled = false;
  private readonly flush = (): void => this.flushBatch();

  constructor(
    readonly client: ScriptClient,
    readonly settings: TransportSettings,
    private readonly clock: Clock,
    private readonly owner: TransportOwner,
  ) {
    this.deadlines = new DeadlineQueue<Pending>(clock, (pending, now) => this.expired(pending, now));
    this.single = new Shard(undefined, settings.suspendAfter, settings.suspendForMs);
    this.coalesce = settings.coalesce && !client.cluster;
  }

  /** The shard of the node that owns `stateKey` now (the single shard off a Cluster). */
  shardOf(stateKey: string): Shard {
    if (!this.client.cluster) return this.single;
    const node = this.client.nodeOf(stateKey);
    if (node === undefined) return this.single;
    let shard = this.shards.get(node);
    if (shard === undefined) {
      shard = new Shard(node, this.settings.suspendAfter, this.settings.suspendForMs);
      this.shards.set(node, shard);
    }
    return shard;
  }

  /** The shards known so far (for tests and diagnostics). */
  allShards(): Shard[] {
    return [this.single, ...this.shards.values()];
  }

  /**
   * Sends `pending`, or puts it in its node's waiting line; returns the cause when it must fall back at once
   * instead (the caller then settles it).
   */
  submit(pending: Pending, now: number): RedisFallbackCause | undefined {
    const shard = pending.shard;
    const admission = shard.suspension.admit(now);
    if (admission === SUSPENDED) return 'suspended';
    if (shard.unanswered >= this.settings.maxInFlight || shard.waitHead !== undefined) {
      // The wire is full. A node that answers frees room soon; one that stopped answering will not.
      if (shard.stale > 0 || admission === PROBE) return 'overloaded';
      this.deadlines.add(pending, now + this.settings.timeoutMs);
      if (shard.waitTail === undefined) shard.waitHead = pending;
      else shard.waitTail.nextWaiting = pending;
      shard.waitTail = pending;
      return undefined;
    }
    if (admission === PROBE) {
      pending.probe = true;
      shard.suspension.probeSent();
    }
    this.deadlines.add(pending, now + this.settings.timeoutMs);
    this.send(pending);
    return undefined;
  }

  private send(pending: Pending): void {
    pending.state = SENT;
    pending.shard.unanswered++;
    if (this.coalesce && !pending.refund) {
      if (this.batchScheduled) {
        this.batch.push(pending);
        return;
      }
      // The first take of a turn goes out at once, as without coalescing (so that one decision in flight
      // waits for nothing); the turn's later ones are batched at its end, after it on the same connection.
      this.batchScheduled = true;
      queueMicrotask(this.flush);
    }
    this.run(pending);
  }

  private run(pending: Pending): void {
    let sent: Promise<unknown>;
    try {
      sent = this.client.run(pending.script, pending.keys, pending.args);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(pending.onReply, pending.onError);
  }

  /**
   * Sends the takes of this turn: runs of the same algorithm, at most `maxBatch` each, as one batch call
   * each, in arrival order.
   */
  private flushBatch(): void {
    this.batchScheduled = false;
    const list = this.batch;
    if (list.length === 0) return;
    this.batch = [];
    let from = 0;
    while (from < list.length) {
      const first = list[from] as Pending;
      let to = from + 1;
      const end = Math.min(list.length, from + this.settings.maxBatch);
      while (to < end && (list[to] as Pending).script === first.script) to++;
      if (to - from === 1 || first.scripts === undefined) this.run(first);
      else new Batch(this, list.slice(from, to)).send(this.client);
      from = to;
    }
  }

  /** Sends waiting decisions while the node's wire has room and it is not suspended; drops expired ones. */
  private pump(shard: Shard): void {
    const max = this.settings.maxInFlight;
    for (;;) {
      const next = shard.waitHead;
      if (next === undefined) return;
      if (next.state === WAITING && (shard.unanswered >= max || shard.suspension.suspended)) return;
      shard.waitHead = next.nextWaiting;
      if (shard.waitHead === undefined) shard.waitTail = undefined;
      next.nextWaiting = undefined;
      if (next.state === WAITING) this.send(next);
    }
  }

  /**
   * An answer or an error came back for `pending`: frees its place on the wire, and says whether it came in
   * time (a late one settles nothing: a slow Redis would otherwise flap the node's state).
   */
  private landed(pending: Pending): boolean {
    const shard = pending.shard;
    shard.unanswered--;
    if (pending.state === STALE) {
      shard.stale--;
      pending.state = SETTLED;
      return false;
    }
    if (pending.state !== SENT) return false;
    pending.state = SETTLED;
    this.deadlines.remove(pending);
    return true;
  }

  replied(pending: Pending, reply: unknown): void {
    const shard = pending.shard;
    if (this.landed(pending)) {
      shard.suspension.succeeded();
      if (shard.fallbacks > 0) {
        const fallbacks = shard.fallbacks;
        shard.fallbacks = 0;
        this.owner.recovered(shard, fallbacks);
      }
      this.owner.answered(pending, reply);
    }
    this.pump(shard);
  }

  /** Counts a failure on `shard`'s node, and reports a suspension it starts (or renews, for a probe). */
  private fail(shard: Shard, now: number, probe: boolean): void {
    const suspension = shard.suspension;
    const was = suspension.suspended;
    const failures = suspension.failures + 1;
    suspension.failed(now, probe);
    if (suspension.suspended && (!was || probe)) {
      shard.suspendedAfter = failures;
      this.owner.suspended(shard);
    }
  }

  failed(pending: Pending, error: unknown): void {
    if (pending.state === SENT && !pending.resent && isNoScript(error)) {
      // The server lost the script (restart, failover, SCRIPT FLUSH): once more, with EVAL, in its place.
      pending.resent = true;
      this.client.forget(pending.script);
      this.run(pending);
      return;
    }
    const shard = pending.shard;
    if (this.landed(pending)) {
      this.fail(shard, this.clock.now(), pending.probe);
      this.owner.fellBack(pending, 'error', error);
    }
    this.pump(shard);
  }

  private expired(pending: Pending, now: number): void {
    const shard = pending.shard;
    if (pending.state === WAITING) {
      // Never sent: nothing reaches Redis later. It leaves the waiting line when it reaches its head.
      pending.state = SETTLED;
      this.pump(shard);
      this.owner.fellBack(pending, 'overloaded', undefined);
    } else if (pending.state === SENT) {
      pending.state = STALE;
      shard.stale++;
      this.fail(shard, now, pending.probe);
      this.owner.fellBack(pending, 'timeout', undefined);
    }
  }

  /** Settles `pending` (a fallback decided without sending): it must not be queued. */
  countFallback(shard: Shard): void {
    shard.fallbacks++;
  }
}

/**
 * Takes of one turn and one algorithm sent as one script call: the keys of each decision in order, then
 * each decision's packed arguments (the single call's). Each pending keeps its own deadline; the reply
 * (one slot per decision) settles each as its own answer (or error).
 */
class Batch {
  /** Sent again with EVAL after NOSCRIPT (once). */
  private resent = false;
  private client: ScriptClient | undefined = undefined;

  constructor(
    private readonly transport: Transport,
    private readonly pendings: Pending[],
  ) {}

  send(client: ScriptClient): void {
    this.client = client;
    const pendings = this.pendings;
    const first = pendings[0] as Pending;
    const keys: string[] = [];
    const args: Buffer[] = [];
    let bare = true;
    for (const p of pendings) {
      for (const key of p.keys) keys.push(key);
      if (p.args.length > 0) bare = false;
    }
    // A baked batch script takes no arguments when every decision is a take of cost 1; else one each.
    if (!bare) for (const p of pendings) args.push((p.args[0] ?? first.scripts?.packedDefault) as Buffer);
    let sent: Promise<unknown>;
    try {
      sent = client.run((first.scripts as LimitScripts).batch, keys, args);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(this.onReply, this.onError);
  }

  private readonly onReply = (reply: unknown): void => {
    const pendings = this.pendings;
    const ok = Array.isArray(reply) && reply.length === pendings.length;
    for (let i = 0; i < pendings.length; i++) {
      const p = pendings[i] as Pending;
      const r: unknown = ok ? reply[i] : undefined;
      if (!ok) this.transport.failed(p, new TypeError(`redisStore: unexpected batch reply`));
      else if (typeof r === 'string') this.transport.failed(p, new Error(r));
      else this.transport.replied(p, r);
    }
  };

  private readonly onError = (error: unknown): void => {
    const client = this.client as ScriptClient;
    if (!this.resent && isNoScript(error)) {
      this.resent = true;
      client.forget(((this.pendings[0] as Pending).scripts as LimitScripts).batch);
      this.send(client);
      return;
    }
    for (const p of this.pendings) {
      p.resent = true; // the batch had its one retry
      this.transport.failed(p, error);
    }
  };
}
