// docs/fastify.md, runnable: `node --import tsx docs/examples/fastify.ts`.
// A test (test/fastify/example.test.ts) runs it with a VirtualClock so that it is deterministic, and runs the
// sample of the page (fastifySamples) on the system clock: its three /search requests must fit in 1 s.
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import weir from '../../adapters/fastify/index.js'; // 'weir/fastify' in your code
import { bulkhead, type Clock, gcra, systemClock, tokenBucket } from '../../src/index.js'; // 'weir'

export async function fastifyExample(clock: Clock = systemClock): Promise<string[]> {
  // Behind a reverse proxy on this host: request.ip is the client address that proxy reports (the last
  // untrusted hop of X-Forwarded-For). weir never reads X-Forwarded-For itself.
  const app = Fastify({ trustProxy: '127.0.0.1' });
  const perIp = { limiter: tokenBucket({ capacity: 20, refillPerSecond: 5, clock }), name: 'global' };
  await app.register(weir, {
    rateLimit: perIp, // every route, unless its config says otherwise
    loadShedding: { bulkhead: bulkhead({ maxConcurrent: 100 }), retryAfter: 2 },
  });

  // A route's config replaces the global limits: list the global one too to keep it.
  const search = { limiter: gcra({ ratePerSecond: 1, burst: 2, clock }), name: 'search', cost: () => 1 };
  app.get('/search', { config: { rateLimit: [perIp, search] } }, async () => ({ results: [] }));
  // Health checks: never limited, never shed.
  app.get('/health', { config: { rateLimit: false, loadShedding: false } }, async () => 'ok');

  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const log: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/search`);
      log.push(`${res.status} RateLimit: ${res.headers.get('ratelimit')}`);
      if (res.status === 429) log.push(`Retry-After: ${res.headers.get('retry-after')}`);
      await res.body?.cancel();
    }
    const health = await fetch(`${base}/health`);
    log.push(`health ${health.status}, RateLimit: ${health.headers.get('ratelimit')}`);
    await health.body?.cancel();
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
  return log;
}

/** The samples of docs/fastify.md, run against a local server (test/fastify/example.test.ts). */
export async function fastifySamples(): Promise<string[]> {
  const handler = async () => ({ results: [] });
  const health = async () => 'ok';
  // #region intro
  const app = Fastify({ trustProxy: '127.0.0.1' }); // see "Keys behind proxies"
  const perIp = { limiter: tokenBucket({ capacity: 20, refillPerSecond: 5 }), name: 'global' };
  await app.register(weir, {
    rateLimit: perIp, // a limit, or an array of limits, for every route
    loadShedding: { bulkhead: bulkhead({ maxConcurrent: 100 }), retryAfter: 2 },
  });

  const search = { limiter: gcra({ ratePerSecond: 1, burst: 2 }), name: 'search' };
  app.get('/search', { config: { rateLimit: [perIp, search] } }, handler); // replaces the global limits
  app.get('/health', { config: { rateLimit: false, loadShedding: false } }, health);
  // #endregion intro
  app.get('/items', async () => ['a', 'b']); // no config: the global limit only

  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const lines: string[] = [];
  // The proxy on 127.0.0.1 reports the client in X-Forwarded-For: the client's address is the key.
  const get = (path: string) => fetch(`${base}${path}`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
  // The members of the RateLimit field, with the search limit's `r` (the global bucket refills in real time).
  const members = (res: globalThis.Response) =>
    (res.headers.get('ratelimit') ?? 'none')
      .split(', ')
      .map((member) => (member.startsWith('"search"') ? member.replace(/;t=\d+/, '') : member.split(';')[0]))
      .join(', ');
  try {
    for (const path of ['/items', '/search', '/search', '/search', '/health']) {
      const res = await get(path);
      lines.push(`${path}: ${res.status} RateLimit: ${members(res)}`);
      await res.body?.cancel();
    }
    const charged = async (key: string) => (await perIp.limiter.peek(key)).remaining < perIp.limiter.limit;
    lines.push(
      `global: ip:203.0.113.7 charged ${await charged('ip:203.0.113.7')}, ip:127.0.0.1 charged ${await charged('ip:127.0.0.1')}`,
    );
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Promise.all([fastifyExample(), fastifySamples()]).then((logs) => console.log(logs.flat().join('\n')));
}
