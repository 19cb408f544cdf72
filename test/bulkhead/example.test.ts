import { expect, test } from 'vitest';
import { bulkheadExample, bulkheadSamples } from '../../docs/examples/bulkhead.js';
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

test('the samples of docs/bulkhead.md run (docs/examples/bulkhead.ts#intro, #adaptive, #permits)', async () => {
  expect(await bulkheadSamples()).toEqual([
    'row of select 1',
    'vegas starts at 20, aimd at 10',
    'status 200, running: 1', // the first permit is held until the response closes
    'after close, running: 0',
    'when full: status 503',
  ]);
});
