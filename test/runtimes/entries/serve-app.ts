/** The Hono app that serve-bun.ts and serve-deno.ts serve: weir/hono keyed on the runtime's client address. */
import { Hono } from 'hono';
import { type GetConnInfo, rateLimit } from '../../../adapters/hono/index.js';
import { tokenBucket } from '../../../src/index.js';

export function limitedApp(getConnInfo: GetConnInfo): Hono {
  const app = new Hono();
  // Two requests per client address, then one every 100 s.
  app.use(rateLimit({ limiter: tokenBucket({ capacity: 2, refillPerSecond: 0.01 }), getConnInfo }));
  app.get('/hello', (c) => c.text(`hello ${getConnInfo(c).remote.address}`));
  return app;
}
