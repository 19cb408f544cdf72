// docs/fastify.md, runnable: `node --import tsx docs/examples/fastify.ts`.
// A test (test/fastify/example.test.ts) runs it with a VirtualClock so that it is deterministic.
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  fastifyExample().then((log) => console.log(log.join('\n')));
}
