/**
 * A real Hono app served by @hono/node-server on loopback behind the scenario harness interface
 * (test/http/harness.ts), so the shared adapter scenarios run against weir/hono. Hono has no proxy setting:
 * with `trustProxy` the harness gives weir a `getConnInfo` that reads the proxy's `X-Forwarded-For` (what
 * docs/hono.md tells users behind a proxy to do), else the node-server adapter's own `getConnInfo`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { loadShedding, type RateLimitOptions, rateLimit } from '../../adapters/hono/index.js';
import type { LimitOptions } from '../../adapters/http/limit.js';
import type { AnyRequest, Harness, Setup } from '../http/harness.js';
import { closeServer } from '../koa/harness.js';

const PATHS = ['/', '/a', '/b', '/strict', '/health'];

/** The scenarios' key/cost/skip functions read `headers`, `url` and `ip` of a request. */
function asRequest(c: Context): AnyRequest {
  return { headers: c.req.header(), url: c.req.url, ip: getConnInfo(c).remote.address };
}

/** The scenario's limit, with its functions given the request view above. */
function honoLimit(options: LimitOptions<AnyRequest>): LimitOptions<Context> {
  const { key, cost, skip, ...rest } = options;
  const limit = rest as unknown as LimitOptions<Context>;
  if (key !== undefined) limit.key = (c) => key(asRequest(c));
  if (typeof cost === 'function') limit.cost = (c) => cost(asRequest(c));
  else if (cost !== undefined) limit.cost = cost;
  if (skip !== undefined) limit.skip = (c) => skip(asRequest(c));
  return limit;
}

const forwardedConnInfo = (c: Context) => ({
  remote: { address: c.req.header('x-forwarded-for')?.split(',')[0]?.trim() ?? getConnInfo(c).remote.address },
});

export const honoHarness: Harness = {
  name: 'hono 4 (node-server)',
  async start(setup: Setup) {
    const app = new Hono();
    app.onError((_error, c) => c.text('Internal Server Error', 500));
    const connInfo = setup.trustProxy === true ? forwardedConnInfo : getConnInfo;
    const limit = (options: LimitOptions<AnyRequest>): MiddlewareHandler =>
      rateLimit({ ...honoLimit(options), getConnInfo: connInfo, ...setup.response } as unknown as RateLimitOptions);
    const answer = async (c: Context) => {
      if (setup.gate !== undefined) await setup.gate();
      return c.text('ok');
    };
    const routes = setup.routes ?? {};
    // Routes without limits answer before the global middleware, so it never runs for them.
    for (const [path, limits] of Object.entries(routes)) if (limits === false) app.get(path, answer);
    if (setup.loadShedding !== undefined) app.use(loadShedding(setup.loadShedding));
    for (const options of setup.global ?? []) app.use(limit(options));
    for (const path of PATHS) {
      const own = routes[path];
      if (own === false) continue;
      for (const options of own ?? []) app.get(path, limit(options));
      app.get(path, answer);
    }
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: setup.host ?? '127.0.0.1' }, () => resolve(s as Server));
    });
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    return { url: `http://${host}:${port}`, close: () => closeServer(server) };
  },
};
