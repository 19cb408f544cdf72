// docs/hono.md, runnable: `node --import tsx docs/examples/hono.ts`.
// A test (test/hono/example.test.ts) runs it with a VirtualClock so that it is deterministic. The same app
// runs on Bun, Deno and workerd with that runtime's getConnInfo (test/runtimes).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { getConnInfo as cloudflareConnInfo } from 'hono/cloudflare-workers';
import { loadShedding, rateLimit } from '../../adapters/hono/index.js'; // 'weir/hono' in your code
import { bulkhead, type Clock, slidingWindow, systemClock, tokenBucket } from '../../src/index.js'; // 'weir'

export async function honoExample(clock: Clock = systemClock, port = 3000): Promise<string[]> {
  // #region intro
  const app = new Hono();
  app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 100 }) }));
  app.use(rateLimit({ limiter: tokenBucket({ capacity: 20, refillPerSecond: 5, clock }), name: 'global', getConnInfo }));

  const logins = slidingWindow({ limit: 2, windowMs: 60_000, clock });
  const byAccount = rateLimit({ limiter: logins, name: 'login', key: (c) => `account:${c.req.header('x-account')}` });
  app.post('/login', byAccount, (c) => c.json({ ok: true }));

  const server = serve({ fetch: app.fetch, port });
  // #endregion intro
  return exercise(server as Server);
}

/** Sends three logins to the sample's server. */
async function exercise(server: Server): Promise<string[]> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/login`;
  const log: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url, { method: 'POST', headers: { 'x-account': 'ada' } });
      log.push(`${res.status} RateLimit: ${res.headers.get('ratelimit')}`);
      if (res.status === 429) {
        log.push(`Retry-After: ${res.headers.get('retry-after')}`);
        log.push(`${res.headers.get('content-type')}: ${(await res.json()).detail}`);
      } else await res.body?.cancel();
    }
  } finally {
    server.close();
    server.closeAllConnections();
  }
  return log;
}

/** The Workers sample of docs/hono.md, run in-process with `app.request` (as Hono's own tests do). */
export async function honoWorkerSample(clock: Clock = systemClock): Promise<string[]> {
  // #region workers
  const app = new Hono();
  // On Cloudflare, getConnInfo reports the cf-connecting-ip that Cloudflare sets (a client cannot).
  app.use(
    '/api/*',
    rateLimit({ limiter: tokenBucket({ capacity: 2, refillPerSecond: 1, clock }), getConnInfo: cloudflareConnInfo }),
  );
  // An API key instead of an address: give `key`, no getConnInfo needed.
  const perKey = rateLimit({
    limiter: slidingWindow({ limit: 1, windowMs: 60_000, clock }),
    key: (c) => `key:${c.req.header('x-api-key')}`,
  });
  app.get('/api/report', perKey, (c) => c.text('report'));
  app.get('/api/ping', (c) => c.text('pong'));
  // #endregion workers

  const log: string[] = [];
  const send = async (path: string, headers: Record<string, string>) => {
    const res = await app.request(path, { headers: { 'cf-connecting-ip': '203.0.113.7', ...headers } });
    log.push(`${path} ${headers['cf-connecting-ip'] ?? '203.0.113.7'}: ${res.status} ${res.headers.get('ratelimit')}`);
  };
  await send('/api/report', { 'x-api-key': 'k1' });
  await send('/api/report', { 'x-api-key': 'k2' });
  await send('/api/ping', {});
  await send('/api/ping', { 'cf-connecting-ip': '2001:db8::1' });
  return log;
}

/** docs/migrating.md, from hono-rate-limiter: the same limit, and a login route that counts failures only. */
export async function fromHonoRateLimiter(clock: Clock = systemClock): Promise<string[]> {
  // #region from-hono-rate-limiter
  const app = new Hono();
  app.use(
    rateLimit({
      limiter: slidingWindow({ limit: 100, windowMs: 15 * 60_000, clock }),
      key: (c) => c.req.header('x-api-key') ?? 'anonymous', // keyGenerator
      headers: 'draft-6', // standardHeaders
    }),
  );
  // skipSuccessfulRequests: count only the responses that failed.
  const failedLogins = rateLimit({
    limiter: slidingWindow({ limit: 2, windowMs: 60_000, clock }),
    key: (c) => `account:${c.req.header('x-account')}`,
    countOnly: (response) => response.statusCode >= 400,
  });
  app.post('/login', failedLogins, (c) =>
    c.req.header('x-password') === 'right' ? c.json({ ok: true }) : c.json({ ok: false }, 401),
  );
  // #endregion from-hono-rate-limiter

  const log: string[] = [];
  for (const password of ['right', 'right', 'right', 'wrong', 'wrong', 'right']) {
    const res = await app.request('/login', { method: 'POST', headers: { 'x-account': 'ada', 'x-password': password } });
    log.push(`${password}: ${res.status} ${res.headers.get('ratelimit-remaining')} left, login: ${res.headers.get('ratelimit')}`);
  }
  return log;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await honoExample()) console.log(line);
  for (const line of await honoWorkerSample()) console.log(line);
}
