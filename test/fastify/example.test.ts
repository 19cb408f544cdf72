import { expect, test } from 'vitest';
import { fastifyExample, fastifyProductSamples, fastifySamples } from '../../docs/examples/fastify.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/fastify.ts runs and does what docs/fastify.md says', async () => {
  expect(await fastifyExample(new VirtualClock())).toEqual([
    '200 RateLimit: "global";r=19;t=1, "search";r=1;t=1',
    '200 RateLimit: "global";r=18;t=1, "search";r=0;t=2',
    '429 RateLimit: "global";r=17;t=1, "search";r=0;t=1',
    'Retry-After: 1',
    'health 200, RateLimit: null',
  ]);
});

test('the sample of docs/fastify.md runs (docs/examples/fastify.ts#intro)', async () => {
  expect(await fastifySamples()).toEqual([
    // A route without config gets the global limit; /search its two limits (burst 2); /health none.
    '/items: 200 RateLimit: "global"',
    '/search: 200 RateLimit: "global", "search";r=1',
    '/search: 200 RateLimit: "global", "search";r=0',
    '/search: 429 RateLimit: "global", "search";r=0',
    '/health: 200 RateLimit: none',
    // trustProxy: the client's address (from X-Forwarded-For) is the key, not the proxy's.
    'global: ip:203.0.113.7 charged true, ip:127.0.0.1 charged false',
  ]);
});

test('the product samples of docs/fastify.md run (#not-found, #login, #store-failure, #slowloris)', async () => {
  expect(await fastifyProductSamples()).toEqual([
    // #not-found: three 404s, then the flood is refused.
    '404 flood: 404 404 404 429 429',
    // #login: a success costs nothing; three failures spend the account's budget; then even the right one waits.
    'logins: 200 401 401 401 429 429',
    // #store-failure: logged, then refused (503) as chosen.
    'store down: 503 api reject',
    // #slowloris
    'while a stalled upload holds the slot: 503',
    'after the request timeout closed it: 200 {"got":1}',
  ]);
});
