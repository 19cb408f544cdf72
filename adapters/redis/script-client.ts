/**
 * The one narrow interface through which the store talks to Redis, whatever the client library: run a
 * script by its SHA1 with keys and arguments (forgetting it after NOSCRIPT, so that the caller's one retry
 * sends it with EVAL: restarts, failovers and SCRIPT FLUSH heal by themselves), say whether commands can be
 * sent now (the store never queues on a
 * client that is not connected), delete keys, and, on a Cluster, name the node that owns a key's slot.
 *
 * Implementations: clients/ioredis.ts (ioredis and its fork iovalkey: `Redis`, `Cluster`, Sentinel through
 * the `sentinels` option), clients/node-redis.ts (`redis` v5 and v6: `createClient`, `createCluster`, `createSentinel`) and
 * clients/glide.ts (Valkey GLIDE: `GlideClient`, `GlideClusterClient`). The libraries are optional peers:
 * nothing here imports them; each implementation recognises its client by shape.
 */
import { createHash } from 'node:crypto';

/** A Lua script and its SHA1 (what EVALSHA names it by). */
export class LuaScript {
  readonly sha: string;
  constructor(
    readonly lua: string,
    /** How many of a call's leading arguments are keys; -1 when it varies (a batch: the call says). */
    readonly keys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

export type ClientKind = 'ioredis' | 'node-redis' | 'glide';

/** A script argument: text, a number (sent as its decimal text) or a binary string. */
export type ScriptArg = string | number | Buffer;

/** A command line as node-redis and GLIDE take it. */
export type Argv = (string | Buffer)[];

/** Appends `args` to `argv`: numbers as decimal text, strings and binary strings as they are. */
export function pushArgs(argv: Argv, args: readonly ScriptArg[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as ScriptArg;
    argv.push(typeof a === 'number' ? String(a) : a);
  }
}

export interface ScriptClient {
  readonly kind: ClientKind;
  /** A Redis Cluster client (keys of one call must share a slot). */
  readonly cluster: boolean;
  /** Whether a command sent now goes to Redis at once; a lazy client that never connected starts connecting. */
  ready(): boolean;
  /** The client's connection state, for error messages. */
  state(): string;
  /**
   * EVALSHA `script` (EVAL on its first use by this client), `keys` then `args` (binary strings go as they
   * are). A NOSCRIPT error (a restarted, failed-over or flushed server) is the caller's to recover from:
   * `forget(script)`, then run the call once more, which sends EVAL. ioredis recovers by itself and never
   * reports one. (Recovering here would cost every call a handler and a promise.)
   */
  run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown>;
  /** The server lost `script` (NOSCRIPT): the next run sends it with EVAL. */
  forget(script: LuaScript): void;
  /** DEL of keys that share one slot. */
  del(keys: readonly string[]): Promise<unknown>;
  /** On a Cluster, the node (`host:port`) that owns `key`'s slot as the client knows it now; else undefined. */
  nodeOf(key: string): string | undefined;
  /** The client's key prefix (ioredis `keyPrefix`), applied to every key it sends; '' when none. */
  readonly keyPrefix: string;
}

/** Whether a Redis error says the script is not in the server's cache (GLIDE words it "NoScriptError"). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && /^NOSCRIPT|NoScript/.test(error.message);
}

/** A client that sends a raw command line (`['EVALSHA', sha, numkeys, ...keys, ...args]`). */
export interface ArgvSender {
  send(argv: Argv): Promise<unknown>;
}

/**
 * Runs a script call with NOSCRIPT recovery: once more with EVAL after the server lost the script. For
 * callers outside the store's transport (which recovers without a per-call handler).
 */
export async function runRecovering(
  client: ScriptClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  try {
    return await client.run(script, keys, args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    client.forget(script);
    return client.run(script, keys, args);
  }
}
