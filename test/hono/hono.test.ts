/**
 * weir/hono beyond the shared scenarios: what is particular to Hono (the client address, responses that are
 * values, onLimited returning a Response), in-process with `app.request` as on any runtime, and the
 * adapter's freedom from Node built-ins.
 */
import { build } from 'esbuild';
import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { loadShedding, rateLimit } from '../../adapters/hono/index.js';
import { bulkhead, tokenBucket, VirtualClock } from '../../src/index.js';

const limiter = (capacity = 1) => tokenBucket({ capacity, refillPerSecond: 1 / 60, clock: new VirtualClock() });
const byHeader = { key: (c: { req: { header(name: string): string | undefined } }) => String(c.req.header('x-user')) };

describe('construction', () => {
  test('a limit without getConnInfo or key is a TypeError that says where the address comes from', () => {
    expect(() => rateLimit({ limiter: limiter() })).toThrow(
      /weir\/hono rateLimit: give option "getConnInfo" \(from your runtime's Hono adapter: '@hono\/node-server\/conninfo', 'hono\/bun', 'hono\/deno', 'hono\/cloudflare-workers'\) or a "key" function/,
    );
  });

  test('unknown options and a getConnInfo or onLimited that is not a function are refused', () => {
    expect(() => rateLimit({ limiter: limiter(), ...byHeader, trustProxy: true } as never)).toThrow(TypeError);
    expect(() => rateLimit({ limiter: limiter(), getConnInfo: 'node' } as never)).toThrow(/"getConnInfo" must be a function/);
    expect(() => rateLimit({ limiter: limiter(), ...byHeader, onLimited: 429 } as never)).toThrow(
      /"onLimited" must be a function/,
    );
    expect(() => loadShedding({ bulkhead: {} } as never)).toThrow(
      /weir\/hono loadShedding: option "bulkhead" must be a weir bulkhead/,
    );
  });
});

describe('in-process (app.request), as on every runtime', () => {
  test('a handler that returns a plain Response keeps the fields; the refusal is problem JSON', async () => {
    const app = new Hono();
    app.use(rateLimit({ limiter: limiter(), name: 'api', ...byHeader }));
    app.get('/', () => new Response('plain', { headers: { 'content-type': 'text/plain' } }));
    const first = await app.request('/', { headers: { 'x-user': 'ada' } });
    expect([first.status, await first.text(), first.headers.get('ratelimit')]).toEqual([200, 'plain', '"api";r=0;t=60']);
    expect(first.headers.get('ratelimit-policy')).toBe('"api";q=1;w=60');
    const refused = await app.request('/', { headers: { 'x-user': 'ada' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toMatchObject({ status: 429, 'violated-policies': ['api'] });
  });

  test('onLimited returns the refusal; the fields are already on it', async () => {
    const app = new Hono();
    app.use(
      rateLimit({
        limiter: limiter(),
        ...byHeader,
        onLimited: (c, info) => c.json({ error: 'slow down', retryAfter: info.retryAfter }, 429),
      }),
    );
    app.get('/', (c) => c.text('ok'));
    await app.request('/', { headers: { 'x-user': 'ada' } });
    const refused = await app.request('/', { headers: { 'x-user': 'ada' } });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: 'slow down', retryAfter: 60 });
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.headers.get('ratelimit')).toBe('"1-in-60s";r=0;t=60');
  });

  test('the fields reach a plain Response from the handler and from an async onLimited', async () => {
    const app = new Hono();
    app.use(
      rateLimit({
        limiter: limiter(),
        name: 'api',
        ...byHeader,
        onLimited: async () => new Response('no', { status: 429 }),
      }),
    );
    app.get('/', () => new Response('plain'));
    const first = await app.request('/', { headers: { 'x-user': 'ada' } });
    expect([first.status, first.headers.get('ratelimit')]).toEqual([200, '"api";r=0;t=60']);
    const refused = await app.request('/', { headers: { 'x-user': 'ada' } });
    expect([refused.status, await refused.text(), refused.headers.get('retry-after')]).toEqual([429, 'no', '60']);
    expect(refused.headers.get('ratelimit')).toBe('"api";r=0;t=60');
  });

  test('a throwing key goes to app.onError, and the handler never runs', async () => {
    const app = new Hono();
    const seen: string[] = [];
    app.onError((error, c) => {
      seen.push((error as Error).message);
      return c.text('failed', 500);
    });
    app.use(
      rateLimit({
        limiter: limiter(),
        key: () => {
          throw new Error('no user');
        },
      }),
    );
    app.get('/', (c) => {
      seen.push('handler');
      return c.text('ok');
    });
    expect((await app.request('/')).status).toBe(500);
    expect(seen).toEqual(['no user']);
  });

  test('a 5xx response is a drop for the bulkhead, a success otherwise; a full bulkhead sheds with 503', async () => {
    const pool = bulkhead({ maxConcurrent: 1 });
    // The same bulkhead, with the outcome of each release recorded.
    const outcomes: string[] = [];
    const recorded = {
      maxQueue: 0,
      acquire: pool.acquire,
      tryAcquire: () => {
        const permit = pool.tryAcquire();
        return (
          permit && {
            release: (outcome?: 'success' | 'drop' | 'ignore') => {
              outcomes.push(String(outcome));
              permit.release(outcome);
            },
          }
        );
      },
    } as unknown as typeof pool;
    const app = new Hono();
    app.use(loadShedding({ bulkhead: recorded, retryAfter: 2 }));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async (c) => {
      await held;
      return c.text('ok');
    });
    app.get('/broken', (c) => c.text('broken', 503));
    const slow = app.request('/slow');
    const shed = await app.request('/slow');
    expect([shed.status, shed.headers.get('retry-after')]).toEqual([503, '2']);
    release();
    expect((await slow).status).toBe(200);
    expect((await app.request('/broken')).status).toBe(503);
    expect(pool.running).toBe(0);
    expect(outcomes).toEqual(['success', 'drop']);
  });
});

test('weir/hono bundles with no Node built-in (for Bun, Deno, workerd and browsers)', async () => {
  const result = await build({
    entryPoints: ['adapters/hono/index.ts'],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    external: ['hono', 'hono/*'],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text ?? '';
  expect(code).toContain('weir/hono rateLimit');
  expect(code.match(/\bfrom\s*["'](node:)?(net|http|events|process|buffer|diagnostics_channel)["']/g)).toBeNull();
  expect(code).not.toMatch(/require\(["']node:/);
});
