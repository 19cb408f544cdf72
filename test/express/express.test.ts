import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, test } from 'vitest';
import { type LimitedInfo, loadShedding, rateLimit } from '../../adapters/express/index.js';
import { bulkhead, tokenBucket, VirtualClock } from '../../src/index.js';
import { expectLowerCaseFieldNames, get } from '../http/scenarios.js';

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s === undefined) return;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
});

async function listen(app: any, host = '127.0.0.1'): Promise<string> {
  const s: Server = app.listen(0, host);
  server = s;
  await new Promise((resolve) => s.once('listening', resolve));
  const { address, port } = s.address() as AddressInfo;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

const limiter = () => tokenBucket({ capacity: 1, refillPerSecond: 0.5, clock: new VirtualClock() });

describe.each([
  ['Express 5', () => express()],
  ['Express 4', () => express4()],
])('%s', (_name, make) => {
  test('onLimited replaces the 429 body; headers are already set; IPv6 sockets are keyed by /64', async () => {
    const app = make();
    const seen: LimitedInfo[] = [];
    app.use(
      rateLimit({
        limiter: limiter(),
        name: 'api',
        onLimited: (_req, res, _next, info) => {
          seen.push(info);
          res.statusCode = 429;
          res.end('slow down');
        },
      }),
    );
    app.get('/', (_req: any, res: any) => res.send('ok'));
    const url = await listen(app, '::1');
    expect((await get(url)).status).toBe(200);
    const refused = await get(url);
    expect([refused.status, refused.body, refused.headers.get('retry-after')]).toEqual([429, 'slow down', '2']);
    expect(refused.headers.get('ratelimit')).toBe('"api";r=0;t=2');
    expect(seen.map((i) => [i.name, i.key, i.cost, i.retryAfter, i.decision.reason])).toEqual([
      ['api', 'ip6:0:0:0:0::/64', 1, 2, 'limit'],
    ]);
  });

  test('onLimited may pass the refusal to the error handler with next(error)', async () => {
    const app = make();
    app.use(rateLimit({ limiter: limiter(), onLimited: (_req, _res, next) => next(new Error('limited')) }));
    app.get('/', (_req: any, res: any) => res.send('ok'));
    app.use((error: Error, _req: any, res: any, _next: any) => res.status(418).send(error.message));
    const url = await listen(app);
    await get(url);
    const refused = await get(url);
    expect([refused.status, refused.body]).toEqual([418, 'limited']);
  });

  test('load shedding releases the slot when the handler fails with a 500', async () => {
    const app = make();
    const pool = bulkhead({ maxConcurrent: 1 });
    app.use(loadShedding({ bulkhead: pool }));
    app.get('/', () => {
      throw new Error('boom');
    });
    const url = await listen(app);
    expect((await get(url)).status).toBe(500);
    expect((await get(url)).status).toBe(500);
    expect(pool.running).toBe(0);
  });

  test('two load-shedding middlewares on one response each hold and release their own slot', async () => {
    const app = make();
    const outer = bulkhead({ maxConcurrent: 1 });
    const inner = bulkhead({ maxConcurrent: 1 });
    app.use(loadShedding({ bulkhead: outer }));
    app.use(loadShedding({ bulkhead: inner }));
    const held: number[] = [];
    app.get('/', (_req: any, res: any) => {
      held.push(outer.running, inner.running);
      res.send('ok');
    });
    const url = await listen(app);
    // Each bulkhead has one slot: a slot not given back would shed the next request with a 503.
    for (let i = 0; i < 3; i++) expect((await get(url)).status).toBe(200);
    expect(held).toEqual([1, 1, 1, 1, 1, 1]);
    expect([outer.running, inner.running]).toEqual([0, 0]);
  });
});

describe('configuration errors are clear, at construction', () => {
  const l = limiter();
  test.each([
    [{}, /option "limiter" must be a rate limiter/],
    [{ limiter: {} }, /option "limiter" must be a rate limiter/],
    [{ limiter: l, max: 5 }, /unknown option "max"/],
    [{ limiter: l, headers: 'draft-8' }, /option "headers" must be one of/],
    [{ limiter: l, key: 'ip' }, /option "key" must be a function/],
    [{ limiter: l, key: () => 'k', ipv6Prefix: 48 }, /applies only to the default key/],
    [{ limiter: l, ipv6Prefix: 129 }, /option "ipv6Prefix" must be an integer from 1 to 128/],
    [{ limiter: l, cost: 2 }, /exceeds the limiter's limit/],
    [{ limiter: l, cost: -1 }, /option "cost" must be an integer >= 0/],
    [{ limiter: l, name: 'naïve' }, /option "name" must be a non-empty string of printable ASCII/],
    [{ limiter: l, windowMs: 0 }, /option "windowMs"/],
    [{ limiter: l, storeFailure: 'open' }, /option "storeFailure" must be "allow" or "reject"/],
    [{ limiter: l, storeTimeoutMs: Number.NaN }, /option "storeTimeoutMs"/],
    [{ limiter: l, onLimited: 'json' }, /option "onLimited" must be a function/],
  ])('rateLimit(%j)', (options, message) => {
    expect(() => rateLimit(options as any)).toThrow(message);
  });

  test('loadShedding', () => {
    expect(() => loadShedding({} as any)).toThrow(/option "bulkhead" must be a weir bulkhead/);
    expect(() => loadShedding({ bulkhead: bulkhead(1), retryAfter: 0.5 })).toThrow(/option "retryAfter" must be an integer/);
    expect(() => loadShedding({ bulkhead: bulkhead(1), queue: 1 } as any)).toThrow(/unknown option "queue"/);
  });
});

test('the rate-limit fields and Retry-After are sent with lower-case names', async () => {
  const app = express();
  app.use(rateLimit({ limiter: limiter() }));
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  await expectLowerCaseFieldNames(await listen(app));
});
