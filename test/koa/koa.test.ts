/**
 * weir/koa beyond the shared scenarios: what is particular to Koa (the context, errors thrown into Koa's
 * error handling, onLimited that may be async, responses counted after they end), on real servers.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, test } from 'vitest';
import { loadShedding, rateLimit } from '../../adapters/koa/index.js';
import { slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import { expectLowerCaseFieldNames } from '../http/scenarios.js';
import { closeServer } from './harness.js';

let server: Server | undefined;
afterEach(async () => {
  if (server !== undefined) await closeServer(server);
  server = undefined;
});

async function serve(app: Koa): Promise<string> {
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server?.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const limiter = (capacity = 1) => tokenBucket({ capacity, refillPerSecond: 1 / 60, clock: new VirtualClock() });

describe('construction', () => {
  test('unknown options and bad hooks are refused, naming the option', () => {
    expect(() => rateLimit({ limiter: limiter(), proxy: true } as never)).toThrow(/weir\/koa rateLimit/);
    expect(() => rateLimit({ limiter: limiter(), onLimited: 'no' } as never)).toThrow(/"onLimited" must be a function/);
    expect(() => rateLimit({ limiter: limiter(), cost: 2 })).toThrow(/option "cost" \(2\) exceeds the limiter's limit \(1\)/);
    expect(() => loadShedding({ bulkhead: {} } as never)).toThrow(
      /weir\/koa loadShedding: option "bulkhead" must be a weir bulkhead/,
    );
  });
});

test('a throwing key is thrown into Koa: app "error" gets it, the client a 500, the rest of the chain never runs', async () => {
  const app = new Koa();
  const errors: string[] = [];
  app.on('error', (error: Error) => errors.push(error.message));
  let reached = false;
  app.use(
    rateLimit({
      limiter: limiter(),
      key: () => {
        throw new Error('no user');
      },
    }),
  );
  app.use((ctx) => {
    reached = true;
    ctx.body = 'ok';
  });
  const url = await serve(app);
  expect((await fetch(url)).status).toBe(500);
  expect(errors).toEqual(['no user']);
  expect(reached).toBe(false);
});

test('an async onLimited answers the refusal; the fields and Retry-After are kept', async () => {
  const app = new Koa();
  app.use(
    rateLimit({
      limiter: limiter(),
      name: 'api',
      onLimited: async (ctx, info) => {
        await Promise.resolve();
        ctx.status = 429;
        ctx.body = { error: 'slow down', policy: info.name };
      },
    }),
  );
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const url = await serve(app);
  expect((await fetch(url)).status).toBe(200);
  const refused = await fetch(url);
  expect(refused.status).toBe(429);
  expect(await refused.json()).toEqual({ error: 'slow down', policy: 'api' });
  expect(refused.headers.get('retry-after')).toBe('60');
  expect(refused.headers.get('ratelimit')).toBe('"api";r=0;t=60');
});

test('countOnly: only the failed logins count (refunded when the response ends otherwise)', async () => {
  const clock = new VirtualClock();
  const app = new Koa();
  app.use(
    rateLimit({
      limiter: slidingWindow({ limit: 2, windowMs: 60_000, clock }),
      name: 'login',
      countOnly: (response) => response.statusCode === 401,
    }),
  );
  app.use((ctx) => {
    ctx.status = ctx.get('x-password') === 'right' ? 200 : 401;
    ctx.body = ctx.status === 200 ? 'welcome' : 'no';
  });
  const url = await serve(app);
  const login = async (password: string) => {
    const response = await fetch(url, { headers: { 'x-password': password } });
    await response.text(); // the whole response: the server has finished it
    return response.status;
  };
  const statuses: number[] = [];
  for (const password of ['right', 'right', 'right', 'wrong', 'wrong', 'right']) {
    statuses.push(await login(password));
    // The refund follows the response's 'close' on the server, which the client may see first.
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(statuses).toEqual([200, 200, 200, 401, 401, 429]);
});

test('the rate-limit fields and Retry-After are sent with lower-case names', async () => {
  const app = new Koa();
  app.use(rateLimit({ limiter: limiter() }));
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  await expectLowerCaseFieldNames(await serve(app));
});
