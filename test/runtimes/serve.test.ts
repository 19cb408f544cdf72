/**
 * weir/hono behind each runtime's own HTTP server (Bun.serve, Deno.serve), keyed on the client address the
 * runtime's Hono adapter reports (`hono/bun`, `hono/deno`): real requests from this process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, ROOT, tempDir } from './harness.js';

/** Starts `args` from node_modules/.bin; resolves with the port the server prints, within `deadlineMs`. */
function startServer(bin: string, args: string[], deadlineMs = 30_000): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', bin), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} printed no port within ${deadlineMs} ms\n${output}`));
    }, deadlineMs);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /\{"port":(\d+)\}/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited (${code}) before listening\n${output}`));
    });
  });
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const RUNTIMES = [
  { name: 'Bun', bin: 'bun', entry: 'serve-bun', args: (script: string) => ['run', script] },
  {
    name: 'Deno',
    bin: 'deno',
    entry: 'serve-deno',
    args: (script: string) => ['run', '--no-prompt', '--allow-net=127.0.0.1', script],
  },
];

describe.each(RUNTIMES)('weir/hono on $name serve', ({ bin, entry, args }) => {
  const work = tempDir(entry);
  let child: ChildProcess | undefined;

  afterAll(async () => {
    await stop(child);
    work.remove();
  });

  it("limits by the client address from the runtime's getConnInfo: 200, 200, then 429 with Retry-After", async () => {
    const script = join(work.dir, `${entry}.js`);
    // Hono's runtime adapters import node: built-ins (Bun and Deno have them): bundle for the Node platform.
    await bundle(`test/runtimes/entries/${entry}.ts`, script, 'node');
    const server = await startServer(bin, args(script));
    child = server.child;
    const responses = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`http://127.0.0.1:${server.port}/hello`);
      responses.push({ status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() });
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(responses[0]?.body).toBe('hello 127.0.0.1');
    expect(responses[2]?.retryAfter).toBe('100');
  });
});
