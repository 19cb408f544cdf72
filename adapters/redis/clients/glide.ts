/**
 * Valkey GLIDE (`@valkey/valkey-glide`): a `GlideClient` or `GlideClusterClient`. Scripts go out as
 * EVALSHA through `customCommand` (EVAL on first use and once after NOSCRIPT); GLIDE routes a keyed command to the slot's
 * node itself. GLIDE reconnects on its own and has no public connection state or slot map: the store
 * treats it as always ready (a lost connection shows as errors and timeouts, which suspend as usual) and
 * counts a GLIDE cluster's failures together rather than per node.
 */
import { type Argv, type ArgvSender, type LuaScript, pushArgs, type ScriptArg, type ScriptClient } from '../script-client.js';

interface GlideLike {
  customCommand(args: Argv): Promise<unknown>;
  invokeScript(...args: unknown[]): Promise<unknown>;
  close(): void;
}

class GlideScriptClient implements ScriptClient, ArgvSender {
  readonly kind = 'glide' as const;
  readonly keyPrefix = '';
  /** Scripts sent with EVAL once (GLIDE logs every NOSCRIPT as a warning: avoid one per script at start). */
  private readonly loaded = new Set<LuaScript>();
  constructor(
    private readonly client: GlideLike,
    readonly cluster: boolean,
  ) {}

  ready(): boolean {
    return true;
  }

  send(argv: Argv): Promise<unknown> {
    return this.client.customCommand(argv);
  }

  state(): string {
    return 'ready';
  }

  run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const first = !this.loaded.has(script);
    if (first) this.loaded.add(script);
    const argv: Argv = first ? ['EVAL', script.lua, String(keys.length)] : ['EVALSHA', script.sha, String(keys.length)];
    for (let i = 0; i < keys.length; i++) argv.push(keys[i] as string);
    pushArgs(argv, args);
    return this.send(argv);
  }

  forget(script: LuaScript): void {
    this.loaded.delete(script);
  }

  del(keys: readonly string[]): Promise<unknown> {
    return this.client.customCommand(['DEL', ...keys]);
  }

  nodeOf(): undefined {
    return undefined;
  }
}

/** A GLIDE client, or undefined when `client` is not one. */
export function glideClientOf(client: object): ScriptClient | undefined {
  const c = client as Partial<GlideLike> & { constructor?: { name?: string } };
  if (typeof c.customCommand !== 'function' || typeof c.invokeScript !== 'function' || typeof c.close !== 'function') {
    return undefined;
  }
  return new GlideScriptClient(c as GlideLike, c.constructor?.name === 'GlideClusterClient');
}
