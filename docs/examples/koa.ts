// docs/koa.md, runnable: `node --import tsx docs/examples/koa.ts`.
// A test (test/koa/example.test.ts) runs it with a VirtualClock so that it is deterministic.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import { ipKey, loadShedding, rateLimit } from '../../adapters/koa/index.js'; // 'weir/koa' in your code
import { bulkhead, type Clock, slidingWindow, systemClock, tokenBucket } from '../../src/index.js'; // 'weir'

async function listen(app: Koa): Promise<{ url: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function koaExample(clock: Clock = systemClock): Promise<string[]> {
  // #region intro
  const app = new Koa();
  app.proxy = true; // behind one reverse proxy: ctx.ip is the address it appended to X-Forwarded-For
  app.maxIpsCount = 1; // (see "Keys behind proxies")

  app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 100 }) }));
  app.use(rateLimit({ limiter: tokenBucket({ capacity: 20, refillPerSecond: 5, clock }), name: 'global' }));

  const router = new Router();
  const logins = slidingWindow({ limit: 2, windowMs: 60_000, clock });
  router.post('/login', rateLimit({ limiter: logins, name: 'login', key: (ctx) => `account:${ctx.get('x-account')}` }), (ctx) => {
    ctx.body = { ok: true };
  });
  app.use(router.routes());
  // #endregion intro

  const { url, server } = await listen(app);
  const log: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'x-account': 'ada' } });
      log.push(`${res.status} RateLimit: ${res.headers.get('ratelimit')}`);
      if (res.status === 429) {
        log.push(`Retry-After: ${res.headers.get('retry-after')}`);
        log.push(`detail: ${(await res.json()).detail}`);
      } else await res.body?.cancel();
    }
  } finally {
    server.close();
    server.closeAllConnections();
  }
  return log;
}

/** The other samples of docs/koa.md: a key per user, and a refusal answered by the app. */
export async function koaSamples(clock: Clock = systemClock): Promise<string[]> {
  const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1 / 60, clock });
  const app = new Koa();
  // Stands for your authentication middleware.
  app.use((ctx, next) => {
    const user = ctx.get('x-user');
    if (user !== '') ctx.state.user = { id: user };
    return next();
  });
  // #region key
  const perUser = rateLimit({
    limiter,
    key: (ctx: Context) => (ctx.state.user ? `user:${ctx.state.user.id}` : ipKey(ctx.ip)),
    onLimited: (ctx, info) => {
      ctx.status = 429;
      ctx.body = { error: 'slow down', retryAfter: info.retryAfter };
    },
  });
  // #endregion key
  app.use(perUser);
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const { url, server } = await listen(app);
  const log: string[] = [];
  try {
    for (const user of ['ada', 'ada', '', 'bob']) {
      const res = await fetch(url, { headers: user === '' ? {} : { 'x-user': user } });
      log.push(`${user || 'anonymous'}: ${res.status} ${await res.text()}`);
    }
  } finally {
    server.close();
    server.closeAllConnections();
  }
  return log;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await koaExample()) console.log(line);
}
