import { expect, test } from 'vitest';
import { example, migrationSamples, productSamples, samples } from '../../docs/examples/rate-limit.js';
import { VirtualClock } from '../../src/index.js';

test('the docs example runs and prints what the docs say', async () => {
  const clock = new VirtualClock();
  const run = example(clock);
  await clock.runAllAsync();
  expect(await run).toEqual([
    'profile of ann',
    'profile of ann',
    'ann is limited: retry after 100 ms',
    'waited for ann',
    'after 100 ms',
    'bob: allowed=true remaining=0 resetAfterMs=200',
    'cost 3: cost-exceeds-limit',
  ]);
  expect(clock.pendingTimers).toBe(0);
});

test('the samples of docs/rate-limiting.md run (docs/examples/rate-limit.ts#intro, #policy)', async () => {
  expect(await samples()).toEqual([
    'order 1 of ann; first take: allowed=true remaining=17',
    'POST served',
    '10.0.0.1 has 5 left',
  ]);
});

test('the product samples of docs/rate-limiting.md run (#plans, #cachedTierOf, #reconfigure, #refund, #countOnly, #quota, #fairWait, #sizing)', async () => {
  const clock = new VirtualClock();
  expect(await productSamples(clock)).toEqual([
    'pro: tier=pro limit=200 remaining=150',
    'after the lookup: tier=pro',
    'free: remaining=19',
    'pro after reconfigure: limit=400',
    'refund: remaining=75',
    'login after 5 failures: locked; successes are free: session',
    'quota: resetAfterMs=2592000000 retryAfterMs=260',
    'served in order: ann: a, ann: b, ann: c, ann: d',
    'per-ip limit=100',
  ]);
  expect(clock.pendingTimers).toBe(0);
});

test('the rate-limit samples of docs/migrating.md run on a real Express server', async () => {
  const log = await migrationSamples();
  expect(log[0]).toBe('logins: 200 200 200 200 200 200 200 200 401 401 401 401 401 429');
  expect(log[1]).toBe('pro: "api-pro";q=1000;w=60; free: "api";q=100;w=60');
  expect(log[2]).toBe('partner: allowed=true remaining=40; others: cost-exceeds-limit');
});
