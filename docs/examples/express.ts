// docs/express.md, runnable: `node --import tsx docs/examples/express.ts`.
// A test (test/express/example.test.ts) runs it with a VirtualClock so that it is deterministic, and runs the
// samples of the page (expressSamples) on the system clock: their checks do not depend on its speed.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import express, { type Express, type Request, type RequestHandler } from 'express';
import { ipKey, loadShedding, RATE_LIMIT_CHANNEL, type RateLimitOutcome, rateLimit } from '../../adapters/express/index.js'; // 'weir/express' in your code
import { bulkhead, type Clock, type RateLimitStore, slidingWindow, systemClock, tokenBucket } from '../../src/index.js'; // 'weir'

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

    // The account name is chosen by the client: a per-IP limit in front bounds how many names one client tries.
    const perAddress = rateLimit({ limiter: slidingWindow({ limit: 20, windowMs: 60_000 }), name: 'login-ip' });
    const logins = slidingWindow({ limit: 5, windowMs: 60_000 });
    const perAccount = rateLimit({ limiter: logins, name: 'login', key: (req) => `account:${req.body.account}` });
    app.post('/login', perAddress, perAccount, login);
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

/** The product samples of docs/express.md: plans, counting only failures, store failures, outcomes, slow uploads. */
export async function expressProductSamples(): Promise<string[]> {
  const lines: string[] = [];
  {
    // #region plans
    // One limiter, one budget per API key; the plan comes from the key (a lookup you keep in memory).
    const plans = new Map([['k-pro-1', 'pro']]);
    const limiter = tokenBucket({
      capacity: 2,
      refillPerSecond: 1,
      tiers: { pro: { capacity: 10, refillPerSecond: 5 } },
      tierOf: (key) => plans.get(key.slice('key:'.length)),
    });
    const app = express();
    app.use(rateLimit({ limiter, name: 'api', key: (req) => `key:${req.get('x-api-key') ?? ipKey(req.ip)}` }));
    // #endregion plans
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const server = await serve(app);
    try {
      for (const key of ['k-free-1', 'k-pro-1']) {
        const res = await fetch(server.base, { headers: { 'x-api-key': key } });
        lines.push(`${key}: ${res.status} RateLimit-Policy: ${res.headers.get('ratelimit-policy')}`);
        await res.body?.cancel();
      }
    } finally {
      await server.close();
    }
  }
  {
    const login: RequestHandler = (req, res) => {
      res.status(req.body.password === 'right' ? 200 : 401).send();
    };
    // #region count-only
    // Brute-force protection: only failed logins count. Each request is charged when it arrives (so parallel
    // guesses cannot slip through) and refunded when its response turns out not to be a 401.
    const failedLogins = rateLimit({
      limiter: slidingWindow({ limit: 3, windowMs: 15 * 60_000 }),
      name: 'failed-logins',
      countOnly: (res) => res.statusCode === 401,
    });
    const app = express();
    app.post('/login', express.json({ limit: '1kb' }), failedLogins, login);
    // #endregion count-only
    const server = await serve(app);
    try {
      const seen: number[] = [];
      for (const password of ['right', 'right', 'wrong', 'wrong', 'wrong', 'wrong', 'right']) {
        const res = await fetch(`${server.base}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password }),
        });
        seen.push(res.status);
        await res.body?.cancel();
      }
      lines.push(`logins: ${seen.join(' ')}`);
    } finally {
      await server.close();
    }
  }
  {
    const redisBacked = tokenBucket({ capacity: 5, refillPerSecond: 1, store: brokenStore() });
    const log = { warn: (message: string, detail: object) => lines.push(`warn: ${message} ${JSON.stringify(detail)}`) };
    // #region store-failure
    // Decide what a failing store means, per route, and log it: 'allow' keeps the API up without limits,
    // 'reject' (503) keeps a sensitive route closed.
    const api = rateLimit({
      limiter: redisBacked,
      storeFailure: 'allow',
      onStoreError: (error, req, info) =>
        log.warn('rate limit store failed', { error: String(error), limit: info.name, action: info.action, path: req.path }),
    });
    const payments = rateLimit({ limiter: redisBacked, name: 'payments', storeFailure: 'reject' });
    // #endregion store-failure
    const app = express();
    app.get('/api', api, (_req, res) => {
      res.send('ok');
    });
    app.get('/pay', payments, (_req, res) => {
      res.send('paid');
    });
    const server = await serve(app);
    try {
      for (const path of ['/api', '/pay']) {
        const res = await fetch(`${server.base}${path}`);
        lines.push(`${path}: ${res.status}`);
        await res.body?.cancel();
      }
    } finally {
      await server.close();
    }
  }
  {
    const outcomes: string[] = [];
    const metrics = { record: (o: RateLimitOutcome) => outcomes.push(`${o.route} ${o.name} ${o.result}`) };
    // #region observe
    // Every limit's outcome per request (route, limit name, result: allowed, limited or store-error)...
    const limited = rateLimit({
      limiter: tokenBucket({ capacity: 1, refillPerSecond: 1 }),
      name: 'search',
      onResult: (outcome) => metrics.record(outcome),
    });
    // ...and, for every adapter in the process, on a diagnostics channel (what weir/otel and APM agents read).
    const onOutcome = (message: unknown) => metrics.record(message as RateLimitOutcome);
    subscribe(RATE_LIMIT_CHANNEL, onOutcome);
    // #endregion observe
    const app = express();
    app.get('/search', limited, (_req, res) => {
      res.send('ok');
    });
    const server = await serve(app);
    try {
      for (let i = 0; i < 2; i++) await (await fetch(`${server.base}/search`)).body?.cancel();
    } finally {
      await server.close();
      unsubscribe(RATE_LIMIT_CHANNEL, onOutcome);
    }
    lines.push(...new Set(outcomes));
  }
  lines.push(...(await slowUploads()));
  return lines;
}

/** A store whose every take fails, as a Redis store with no fallback would when Redis is down. */
function brokenStore(): RateLimitStore {
  return {
    bind: () => ({ take: () => Promise.reject(new Error('ECONNREFUSED')), reset: () => Promise.resolve() }),
  } as RateLimitStore;
}

/** Slow uploads hold load-shedding slots until the server's request timeout closes them. */
export async function slowUploads(): Promise<string[]> {
  const lines: string[] = [];
  const pool = bulkhead({ maxConcurrent: 1 });
  const app = express();
  // #region slowloris
  // A request holds its slot from its headers until its response ends, so a client that sends its body
  // slowly (or never) holds it too. Bound how long a request may take to arrive, and how big it may be.
  app.use(loadShedding({ bulkhead: pool }));
  app.use(express.json({ limit: '100kb' })); // a larger body is refused at once (413)
  const server = createServer({ requestTimeout: 300, headersTimeout: 300, connectionsCheckingInterval: 50 }, app);
  // #endregion slowloris
  app.post('/upload', (req, res) => {
    res.json({ got: Object.keys(req.body).length });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    // A stalled upload: headers and part of the body, then nothing.
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
    const blocked = await fetch(`http://127.0.0.1:${port}/upload`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    lines.push(`while a stalled upload holds the slot: ${blocked.status}`);
    await blocked.body?.cancel();
    const answer = once(stalled, 'data').then(([chunk]) => String(chunk).split('\r\n')[0]);
    lines.push(`the stalled upload gets: ${await answer}`);
    await once(stalled, 'close');
    const after = await fetch(`http://127.0.0.1:${port}/upload`, {
      method: 'POST',
      body: '{"b":1}',
      headers: { 'content-type': 'application/json' },
    });
    lines.push(`then: ${after.status} ${await after.text()}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Promise.all([expressExample(), expressSamples(), expressProductSamples()]).then((logs) => console.log(logs.flat().join('\n')));
}
