import { expect, test } from 'vitest';
import { retryExample } from '../../docs/examples/retry.js';
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
