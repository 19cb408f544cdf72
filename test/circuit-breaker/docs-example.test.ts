import { expect, test } from 'vitest';
import { example, samples } from '../../docs/examples/circuit-breaker.js';

test('the worked example in docs/circuit-breaker.md runs as documented', async () => {
  expect(await example()).toEqual([
    'call 1: failed (inventory unavailable (request 1))',
    'call 2: failed (inventory unavailable (request 2))',
    'call 3: failed (inventory unavailable (request 3))',
    'call 4: failed (inventory unavailable (request 4))',
    'state closed -> open (failure-rate)',
    'call 5: failed (inventory unavailable (request 5))',
    'call 6: rejected fast, retry in 5000 ms',
    'state open -> half-open (open-elapsed)',
    'after 5 s: half-open',
    'trial 1: failed (inventory unavailable (request 6))',
    'state half-open -> open (failure-rate)',
    'trial 2: failed (inventory unavailable (request 7))',
    'backoff: {"state":"open","reopens":1,"halfOpenAt":15000}',
    'state open -> half-open (open-elapsed)',
    'trial 3: failed (inventory unavailable (request 8))',
    'state half-open -> open (failure-rate)',
    'trial 4: stock 42',
    'state open -> half-open (open-elapsed)',
    'trial 5: stock 42',
    'state half-open -> closed (trials-passed)',
    'trial 6: stock 42',
    'after recovery: stock 42',
  ]);
});

test('the other samples of docs/circuit-breaker.md run (#intro, #control, #events)', async () => {
  expect(await samples()).toEqual([
    'user 42, breaker closed',
    'closed after 1 call; saved {"state":"closed","reopens":0}; restored closed',
    'slow call in closed: 200 ms, failed: false',
    'success in closed',
    'failure in closed: Error: down',
    'closed -> open (consecutive-failures)',
    'rejected in open, retry in 5000 ms',
  ]);
});
