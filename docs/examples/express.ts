// docs/express.md, runnable: `node --import tsx docs/examples/express.ts`.
// A test (test/express/example.test.ts) runs it with a VirtualClock so that it is deterministic, and runs the
// samples of the page (expressSamples) on the system clock: their checks do not depend on its speed.
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express, { type Express, type Request, type RequestHandler } from 'express';
import { ipKey, loadShedding, rateLimit } from '../../adapters/express/index.js'; // 'weir/express' in your code
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

/** Serves `app` on a free loopback port. */
async function serve(app: Express): Promise<{ base: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { base, close };
}

/** The `login` limit's member of the `RateLimit` field (the global one refills in real time). */
const loginMember = (res: globalThis.Response) => /"login";[^,]*/.exec(res.headers.get('ratelimit') ?? '')?.[0];

/** The samples of docs/express.md, run against a local server (test/express/example.test.ts). */
export async function expressSamples(): Promise<string[]> {
  const lines: string[] = [];
  {
    const login: RequestHandler = (req, res) => {
      res.json({ welcome: req.body.account });
    };
    // #region intro
    const app = express();
    app.set('trust proxy', 'loopback'); // see "Keys behind proxies"

    app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 100 }) }));
    app.use(rateLimit({ limiter: tokenBucket({ capacity: 20, refillPerSecond: 5 }), name: 'global' }));
    app.use(express.json()); // for the login key below; a request the global limit refuses is never parsed

    const logins = slidingWindow({ limit: 5, windowMs: 60_000 });
    app.post('/login', rateLimit({ limiter: logins, name: 'login', key: (req) => `account:${req.body.account}` }), login);
    // #endregion intro
    const server = await serve(app);
    try {
      const post = (account: string) =>
        fetch(`${server.base}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ account }),
        });
      for (let i = 0; i < 6; i++) {
        const res = await post('ada');
        lines.push(`ada: ${res.status} ${loginMember(res)}`);
        await res.body?.cancel();
      }
      const bob = await post('bob'); // another account: its own budget
      lines.push(`bob: ${bob.status} ${JSON.stringify(await bob.json())} ${loginMember(bob)}`);
    } finally {
      await server.close();
    }
  }
  {
    const limiter = slidingWindow({ limit: 2, windowMs: 60_000 });
    // #region key
    interface AuthenticatedRequest extends Request {
      user?: { id: string }; // set by your authentication middleware, which runs before the limit
    }
    const perUser = rateLimit({
      limiter,
      key: (req: AuthenticatedRequest) => (req.user ? `user:${req.user.id}` : ipKey(req.ip, 64)),
    });
    // #endregion key
    const app = express();
    const authenticate: RequestHandler = (req: AuthenticatedRequest, _res, next) => {
      const id = req.headers['x-user'];
      if (typeof id === 'string') req.user = { id };
      next();
    };
    app.get('/me', authenticate, perUser, (req: AuthenticatedRequest, res) => {
      res.json({ user: req.user?.id ?? null });
    });
    const server = await serve(app);
    try {
      for (const user of ['ada', 'ada', undefined, 'ada']) {
        const res = await fetch(`${server.base}/me`, { headers: user === undefined ? {} : { 'x-user': user } });
        lines.push(`${user ?? 'anonymous'}: ${res.status} RateLimit: ${res.headers.get('ratelimit')}`);
        await res.body?.cancel();
      }
      const left = async (key: string) => (await limiter.peek(key)).remaining;
      lines.push(`remaining: user:ada ${await left('user:ada')}, ip:127.0.0.1 ${await left('ip:127.0.0.1')}`);
    } finally {
      await server.close();
    }
  }
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Promise.all([expressExample(), expressSamples()]).then((logs) => console.log(logs.flat().join('\n')));
}
