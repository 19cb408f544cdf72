import { expect, test } from 'vitest';
import { fetchExample, fetchSamples } from '../../docs/examples/fetch.js';

test('docs/examples/fetch.ts runs and does what docs/fetch.md says', async () => {
  expect(await fetchExample()).toEqual([
    'flaky: attempt 1 got 503',
    'flaky: attempt 2 got 503',
    'flaky: 200 ok GET /flaky after 3 calls',
    'orders: 200 ok POST /orders',
    'quota: 200 200 200 after 4 calls',
    'strict: rate limited: true',
    'slow: attempt failed: timeout',
    'slow: 200 after 2 calls',
    'down: FetchNetworkError, not retried (method)',
  ]);
});

test('the samples of docs/fetch.md run (docs/examples/fetch.ts#intro, #partner, #rate-limited, #slow, #bodies)', async () => {
  expect(await fetchSamples()).toEqual([
    'intro: 200 ok GET /users/42',
    'partner: breaker closed, 2 calls, 0 warnings',
    'rate-limited: 200 200 200',
    'slow: 200',
    'bodies: 503 200 200 after 1, 2, 2 sends',
  ]);
});
