// docs/fastify.md, runnable: `node --import tsx docs/examples/fastify.ts`.
// A test (test/fastify/example.test.ts) runs it with a VirtualClock so that it is deterministic, and runs the
// sample of the page (fastifySamples) on the system clock: its three /search requests must fit in 1 s.
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyRequest } from 'fastify';
import weir from '../../adapters/fastify/index.js'; // 'weir/fastify' in your code
import { bulkhead, type Clock, gcra, type RateLimitStore, systemClock, tokenBucket } from '../../src/index.js'; // 'weir'

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

/** The product samples of docs/fastify.md: a 404 flood, a login route, store failures, slow uploads. */
export async function fastifyProductSamples(): Promise<string[]> {
  const lines: string[] = [];
  {
    // #region not-found
    // Requests that match no route get no route hooks; limitNotFound puts them through limits too.
    const app = Fastify();
    await app.register(weir, {
      rateLimit: { limiter: tokenBucket({ capacity: 3, refillPerSecond: 1 }), name: 'api' },
      limitNotFound: true, // the global limits; or give 404s their own: limitNotFound: { limiter, name }
    });
    // #endregion not-found
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${base}/wp-admin/${i}.php`);
        seen.push(res.status);
        await res.body?.cancel();
      }
      lines.push(`404 flood: ${seen.join(' ')}`);
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  }
  {
    // #region login
    const app = Fastify();
    await app.register(weir, { hook: 'preHandler' }); // after body parsing: keys may read request.body
    const perAddress = { limiter: tokenBucket({ capacity: 20, refillPerSecond: 0.1 }), name: 'login-ip' };
    const failedPerAccount = {
      limiter: tokenBucket({ capacity: 3, refillPerSecond: 0.01 }),
      name: 'login',
      // The account is chosen by the client: the per-IP limit before it bounds how many one client tries.
      key: (request: FastifyRequest) => `account:${(request.body as { account: string }).account}`,
      countOnly: (reply: { statusCode: number }) => reply.statusCode === 401, // only failed logins count
    };
    app.post('/login', { config: { rateLimit: [perAddress, failedPerAccount] } }, async (request, reply) => {
      const { password } = request.body as { password: string };
      return password === 'right' ? { ok: true } : reply.code(401).send({ ok: false });
    });
    // #endregion login
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const seen: number[] = [];
      for (const password of ['right', 'wrong', 'wrong', 'wrong', 'wrong', 'right']) {
        const res = await fetch(`${base}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ account: 'ada', password }),
        });
        seen.push(res.status);
        await res.body?.cancel();
      }
      lines.push(`logins: ${seen.join(' ')}`);
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  }
  {
    const redisBacked = tokenBucket({ capacity: 5, refillPerSecond: 1, store: brokenStore() });
    const failures: string[] = [];
    // #region store-failure
    const app = Fastify();
    await app.register(weir, {
      rateLimit: { limiter: redisBacked, name: 'api' },
      storeFailure: 'reject', // a failing store answers 503: this API would rather refuse than run unlimited
      onStoreError: (error, request, info) => {
        request.log.warn({ err: error, limit: info.name }, 'rate limit store failed');
        failures.push(`${info.name} ${info.action}`);
      },
    });
    // #endregion store-failure
    app.get('/', async () => 'ok');
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(base);
      lines.push(`store down: ${res.status} ${failures.join(', ')}`);
      await res.body?.cancel();
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  }
  {
    const pool = bulkhead({ maxConcurrent: 1 });
    // #region slowloris
    // A request holds its load-shedding slot from its headers until its response ends, slow uploads too:
    // bound the time a request may take to arrive (requestTimeout) and its size (bodyLimit).
    const app = Fastify({ requestTimeout: 300, connectionTimeout: 300, bodyLimit: 100 * 1024 });
    await app.register(weir, { loadShedding: { bulkhead: pool } });
    // #endregion slowloris
    app.post('/upload', async (request) => ({ got: Object.keys(request.body as object).length }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    try {
      const stalled = connect(port, '127.0.0.1');
      stalled.on('error', () => {});
      await once(stalled, 'connect');
      const acquired = new Promise<void>((resolve) => {
        const off = pool.on('acquired', () => {
          off();
          resolve();
        });
      });
      stalled.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a"');
      await acquired;
      const post = (body: string) =>
        fetch(`${base}/upload`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const blocked = await post('{}');
      lines.push(`while a stalled upload holds the slot: ${blocked.status}`);
      await blocked.body?.cancel();
      await once(stalled, 'close');
      const after = await post('{"b":1}');
      lines.push(`after the request timeout closed it: ${after.status} ${await after.text()}`);
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  }
  return lines;
}

/** A store whose every take fails, as a Redis store with no fallback would when Redis is down. */
function brokenStore(): RateLimitStore {
  return {
    bind: () => ({ take: () => Promise.reject(new Error('ECONNREFUSED')), reset: () => Promise.resolve() }),
  } as RateLimitStore;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Promise.all([fastifyExample(), fastifySamples(), fastifyProductSamples()]).then((logs) => console.log(logs.flat().join('\n')));
}
