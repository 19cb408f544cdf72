/**
 * docs/examples/runtimes.ts, the Worker of docs/runtimes.md, bundled by esbuild and served by a local
 * workerd: its upstream call retries a 503, and its rate limit refuses a client past its burst.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, startWorkerd, tempDir, type Workerd } from './harness.js';

describe('docs/examples/runtimes.ts on workerd', () => {
  const work = tempDir('docs-worker');
  let upstream: Server;
  let server: Workerd | undefined;
  let upstreamCalls = 0;

  beforeAll(async () => {
    // 503 to the first call, then quotes.
    upstream = createServer((_req, res) => {
      upstreamCalls++;
      if (upstreamCalls === 1) res.writeHead(503).end('busy');
      else res.end(`quote ${upstreamCalls}`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    await bundle('docs/examples/runtimes.ts', join(work.dir, 'worker.js'));
    server = await startWorkerd(work.dir, { script: 'worker.js', bindings: { UPSTREAM: url }, allowLocalNetwork: true });
  });

  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => upstream?.close(resolve));
    work.remove();
  });

  const quote = (ip: string) => fetch(`${server?.url}/quote`, { headers: { 'cf-connecting-ip': ip } });

  it('retries the upstream 503 and answers the quote', async () => {
    const response = await quote('203.0.113.1');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('quote 2');
    expect(upstreamCalls).toBe(2);
  });

  it('refuses a client once its burst of 20 is spent (429, Retry-After); other clients pass', async () => {
    // Tokens come back at 5 per second, so count the requests that pass before the first refusal (bounded).
    let passed = 1; // the first test's request
    let refused: Response | undefined;
    for (let i = 0; i < 500 && refused === undefined; i++) {
      const response = await quote('203.0.113.1');
      await response.text();
      if (response.status === 429) refused = response;
      else {
        expect(response.status).toBe(200);
        passed++;
      }
    }
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(passed).toBeGreaterThanOrEqual(20);
    const other = await quote('2001:db8::1');
    expect(other.status).toBe(200);
    await other.text();
  });
});
