/**
 * Runs bundles of weir on other JavaScript runtimes, all installed from npm as dev dependencies: Bun
 * (`bun`), Deno (`deno`) and Cloudflare's workerd (`workerd`, serving a worker from a `config.capnp`).
 * Bundles are built from the sources by esbuild for the browser platform, so every runtime runs exactly what
 * a browser bundler would produce.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `weir-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Bundles `entry` (relative to the repository) into `outfile` as one ES module: for the browser platform
 * (`'browser'`, the default), or for Node compatibility layers with Node client libraries inside (`'node'`
 * for Bun and Deno, `'workerd-node'` for workerd), where CommonJS dependencies get a `require` from
 * `node:module`.
 */
export async function bundle(
  entry: string,
  outfile: string,
  target: 'browser' | 'node' | 'workerd-node' = 'browser',
): Promise<void> {
  // workerd has no import.meta.url; any absolute path serves to resolve built-in modules.
  const base = target === 'workerd-node' ? "'/'" : 'import.meta.url';
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: target === 'browser' ? 'browser' : 'node',
    target: 'es2022',
    logLevel: 'silent',
    ...(target === 'browser'
      ? {}
      : { banner: { js: `import { createRequire } from 'node:module'; const require = createRequire(${base});` } }),
  });
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a binary from node_modules/.bin to completion (killed after `timeoutMs`, which fails the result). */
export function runBin(name: string, args: readonly string[], timeoutMs = 60_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, name), args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} ${args.join(' ')}: no exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line of a process's output, parsed as JSON (the scenario runners print their result last). */
export function lastJsonLine(result: ProcessResult): any {
  const lines = result.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(
      `expected JSON on the last line of stdout (exit ${result.code})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolves once `port` accepts connections. Polls (a connection attempt, then a short pause) until
 * `deadlineMs` has passed or `child` exits, either of which rejects.
 */
export async function waitForPort(port: number, child: ChildProcess, deadlineMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (await canConnect(port)) return;
    if (exited) throw new Error(`the server exited before listening on ${port}\n${output()}`);
    if (Date.now() >= deadline) throw new Error(`nothing listened on ${port} within ${deadlineMs} ms\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface Workerd {
  readonly url: string;
  /** workerd's output so far (its log). */
  output(): string;
  /** Kills workerd and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

export interface WorkerdOptions {
  /** The bundled worker module: a file name inside the directory given to startWorkerd. */
  script: string;
  /** More ES modules the worker imports (file names inside the same directory). */
  modules?: readonly string[];
  /** Text bindings, visible to the worker as `env.NAME`. */
  bindings?: Record<string, string>;
  /** Let the worker's fetch reach loopback addresses (a server run by the test). */
  allowLocalNetwork?: boolean;
  /** workerd compatibility flags, e.g. `nodejs_compat`. */
  compatibilityFlags?: readonly string[];
  /**
   * The compatibility date (default 2025-01-01: no Node APIs at all). From 2026-08-04 on, Node
   * compatibility (`node:net`, `process`...) is on by default.
   */
  compatibilityDate?: string;
}

/** Serves `script` on a local workerd, on a free port; resolves once it accepts connections. */
export async function startWorkerd(dir: string, options: WorkerdOptions): Promise<Workerd> {
  const port = await freePort();
  const bindings = Object.entries(options.bindings ?? {})
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(', ');
  const modules = [options.script, ...(options.modules ?? [])]
    .map((name) => `(name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(name)})`)
    .join(', ');
  const flags = (options.compatibilityFlags ?? []).map((flag) => JSON.stringify(flag)).join(', ');
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${modules} ],
  compatibilityDate = ${JSON.stringify(options.compatibilityDate ?? '2025-01-01')},
  compatibilityFlags = [${flags}],
  bindings = [${bindings}],
  ${options.allowLocalNetwork ? 'globalOutbound = "net",' : ''}
);
`;
  const configPath = join(dir, 'config.capnp');
  writeFileSync(configPath, config);
  const child = spawn(join(BIN, 'workerd'), ['serve', configPath, '--verbose'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitForPort(port, child, 30_000, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, output: () => log, stop };
}
