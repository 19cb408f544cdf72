/**
 * node-redis (the `redis` package, v5 and v6): a client from `createClient`, a cluster from
 * `createCluster`, or a Sentinel from `createSentinel` (which finds the master through the sentinels and
 * follows it after a failover). Scripts go out as raw EVALSHA with `sendCommand` (EVAL once after NOSCRIPT), so nothing
 * has to be declared when the client is created (EVAL on a script's first use). node-redis applies its `keyPrefix` option to typed
 * commands only, not to `sendCommand`, so the prefix is added here, as the typed commands would.
 */
import { type Argv, type ArgvSender, type LuaScript, pushArgs, type ScriptArg, type ScriptClient } from '../script-client.js';
import { slotOf } from '../slot.js';

/**
 * The parts of a node-redis client, cluster or Sentinel the store uses. The three `sendCommand`s differ: a
 * client's takes `(args, options)`, a cluster's `(firstKey, isReadonly, args, options)`, a Sentinel's
 * `(isReadonly, args, options)`.
 */
interface NodeRedisLike {
  /** Absent on a v5 cluster (which has only isOpen). */
  readonly isReady?: boolean;
  readonly isOpen: boolean;
  readonly _keyPrefix?: unknown;
  /** Cluster only: the owner of each slot. */
  readonly slots?: ({ master?: { address?: string; host?: string; port?: number } } | undefined)[];
  readonly masters?: unknown[];
  /** Sentinel only: the master it knows now. */
  getMasterNode?(): unknown;
  sendCommand(...args: unknown[]): Promise<unknown>;
}

class NodeRedisScriptClient implements ScriptClient, ArgvSender {
  readonly kind = 'node-redis' as const;
  readonly cluster: boolean;
  readonly keyPrefix: string;
  /** Scripts sent with EVAL once: the first call then costs one round trip, not a NOSCRIPT and a retry. */
  private readonly loaded = new Set<LuaScript>();

  constructor(protected readonly client: NodeRedisLike) {
    this.cluster = Array.isArray(client.masters);
    const prefix = client._keyPrefix;
    this.keyPrefix = typeof prefix === 'string' ? prefix : '';
  }

  ready(): boolean {
    return this.client.isReady ?? this.client.isOpen;
  }

  state(): string {
    return this.ready() ? 'ready' : this.client.isOpen ? 'connecting' : 'closed';
  }

  /** argv[3] is the first key: the cluster routes by it. */
  send(argv: Argv): Promise<unknown> {
    return this.cluster ? this.client.sendCommand(argv[3], false, argv) : this.client.sendCommand(argv);
  }

  run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const first = !this.loaded.has(script);
    if (first) this.loaded.add(script);
    const argv: Argv = first ? ['EVAL', script.lua, String(keys.length)] : ['EVALSHA', script.sha, String(keys.length)];
    const prefix = this.keyPrefix;
    for (let i = 0; i < keys.length; i++) argv.push(prefix + (keys[i] as string));
    pushArgs(argv, args);
    return this.send(argv);
  }

  forget(script: LuaScript): void {
    this.loaded.delete(script);
  }

  del(keys: readonly string[]): Promise<unknown> {
    const argv = ['DEL'];
    for (const key of keys) argv.push(this.keyPrefix + key);
    return this.cluster ? this.client.sendCommand(argv[1], false, argv) : this.client.sendCommand(argv);
  }

  nodeOf(key: string): string | undefined {
    if (!this.cluster) return undefined;
    const master = this.client.slots?.[slotOf(key)]?.master;
    if (master === undefined) return undefined;
    return master.address ?? `${master.host}:${master.port}`;
  }
}

/**
 * A node-redis Sentinel (`createSentinel`): the same client, one master, every command sent with
 * `isReadonly: false` so that it goes to the master even with `replicaPoolSize` (a script writes). Its
 * `isReady` drops while it moves to a new master (the store falls back at once then), and its errors are
 * the master's own (NOSCRIPT after a failover included).
 */
export class NodeRedisSentinelScriptClient extends NodeRedisScriptClient {
  override send(argv: Argv): Promise<unknown> {
    return this.client.sendCommand(false, argv);
  }

  override del(keys: readonly string[]): Promise<unknown> {
    const argv = ['DEL'];
    for (const key of keys) argv.push(this.keyPrefix + key);
    return this.client.sendCommand(false, argv);
  }
}

/** A node-redis client, cluster or Sentinel, or undefined when `client` is not one. */
export function nodeRedisClientOf(client: object): ScriptClient | undefined {
  const c = client as Partial<NodeRedisLike>;
  if (typeof c.sendCommand !== 'function' || typeof c.isOpen !== 'boolean') return undefined;
  // A Sentinel also has isReady and isOpen; only it has getMasterNode (neither a client nor a cluster has).
  if (typeof c.getMasterNode === 'function' && typeof c.isReady === 'boolean') {
    return new NodeRedisSentinelScriptClient(c as NodeRedisLike);
  }
  if (typeof c.isReady !== 'boolean' && !Array.isArray(c.masters)) return undefined;
  return new NodeRedisScriptClient(c as NodeRedisLike);
}
