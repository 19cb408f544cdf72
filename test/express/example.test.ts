import { expect, test } from 'vitest';
import { expressExample, expressProductSamples, expressSamples } from '../../docs/examples/express.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/express.ts runs and does what docs/express.md says', async () => {
  expect(await expressExample(new VirtualClock())).toEqual([
    '200 RateLimit: "global";r=19;t=1, "login";r=1;t=60',
    '200 RateLimit: "global";r=18;t=1, "login";r=0;t=60',
    '429 RateLimit: "global";r=17;t=1, "login";r=0;t=60',
    'Retry-After: 60',
    'detail: Rate limit "login" exceeded; retry after 60 s.',
  ]);
});

test('the samples of docs/express.md run (docs/examples/express.ts#intro, #key)', async () => {
  expect(await expressSamples()).toEqual([
    // #intro: 5 logins per account per minute, keyed on the parsed body; another account has its own budget.
    'ada: 200 "login";r=4;t=60',
    'ada: 200 "login";r=3;t=60',
    'ada: 200 "login";r=2;t=60',
    'ada: 200 "login";r=1;t=60',
    'ada: 200 "login";r=0;t=60',
    'ada: 429 "login";r=0;t=60',
    'bob: 200 {"welcome":"bob"} "login";r=4;t=60',
    // #key: an authenticated user is keyed on its id, an anonymous request on its address.
    'ada: 200 RateLimit: "2-in-60s";r=1;t=60',
    'ada: 200 RateLimit: "2-in-60s";r=0;t=60',
    'anonymous: 200 RateLimit: "2-in-60s";r=1;t=60',
    'ada: 429 RateLimit: "2-in-60s";r=0;t=60',
    'remaining: user:ada 0, ip:127.0.0.1 1',
  ]);
});

test('the product samples of docs/express.md run (#plans, #count-only, #store-failure, #observe, #slowloris)', async () => {
  expect(await expressProductSamples()).toEqual([
    // #plans: the policy each key is decided with.
    'k-free-1: 200 RateLimit-Policy: "api";q=2;w=2',
    'k-pro-1: 200 RateLimit-Policy: "api-pro";q=10;w=2',
    // #count-only: two good logins cost nothing; three failures spend the budget; then even the right one waits.
    'logins: 200 200 401 401 401 429 429',
    // #store-failure: logged, then allowed or refused as each route chose.
    'warn: rate limit store failed {"error":"Error: ECONNREFUSED","limit":"5-in-5s","action":"allow","path":"/api"}',
    '/api: 200',
    '/pay: 503',
    // #observe: from onResult and from the channel (the same outcomes).
    '/search search allowed',
    '/search search limited',
    // #slowloris
    'while a stalled upload holds the slot: 503',
    'the stalled upload gets: HTTP/1.1 408 Request Timeout',
    'then: 200 {"got":1}',
  ]);
});
