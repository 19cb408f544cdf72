/**
 * fetch's own edges that resilientFetch must match or handle: `null` options, an empty Idempotency-Key,
 * a discarded body drained on the injected clock, and a Retry-After wait that keeps a script alive until
 * the retry is sent (in a child process, on real time).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { DRAIN_MAX_MS, discardBody } from '../../adapters/fetch/body.js';
import { resilientFetch } from '../../adapters/fetch/index.js';
import { VirtualClock } from '../../src/index.js';
import { drive } from './helpers.js';
import { startServer, type TestServer } from './server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

test('resilientFetch(url, null) works like fetch(url, null)', async () => {
  const fetch = resilientFetch();
  const response = await fetch(server.url('/n'), null as unknown as RequestInit);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('ok');
  expect((await globalThis.fetch(server.url('/n'), null as unknown as RequestInit)).status).toBe(200);
});

test('a POST with an empty Idempotency-Key is sent once; with a key it is retried', async () => {
  const clock = new VirtualClock();
  const fetch = resilientFetch({ clock, circuitBreaker: false });
  server.script({ status: 503 }, { status: 503 });
  const empty = await drive(clock, fetch(server.url('/pay'), { method: 'POST', body: 'x', headers: { 'Idempotency-Key': '' } }));
  expect(empty.status).toBe(503);
  expect(server.requests).toHaveLength(1);
  const keyed = await drive(
    clock,
    fetch(server.url('/pay'), { method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'k1' } }),
  );
  expect(keyed.status).toBe(200);
  expect(server.requests).toHaveLength(3);
});

test('a discarded body that stalls is cancelled after DRAIN_MAX_MS on the injected clock', async () => {
  const clock = new VirtualClock();
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull: () => new Promise(() => {}), // never delivers
    cancel: () => {
      cancelled = true;
    },
  });
  discardBody(new Response(body, { headers: { 'content-length': '10' } }), clock);
  await clock.advanceAsync(DRAIN_MAX_MS - 1);
  expect(cancelled).toBe(false);
  await clock.advanceAsync(1);
  expect(cancelled).toBe(true);
  expect(clock.pendingTimers).toBe(0);
});

test('a script awaiting a retry after 503 + Retry-After: 1 stays alive until the retry is answered', async () => {
  server.script({ status: 503, headers: { 'retry-after': '1' } });
  const dir = mkdtempSync(join(tmpdir(), 'weir-fetch-'));
  const script = join(dir, 'retry-after.mts');
  writeFileSync(
    script,
    `import { resilientFetch } from ${JSON.stringify(join(root, 'adapters/fetch/index.ts'))};
const response = await resilientFetch()(${JSON.stringify(server.url('/later'))});
console.log(response.status, await response.text());
`,
  );
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(join(root, 'node_modules/.bin/tsx'), [script], { cwd: root, timeout: 30_000 }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    );
  });
  expect(stdout.trim()).toBe('200 ok');
  expect(server.requests.map((r) => r.path)).toEqual(['/later', '/later']);
}, 40_000);
