import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, test } from 'vitest';
import weir, { weir as named } from '../../adapters/fastify/index.js';
import { bulkhead, tokenBucket, VirtualClock } from '../../src/index.js';
import { get } from '../http/scenarios.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  app?.server.closeAllConnections();
  await app?.close();
  app = undefined;
});

const limiter = () => tokenBucket({ capacity: 1, refillPerSecond: 0.5, clock: new VirtualClock() });

test('the default export is the plugin, made with fastify-plugin (not encapsulated)', () => {
  expect(weir).toBe(named);
  expect((weir as any)[Symbol.for('skip-override')]).toBe(true);
  expect((weir as any)[Symbol.for('fastify.display-name')]).toBe('weir');
});

test("hook 'preHandler' keys on a user set by an authentication hook; 'onRequest' runs before it", async () => {
  for (const hook of ['onRequest', 'preHandler'] as const) {
    app = Fastify();
    app.decorateRequest('user', '');
    app.addHook('preValidation', async (request) => {
      (request as any).user = request.headers['x-user'];
    });
    const key = (request: any) => {
      if (typeof request.user !== 'string' || request.user === '') throw new Error('no user yet');
      return `user:${request.user}`;
    };
    await app.register(weir, { hook, rateLimit: { limiter: limiter(), key } });
    app.get('/', async () => 'ok');
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const statuses = [];
    for (const u of ['ada', 'ada', 'bob']) statuses.push((await get(url, { 'x-user': u })).status);
    expect([hook, statuses]).toEqual([hook, hook === 'onRequest' ? [500, 500, 500] : [200, 429, 200]]);
    app.server.closeAllConnections();
    await app.close();
    app = undefined;
  }
});

test('onLimited replaces the 429 reply; HEAD requests of GET routes are limited once', async () => {
  app = Fastify();
  await app.register(weir, {
    rateLimit: { limiter: tokenBucket({ capacity: 3, refillPerSecond: 1, clock: new VirtualClock() }), name: 'api' },
    onLimited: async (_request, reply, info) => reply.code(429).send({ error: 'slow down', retryIn: info.retryAfter }),
  });
  app.get('/', async () => 'ok');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const head = await fetch(url, { method: 'HEAD' });
  expect(head.headers.get('ratelimit')).toBe('"api";r=2;t=1');
  await get(url);
  await get(url);
  const refused = await get(url);
  expect([refused.status, JSON.parse(refused.body), refused.headers.get('retry-after')]).toEqual([
    429,
    { error: 'slow down', retryIn: 1 },
    '1',
  ]);
});

test('an onLimited that rejects becomes an error reply, not an unhandled rejection', async () => {
  app = Fastify();
  await app.register(weir, {
    rateLimit: { limiter: limiter() },
    onLimited: async () => {
      throw new Error('handler broke');
    },
  });
  app.get('/', async () => 'ok');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  await get(url);
  expect((await get(url)).status).toBe(500);
});

test('routes in an encapsulated child plugin are limited too', async () => {
  app = Fastify();
  await app.register(weir, { rateLimit: { limiter: limiter() }, loadShedding: { bulkhead: bulkhead(10) } });
  await app.register(async (child) => {
    child.get('/child', async () => 'ok');
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  expect((await get(`${url}/child`)).status).toBe(200);
  expect((await get(`${url}/child`)).status).toBe(429);
});

test('configuration errors are clear, at registration', async () => {
  const cases: [unknown, RegExp][] = [
    [{ rateLimit: { max: 5 } }, /unknown option "max"/],
    [{ rateLimit: 5 }, /"rateLimit" must be a limit/],
    [{ rateLimit: { limiter: limiter() }, hook: 'onSend' }, /option "hook" must be "onRequest" or "preHandler"/],
    [{ headers: 'draft-8' }, /option "headers" must be one of/],
    [{ loadShedding: { bulkhead: {} } }, /option "loadShedding.bulkhead" must be a weir bulkhead/],
    [{ global: true }, /unknown option "global"/],
  ];
  for (const [options, message] of cases) {
    const instance = Fastify();
    await expect(instance.register(weir, options as any)).rejects.toThrow(message);
    await instance.close();
  }
  const instance = Fastify();
  await instance.register(weir, {});
  expect(() => instance.get('/', { config: { rateLimit: { limiter: 1 } as any } }, async () => 'ok')).toThrow(
    /route GET \/ config "rateLimit": option "limiter" must be a rate limiter/,
  );
  await instance.close();
});

test('registering the plugin twice is an error, not a silently ignored second set of limits', async () => {
  const strict = () => ({ rateLimit: { limiter: tokenBucket({ capacity: 1, refillPerSecond: 0.001 }), name: 'strict' } });
  // Twice on one instance.
  app = Fastify();
  await app.register(weir, { rateLimit: { limiter: limiter(), name: 'global' } });
  await expect(app.register(weir, strict())).rejects.toThrow(
    /weir\/fastify: register: the plugin is registered twice \(on this instance, or on it and a parent\).*config\.rateLimit/,
  );
  await app.close();
  // On the root and again in a child context (whose routes would run the root's hooks only).
  app = Fastify();
  await app.register(weir, { rateLimit: { limiter: limiter(), name: 'global' } });
  await expect(
    app.register(async (child) => {
      await child.register(weir, strict());
      child.get('/child', async () => 'ok');
    }),
  ).rejects.toThrow(/registered twice/);
  await app.close();
  // Sibling contexts are separate applications of the plugin: each guards its own routes.
  app = Fastify();
  for (const name of ['a', 'b']) {
    await app.register(async (child) => {
      await child.register(weir, { rateLimit: { limiter: limiter(), name } });
      child.get(`/${name}`, async () => 'ok');
    });
  }
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  expect((await get(`${url}/a`)).headers.get('ratelimit')).toBe('"a";r=0;t=2');
  expect((await get(`${url}/b`)).headers.get('ratelimit')).toBe('"b";r=0;t=2');
});

test("a route that already carries another weir registration's hooks (a second copy of weir) is refused", async () => {
  app = Fastify();
  await app.register(weir, { rateLimit: { limiter: limiter() } });
  const foreign = Object.assign((_request: unknown, _reply: unknown, done: () => void) => done(), {
    [Symbol.for('weir.fastify.hook')]: {},
  });
  expect(() => app?.get('/', { onRequest: [foreign] }, async () => 'ok')).toThrow(
    /weir\/fastify: route GET \/ already has weir's hooks: the plugin is registered twice/,
  );
});

test('two limits of one route may not share a given name; default names are made unique per response', async () => {
  app = Fastify();
  await app.register(weir, {});
  const twoNamed = {
    rateLimit: [
      { limiter: limiter(), name: 'api' },
      { limiter: limiter(), name: 'api' },
    ],
  };
  expect(() => app?.get('/named', { config: twoNamed }, async () => 'ok')).toThrow(
    /weir\/fastify: two limits are named "api"; each limit needs its own name/,
  );
  const twoDefault = { rateLimit: [{ limiter: limiter() }, { limiter: limiter() }] };
  app.get('/default', { config: twoDefault }, async () => 'ok');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  expect((await get(`${url}/default`)).headers.get('ratelimit-policy')).toBe('"1-in-2s";q=1;w=2, "1-in-2s-2";q=1;w=2');
});

test("weir's fields replace rate-limit fields an earlier hook set; its own limits on a route append to each other", async () => {
  app = Fastify();
  // An application hook that runs before weir's route hooks and sets fields of its own.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('RateLimit-Policy', '"app";q=9;w=9');
    reply.header('RateLimit', '"app";r=9');
  });
  await app.register(weir, { rateLimit: { limiter: limiter(), name: 'global' } });
  app.get('/', async () => 'ok');
  app.get(
    '/two',
    {
      config: {
        rateLimit: [
          { limiter: limiter(), name: 'a' },
          { limiter: limiter(), name: 'b' },
        ],
      },
    },
    async () => 'ok',
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const one = await get(url);
  expect([one.headers.get('ratelimit-policy'), one.headers.get('ratelimit')]).toEqual(['"global";q=1;w=2', '"global";r=0;t=2']);
  const two = await get(`${url}/two`);
  expect([two.headers.get('ratelimit-policy'), two.headers.get('ratelimit')]).toEqual([
    '"a";q=1;w=2, "b";q=1;w=2',
    '"a";r=0;t=2, "b";r=0;t=2',
  ]);
});
