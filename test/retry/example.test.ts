import { expect, test } from 'vitest';
import { retryExample, retrySamples } from '../../docs/examples/retry.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/retry.ts runs and does what docs/retry.md says', async () => {
  const clock = new VirtualClock();
  const done = retryExample(clock);
  await clock.runAllAsync();
  expect(await done).toEqual([
    'attempt 1 failed at 5 ms, next in 1000 ms',
    'attempt 2 failed at 1010 ms, next in 1000 ms',
    '200 hello from /greeting at 2015 ms',
    'CircuitOpenError after 1 call',
    'user navigated away after 2 calls',
  ]);
  expect(clock.pendingTimers).toBe(0);
});

test('the samples of docs/retry.md run (docs/examples/retry.ts#intro, #budget, #events, ...)', async () => {
  const clock = new VirtualClock();
  const done = retrySamples(clock);
  await clock.runAllAsync();
  expect(await done).toEqual([
    'hello from /greeting',
    'Retry-After: 120 is 120000 ms',
    'budget: 100.4 retries available after 2 calls', // 20 % of 2 calls + 10/s over 10 s
    'attempt 1 failed, next in 100 ms',
    'success after 2',
    'attempt 1 failed, next in 100 ms',
    'gave up after 2 (attempts)',
    'failed after 2: Error: always down',
    'fresh answer',
  ]);
  expect(clock.pendingTimers).toBe(0);
});
