import { expect, test } from 'vitest';
import { bulkheadExample } from '../../docs/examples/bulkhead.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/bulkhead.ts runs and does what docs/bulkhead.md says', async () => {
  const clock = new VirtualClock();
  const done = bulkheadExample(clock);
  await clock.runAllAsync();
  expect(await done).toEqual([
    'rejected: full',
    'rows for a',
    'rows for b',
    'rows for c',
    'rows for d',
    'shed',
    'adaptive limit: 10',
    'admitted',
    'running: 0',
  ]);
  expect(clock.pendingTimers).toBe(0);
});
