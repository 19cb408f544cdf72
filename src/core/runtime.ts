/**
 * The one home of everything weir uses that only some JavaScript runtimes have. The core and the portable
 * adapters (fetch, hono) run on Node, Bun, Deno, Cloudflare's workerd and browsers; each helper here uses
 * the runtime's API where it exists and degrades (never throws) where it does not. Loading weir reads one
 * global (`navigator.userAgent`, below) and calls nothing runtime-specific.
 */

/**
 * Whether a timer dies with the request that set it. On Cloudflare's workerd a request's pending timers are
 * cancelled when the request ends (its `navigator.userAgent` is documented as `Cloudflare-Workers`), so a
 * timer shared by the calls of many requests may never fire for a call of a later request.
 */
export const timersEndWithRequest: boolean =
  (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent === 'Cloudflare-Workers';

interface RefableTimer {
  ref?: unknown;
  unref?: unknown;
}

interface WarningProcess {
  emitWarning?: unknown;
}

interface DenoTimers {
  refTimer?: (id: number) => void;
  unrefTimer?: (id: number) => void;
}

/**
 * Sets whether a timer keeps the process alive. Node and Bun timers are objects with `ref`/`unref`; a
 * numeric handle is Deno's (`Deno.refTimer`/`Deno.unrefTimer`) or, on workerd and in browsers, one that
 * never holds a process: there this is a no-op.
 */
export function refTimer(timer: unknown, keepAlive: boolean): void {
  if (typeof timer === 'object' && timer !== null) {
    const method = keepAlive ? (timer as RefableTimer).ref : (timer as RefableTimer).unref;
    if (typeof method === 'function') method.call(timer);
  } else if (typeof timer === 'number') {
    const deno = (globalThis as { Deno?: DenoTimers }).Deno;
    const method = keepAlive ? deno?.refTimer : deno?.unrefTimer;
    if (typeof method === 'function') method(timer);
  }
}

/**
 * Reports a problem that must not fail the call that met it: `process.emitWarning` with `code` where there
 * is one (Node, Bun, Deno), else `console.warn` (workerd, browsers), else nothing.
 */
export function emitWarning(message: string, code: string): void {
  const process = (globalThis as { process?: WarningProcess }).process;
  if (typeof process?.emitWarning === 'function') {
    process.emitWarning(message, { code });
    return;
  }
  const console = (globalThis as { console?: { warn?: unknown } }).console;
  if (typeof console?.warn === 'function') console.warn(`(${code}) ${message}`);
}

/**
 * A promise that resolves after the current macrotask, so that every queued promise continuation has run:
 * `setImmediate` where it exists (Node, Bun, Deno), else `setTimeout(0)` (workerd, browsers).
 */
export function nextMacrotask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => {
    if (typeof immediate === 'function') immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

// The grammar of node:net's isIPv4/isIPv6 (Node's own regular expressions), so keys agree on every runtime.
const V4_SEG = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4 = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = '(?:[0-9a-fA-F]{1,4})';
const IPV4 = new RegExp(`^${V4}$`);
const IPV6 = new RegExp(
  '^(?:' +
    `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){6}(?:${V4}|:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){5}(?::${V4}|(?::${V6_SEG}){1,2}|:)|` +
    `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4}|(?::${V6_SEG}){1,3}|:)|` +
    `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4}|(?::${V6_SEG}){1,4}|:)|` +
    `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4}|(?::${V6_SEG}){1,5}|:)|` +
    `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4}|(?::${V6_SEG}){1,6}|:)|` +
    `(?::(?:(?::${V6_SEG}){0,5}:${V4}|(?::${V6_SEG}){1,7}|:))` +
    ')(?:%[0-9a-zA-Z-.:]{1,})?$',
);

/** Whether `text` is a dotted-quad IPv4 address, exactly as `node:net`'s `isIPv4` decides. */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/**
 * Whether `text` is an IPv6 address (optionally with a `%zone`), exactly as `node:net`'s `isIPv6` decides.
 * Portable: `node:net` is missing on workerd and in browsers.
 */
export function isIPv6(text: string): boolean {
  return IPV6.test(text);
}

/** The part of a `node:diagnostics_channel` channel weir uses. */
export interface DiagnosticsChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

interface BuiltinProcess {
  getBuiltinModule?: (id: string) => unknown;
}

let channelOf: ((name: string) => DiagnosticsChannel) | null | undefined;

/**
 * The diagnostics channel `name`, where the runtime has `node:diagnostics_channel` (Node >= 20.16, Bun,
 * Deno; looked up through `process.getBuiltinModule`, never a static import), else undefined: there
 * nothing is published, and events still reach `on` listeners.
 */
export function diagnosticsChannel(name: string): DiagnosticsChannel | undefined {
  if (channelOf === undefined) {
    channelOf = null;
    try {
      const get = (globalThis as { process?: BuiltinProcess }).process?.getBuiltinModule;
      const module =
        typeof get === 'function' ? (get('node:diagnostics_channel') as { channel?: unknown } | undefined) : undefined;
      const channel = module?.channel;
      if (typeof channel === 'function') channelOf = (channelName) => channel.call(module, channelName) as DiagnosticsChannel;
    } catch {
      // No node:diagnostics_channel here.
    }
  }
  return channelOf === null ? undefined : channelOf(name);
}
