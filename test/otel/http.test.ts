import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../../adapters/express/index.js';
import weir from '../../adapters/fastify/index.js';
import { type Instrumentation, instrument } from '../../adapters/otel/index.js';
import { slidingWindow, VirtualClock } from '../../src/index.js';
import { points, sdk } from './harness.js';

let active: Instrumentation | undefined;
afterEach(() => {
  active?.stop();
  active = undefined;
});

async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, { headers: { 'x-client': 'ada' } });
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe('weir/otel: HTTP adapters report each request on weir.rate_limiting.requests', () => {
  it('Express: route, limit name and result of every request, on a real server', async () => {
    const clock = new VirtualClock();
    const { meterProvider, collect } = sdk();
    active = instrument([], { meterProvider });
    const app = express();
    const perClient = rateLimit({
      limiter: slidingWindow({ limit: 2, windowMs: 60_000, clock }),
      name: 'per-client',
      key: (req) => String(req.headers['x-client']),
    });
    app.get('/users/:id', perClient, (_req, res) => {
      res.send('ok');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await statuses(`${base}/users/1`, 3)).toEqual([200, 200, 429]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const metrics = await collect();
    expect(points(metrics, 'weir.rate_limiting.requests')).toEqual([
      {
        attributes: {
          'http.route': '/users/:id',
          'weir.rate_limiting.limit': 'per-client',
          'weir.rate_limiting.result': 'acquired',
        },
        value: 2,
      },
      {
        attributes: {
          'http.route': '/users/:id',
          'weir.rate_limiting.limit': 'per-client',
          'weir.rate_limiting.result': 'rejected',
        },
        value: 1,
      },
    ]);
  });

  it('Fastify: the same attributes; http: false and stop() report nothing more', async () => {
    const clock = new VirtualClock();
    const first = sdk();
    const quiet = sdk();
    active = instrument([], { meterProvider: first.meterProvider });
    const silent = instrument([], { meterProvider: quiet.meterProvider, http: false });
    const app = Fastify();
    await app.register(weir, {
      rateLimit: { name: 'api', limiter: slidingWindow({ limit: 1, windowMs: 60_000, clock }), key: () => 'everyone' },
    });
    app.get('/items/:id', async () => 'ok');
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect(await statuses(`${base}/items/7`, 2)).toEqual([200, 429]);
      const reported = [
        {
          attributes: { 'http.route': '/items/:id', 'weir.rate_limiting.limit': 'api', 'weir.rate_limiting.result': 'acquired' },
          value: 1,
        },
        {
          attributes: { 'http.route': '/items/:id', 'weir.rate_limiting.limit': 'api', 'weir.rate_limiting.result': 'rejected' },
          value: 1,
        },
      ];
      expect(points(await first.collect(), 'weir.rate_limiting.requests')).toEqual(reported);
      expect(points(await quiet.collect(), 'weir.rate_limiting.requests')).toEqual([]);
      active.stop();
      expect(await statuses(`${base}/items/8`, 1)).toEqual([429]);
      // Stopped: the later request is not counted (the SDK keeps the last cumulative values).
      expect(points(await first.collect(), 'weir.rate_limiting.requests')).toEqual(reported);
    } finally {
      await app.close();
      silent.stop();
    }
  });
});
