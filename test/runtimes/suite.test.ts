/**
 * The scenario suite (retry, circuit breaker, bulkhead, rate limit, timeout, fallback, compose, a Hono app,
 * weir/fetch) on Node (in this process), Bun, Deno and a local workerd, each from node_modules. Bun, Deno and
 * workerd run one esbuild bundle of the sources, built for the browser platform.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFetch, expectHonoLimits, expectSuite } from './expect-suite.js';
import { bundle, lastJsonLine, runBin, startWorkerd, tempDir, type Workerd } from './harness.js';
import { type HttpFacts, httpFacts, runSuite, type SuiteResult } from './scenarios.js';

let upstream: Server;
let upstreamUrl: string;
const work = tempDir('runtimes');
const cli = join(work.dir, 'cli.js');

beforeAll(async () => {
  // Answers 503 to the first request for each path, then 200 with the number of requests seen.
  const seen = new Map<string, number>();
  upstream = createServer((req, res) => {
    const count = (seen.get(req.url ?? '') ?? 0) + 1;
    seen.set(req.url ?? '', count);
    res.setHeader('x-attempt', String(count));
    if (count === 1) {
      res.statusCode = 503;
      res.end('unavailable');
    } else res.end('recovered');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  await bundle('test/runtimes/entries/cli.ts', cli);
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
  work.remove();
});

describe('Node (the reference)', () => {
  it('passes the scenario suite', async () => {
    const result = await runSuite({ upstream: upstreamUrl });
    expectSuite(result, 'process.emitWarning');
    expectFetch(result);
  });
});

describe('Bun', () => {
  it('passes the scenario suite on the browser bundle', async () => {
    const run = await runBin('bun', ['run', cli, upstreamUrl]);
    expect(run.code, run.stderr).toBe(0);
    const result: SuiteResult = lastJsonLine(run);
    expectSuite(result, 'process.emitWarning');
    expectFetch(result);
  });
});

describe('Deno', () => {
  it('passes the scenario suite on the browser bundle, with network access to the test server only', async () => {
    const run = await runBin('deno', ['run', '--no-prompt', '--allow-net=127.0.0.1', cli, upstreamUrl]);
    expect(run.code, run.stderr).toBe(0);
    const result: SuiteResult = lastJsonLine(run);
    expectSuite(result, 'process.emitWarning');
    expectFetch(result);
  });
});

describe('workerd (no Node compatibility: no process, no setImmediate, numeric timer handles)', () => {
  let server: Workerd | undefined;
  const dir = tempDir('workerd');

  beforeAll(async () => {
    await bundle('test/runtimes/entries/worker.ts', join(dir.dir, 'worker.js'));
    server = await startWorkerd(dir.dir, { script: 'worker.js', bindings: { UPSTREAM: upstreamUrl }, allowLocalNetwork: true });
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  const suite = async (): Promise<SuiteResult> => {
    const response = await fetch(`${server?.url}/suite`);
    const text = await response.text();
    expect(response.status, `${text}\n${server?.output()}`).toBe(200);
    return JSON.parse(text);
  };

  it('passes the scenario suite in the first request (policies created at global scope, first used here)', async () => {
    const result = await suite();
    expectSuite(result, 'console.warn');
    expectFetch(result);
  });

  it('passes it again in a later request, with timers armed by the previous request', async () => {
    const result = await suite();
    expectSuite(result, 'console.warn');
    expectFetch(result);
  });

  it('serves a Hono app limited by weir/hono over HTTP', async () => {
    const responses: HttpFacts[] = [];
    for (const client of ['a', 'a', 'a', 'b']) {
      responses.push(await httpFacts(await fetch(`${server?.url}/hono/hello`, { headers: { 'x-client': client } })));
    }
    expectHonoLimits(responses, '100');
  });

  it('queues a request behind another request in a bulkhead, and leaves no slot taken', async () => {
    const get = async (path: string) => (await fetch(`${server?.url}${path}`)).json();
    for (let round = 0; round < 2; round++) {
      const holding = get('/bulkhead/hold');
      // Poll (bounded) until the holder runs, so that the next request has to queue.
      const deadline = Date.now() + 10_000;
      while ((await get('/bulkhead/state')).running !== 1) {
        if (Date.now() > deadline) throw new Error(`the holder never ran\n${server?.output()}`);
      }
      const queued = fetch(`${server?.url}/bulkhead/queued`);
      expect(await holding).toEqual({ sawQueued: true });
      const response = await queued;
      expect(response.status, server?.output()).toBe(200);
      expect(await response.json()).toEqual({ ran: 'after waiting' });
      expect(await get('/bulkhead/state')).toEqual({ running: 0, queued: 0 });
    }
  });
});
