// docs/express.md, runnable: `node --import tsx docs/examples/express.ts`.
// A test (test/express/example.test.ts) runs it with a VirtualClock so that it is deterministic.
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { loadShedding, rateLimit } from '../../adapters/express/index.js'; // 'weir/express' in your code
import { bulkhead, type Clock, slidingWindow, systemClock, tokenBucket } from '../../src/index.js'; // 'weir'

export async function expressExample(clock: Clock = systemClock): Promise<string[]> {
  const app = express();
  // Behind a reverse proxy on this host: req.ip is the client address that proxy reports (the last untrusted
  // hop of X-Forwarded-For). weir never reads X-Forwarded-For itself.
  app.set('trust proxy', 'loopback');

  // 1. Load shedding first: at most 100 requests in progress, 503 + Retry-After beyond that.
  app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 100 }) }));
  // 2. A global limit per client IP (IPv6 grouped by /64): bursts of 20, 5 per second sustained.
  app.use(rateLimit({ limiter: tokenBucket({ capacity: 20, refillPerSecond: 5, clock }), name: 'global' }));
  // 3. A stricter limit on one route, keyed on the account; its member is appended to the header lists.
  const logins = slidingWindow({ limit: 2, windowMs: 60_000, clock });
  const byAccount = rateLimit({ limiter: logins, name: 'login', key: (req) => `account:${req.headers['x-account'] ?? '?'}` });
  app.post('/login', byAccount, (_req, res) => {
    res.json({ ok: true });
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/login`;
  const log: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url, { method: 'POST', headers: { 'x-account': 'ada' } });
      log.push(`${res.status} RateLimit: ${res.headers.get('ratelimit')}`);
      if (res.status === 429) {
        log.push(`Retry-After: ${res.headers.get('retry-after')}`);
        log.push(`detail: ${(await res.json()).detail}`);
      } else await res.body?.cancel();
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return log;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  expressExample().then((log) => console.log(log.join('\n')));
}
