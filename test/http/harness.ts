/**
 * Real servers on loopback for the adapter scenarios: Express 5, Express 4 and Fastify 5 behind one small
 * interface, so test/http/scenarios.ts runs the same requests against each.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { loadShedding, type RateLimitOptions, rateLimit } from '../../adapters/express/index.js';
import weir, { type FastifyLimit, type WeirFastifyOptions } from '../../adapters/fastify/index.js';
import type { LimitOptions, ResponseOptions } from '../../adapters/http/limit.js';
import type { LoadSheddingOptions } from '../../adapters/http/shed.js';
import type { RateLimitStore } from '../../src/index.js';

/** The parts of a request the scenarios' key/cost/skip functions read (same on Express and Fastify). */
export interface AnyRequest {
  headers: Record<string, string | string[] | undefined>;
  url?: string | undefined;
  ip?: string | undefined;
}

export interface Setup {
  /** Limits for every route. */
  global?: LimitOptions<AnyRequest>[];
  /** Limits for one route, applied after the global ones; `false`: the route has no limit at all. */
  routes?: Record<string, LimitOptions<AnyRequest>[] | false>;
  response?: ResponseOptions<AnyRequest>;
  trustProxy?: boolean;
  loadShedding?: LoadSheddingOptions;
  /** Listen on this address (default 127.0.0.1). */
  host?: string;
  /** Awaited by every handler before it answers (to hold requests open). */
  gate?: () => Promise<void>;
  /** The status every handler answers with (default 200), from the request. */
  status?: (req: AnyRequest) => number;
  /** Options of the Fastify plugin beyond the limits and response options (ignored by Express). */
  fastify?: Partial<WeirFastifyOptions>;
}

export interface Running {
  url: string;
  close(): Promise<void>;
}

export interface Harness {
  name: string;
  start(setup: Setup): Promise<Running>;
}

const PATHS = ['/', '/a', '/b', '/strict', '/health', '/login'];

async function handle(setup: Setup): Promise<string> {
  if (setup.gate !== undefined) await setup.gate();
  return 'ok';
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

function expressHarness(name: string, make: () => any): Harness {
  return {
    name,
    async start(setup) {
      const app = make();
      if (setup.trustProxy) app.set('trust proxy', true);
      const limit = (options: LimitOptions<AnyRequest>) => rateLimit({ ...options, ...setup.response } as RateLimitOptions<any>);
      // Routes without limits are declared before the global middleware, so it never sees them.
      for (const [path, limits] of Object.entries(setup.routes ?? {})) {
        if (limits === false) app.get(path, (_req: any, res: any) => res.send('ok'));
      }
      if (setup.loadShedding !== undefined) app.use(loadShedding(setup.loadShedding));
      for (const options of setup.global ?? []) app.use(limit(options));
      for (const path of PATHS) {
        const own = setup.routes?.[path];
        if (own === false) continue;
        app.get(path, ...(own ?? []).map(limit), (req: any, res: any, next: any) => {
          handle(setup).then((body) => res.status(setup.status?.(req) ?? 200).send(body), next);
        });
      }
      const server: Server = await new Promise((resolve) => {
        const s = app.listen(0, setup.host ?? '127.0.0.1', () => resolve(s));
      });
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      return { url: `http://${host}:${port}`, close: () => closeServer(server) };
    },
  };
}

export const express5Harness = expressHarness('express 5', () => express());
export const express4Harness = expressHarness('express 4', () => express4());

export const fastifyHarness: Harness = {
  name: 'fastify 5',
  async start(setup) {
    const app = Fastify({ trustProxy: setup.trustProxy === true });
    const options: WeirFastifyOptions = { ...(setup.response as ResponseOptions<any>), ...setup.fastify };
    if (setup.global !== undefined) options.rateLimit = setup.global as FastifyLimit[];
    if (setup.loadShedding !== undefined) options.loadShedding = setup.loadShedding;
    await app.register(weir, options);
    for (const path of PATHS) {
      const own = setup.routes?.[path];
      // Route config replaces the global limits: list them again to add to them.
      const config =
        own === undefined ? {} : { rateLimit: own === false ? false : ([...(setup.global ?? []), ...own] as FastifyLimit[]) };
      app.get(path, { config: config as object }, async (request, reply) => {
        const body = await handle(setup);
        reply.code(setup.status?.(request as AnyRequest) ?? 200);
        return body;
      });
    }
    const address = await app.listen({ port: 0, host: setup.host ?? '127.0.0.1' });
    return {
      url: address,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
};

/**
 * A store the scenarios run against. `memory` answers synchronously (the adapters' fast path); `async memory`
 * hides `takeSync`, so every take goes through a promise exactly as a network store's does; `redis`
 * (./redis-case.ts) is the Redis store on a real redis-server.
 */
export interface StoreCase {
  name: string;
  /**
   * false: the limiters get a VirtualClock that the scenarios advance. true: decisions follow real time
   * (the Redis store's scripts read the server's TIME), so scenarios cannot advance it: they use limits that
   * refill slowly, bound delays by the real time elapsed, and check Retry-After against the store's state.
   */
  realTime: boolean;
  /** False skips the case (no redis-server on this machine). */
  available: boolean;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** A fresh store, for one limiter. */
  store(): RateLimitStore;
}

export function asyncStore(inner: RateLimitStore): RateLimitStore {
  return {
    bind(algorithm, clock) {
      const bound = inner.bind(algorithm, clock);
      return {
        take: (key, cost, consume) => new Promise((resolve) => setImmediate(() => resolve(bound.take(key, cost, consume)))),
        reset: (key) => bound.reset(key),
      };
    },
  };
}

export type FailureKind = 'rejects' | 'throws' | 'hangs';

/**
 * A store that fails like a broken store: `take` rejects, `takeSync` throws, or `take` never answers.
 * `taken` counts takes; `onTake` lets a test act once a take has started (e.g. advance a VirtualClock).
 */
export class FailingStore implements RateLimitStore {
  taken = 0;
  onTake: (() => void) | undefined = undefined;
  constructor(private readonly kind: FailureKind) {}
  bind(): ReturnType<RateLimitStore['bind']> {
    const take = () => {
      this.taken++;
      queueMicrotask(() => this.onTake?.());
      if (this.kind === 'hangs') return new Promise<never>(() => {});
      return Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379'));
    };
    // 'throws' is a store with a synchronous path that throws (the adapters' fast path must catch it).
    if (this.kind === 'throws') {
      return {
        take,
        takeSync: () => {
          this.taken++;
          throw new Error('store exploded');
        },
        reset: () => Promise.resolve(),
      };
    }
    return { take, reset: () => Promise.resolve() };
  }
}
