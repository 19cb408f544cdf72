import { expect, test } from 'vitest';
import { koaExample, koaSamples } from '../../docs/examples/koa.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/koa.ts runs and does what docs/koa.md says', async () => {
  expect(await koaExample(new VirtualClock())).toEqual([
    '200 RateLimit: "global";r=19;t=1, "login";r=1;t=60',
    '200 RateLimit: "global";r=18;t=1, "login";r=0;t=60',
    '429 RateLimit: "global";r=17;t=1, "login";r=0;t=60',
    'Retry-After: 60',
    'detail: Rate limit "login" exceeded; retry after 60 s.',
  ]);
});

test('the samples of docs/koa.md run (docs/examples/koa.ts#key): a key per user, a refusal answered by the app', async () => {
  expect(await koaSamples(new VirtualClock())).toEqual([
    'ada: 200 ok',
    'ada: 429 {"error":"slow down","retryAfter":60}',
    'anonymous: 200 ok',
    'bob: 200 ok',
  ]);
});
