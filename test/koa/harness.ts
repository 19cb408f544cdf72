/**
 * A real Koa 3 server on loopback behind the scenario harness interface (test/http/harness.ts), so the
 * shared adapter scenarios run against weir/koa. Routes are a small path dispatch (Koa has no router of
 * its own): a route's limits run after the global ones, as they would on a router's route.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context, type Next } from 'koa';
import type { LimitOptions } from '../../adapters/http/limit.js';
import { loadShedding, type RateLimitOptions, rateLimit } from '../../adapters/koa/index.js';
import type { AnyRequest, Harness, Setup } from '../http/harness.js';

type Handler = (ctx: Context, next: Next) => unknown;

/** The scenarios' key/cost/skip functions read `headers`, `url` and `ip`: a Koa context has all three. */
const asKoa = (options: LimitOptions<AnyRequest>) => options as unknown as LimitOptions<Context>;

function stack(handlers: Handler[]): Handler {
  const run = (ctx: Context, i: number): unknown =>
    (handlers[i] as Handler)(ctx, async () => {
      if (i + 1 < handlers.length) await run(ctx, i + 1);
    });
  return (ctx) => run(ctx, 0);
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

export const koaHarness: Harness = {
  name: 'koa 3',
  async start(setup: Setup) {
    const app = new Koa();
    app.silent = true; // the 500 scenarios would print their errors
    app.proxy = setup.trustProxy === true;
    const limit = (options: LimitOptions<AnyRequest>) =>
      rateLimit({ ...asKoa(options), ...setup.response } as RateLimitOptions<Context>) as Handler;
    const answer: Handler = async (ctx) => {
      if (setup.gate !== undefined) await setup.gate();
      ctx.body = 'ok';
    };
    const routes = setup.routes ?? {};
    // Routes without limits answer before the global middleware, so it never sees them.
    app.use((ctx, next) => (routes[ctx.path] === false ? answer(ctx, next) : next()));
    if (setup.loadShedding !== undefined) app.use(loadShedding(setup.loadShedding));
    for (const options of setup.global ?? []) app.use(limit(options));
    const own = new Map(
      Object.entries(routes).map(([path, limits]) => [path, limits === false ? answer : stack([...limits.map(limit), answer])]),
    );
    app.use((ctx, next) => (own.get(ctx.path) ?? answer)(ctx, next));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, setup.host ?? '127.0.0.1', () => resolve(s));
    });
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    return { url: `http://${host}:${port}`, close: () => closeServer(server) };
  },
};
