import { expect, test } from 'vitest';
import { honoExample, honoWorkerSample } from '../../docs/examples/hono.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/hono.ts runs on @hono/node-server and does what docs/hono.md says', async () => {
  expect(await honoExample(new VirtualClock(), 0)).toEqual([
    '200 RateLimit: "global";r=19;t=1, "login";r=1;t=60',
    '200 RateLimit: "global";r=18;t=1, "login";r=0;t=60',
    '429 RateLimit: "global";r=17;t=1, "login";r=0;t=60',
    'Retry-After: 60',
    'application/problem+json: Rate limit "login" exceeded; retry after 60 s.',
  ]);
});

test('the Workers sample of docs/hono.md (docs/examples/hono.ts#workers): keys from cf-connecting-ip, and an API key', async () => {
  expect(await honoWorkerSample(new VirtualClock())).toEqual([
    '/api/report 203.0.113.7: 200 "2-in-2s";r=1;t=1, "1-in-60s";r=0;t=60',
    // Another API key: its own per-key budget; the address's bucket is shared by both keys.
    '/api/report 203.0.113.7: 200 "2-in-2s";r=0;t=2, "1-in-60s";r=0;t=60',
    '/api/ping 203.0.113.7: 429 "2-in-2s";r=0;t=1',
    '/api/ping 2001:db8::1: 200 "2-in-2s";r=1;t=1',
  ]);
});

test('docs/migrating.md, from hono-rate-limiter (docs/examples/hono.ts#from-hono-rate-limiter): countOnly counts failed logins only', async () => {
  const { fromHonoRateLimiter } = await import('../../docs/examples/hono.js');
  expect(await fromHonoRateLimiter(new VirtualClock())).toEqual([
    // Charged on arrival (the fields show the charged state), refunded when the response is a success.
    'right: 200 99 left, login: "2-in-60s";r=1;t=60',
    'right: 200 98 left, login: "2-in-60s";r=1;t=60',
    'right: 200 97 left, login: "2-in-60s";r=1;t=60',
    'wrong: 401 96 left, login: "2-in-60s";r=1;t=60',
    'wrong: 401 95 left, login: "2-in-60s";r=0;t=60',
    // Two failures in the window: refused, even with the right password.
    'right: 429 94 left, login: "2-in-60s";r=0;t=60',
  ]);
});
