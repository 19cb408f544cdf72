import { expect, test } from 'vitest';
import { quickStart, readmeQuickStart } from '../docs/examples/quick-start.js';
import { VirtualClock } from '../src/index.js';

test("the README's quick start sample runs (docs/examples/quick-start.ts#quick-start)", async () => {
  expect(await readmeQuickStart()).toEqual(['user 42', 'user 43', 'null', 'user 7']);
});

test('docs/examples/quick-start.ts runs and does what the README says', async () => {
  const clock = new VirtualClock();
  const done = quickStart(clock);
  await clock.runAllAsync();
  expect(await done).toEqual(['user 42', 'timed out after 50 ms', 'cached', 'event: timeout 50 ms']);
  expect(clock.pendingTimers).toBe(0);
});
