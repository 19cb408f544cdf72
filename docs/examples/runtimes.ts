// docs/runtimes.md, runnable: a Cloudflare Worker (a Hono app) that limits its clients and calls an upstream
// API through weir/fetch. test/runtimes/docs-example.test.ts bundles it with esbuild and serves it on a
// local workerd, with UPSTREAM pointing at a server run by the test.
import { Hono } from 'hono';
import { resilientFetch } from '../../adapters/fetch/index.js';
import { ipKey, loadShedding, rateLimit } from '../../adapters/hono/index.js';
import { bulkhead, tokenBucket } from '../../src/index.js';

// #region worker
// Created once per isolate, at global scope, and shared by its requests: weir creates no timer and no
// promise until a call needs one, so nothing here belongs to a request.
const upstream = resilientFetch({ retry: { maxAttempts: 3 }, timeoutMs: 2_000 });

const app = new Hono<{ Bindings: { UPSTREAM: string } }>();
// Shed at once rather than queue: a Worker scales out by isolates, not by waiting.
app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 50 }) }));
// The memory store limits each isolate on its own (see "Rate limits on Workers").
app.use(
  rateLimit({
    limiter: tokenBucket({ capacity: 20, refillPerSecond: 5 }),
    key: (c) => ipKey(c.req.header('cf-connecting-ip')),
  }),
);
app.get('/quote', async (c) => {
  const response = await upstream(`${c.env.UPSTREAM}/quote`);
  return c.text(await response.text(), response.ok ? 200 : 502);
});

export default app;
// #endregion worker
