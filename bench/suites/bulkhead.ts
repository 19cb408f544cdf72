import { bulkhead as cBulkhead } from 'cockatiel';
import pLimit from 'p-limit';
import { bulkhead } from '../../src/index.js';
import { type BenchSuite, leaf } from '../lib.js';

/** The floor: an async wrapper that awaits the function in a try/finally and does nothing else. */
const floored = async (x: number): Promise<number> => {
  try {
    return await leaf(x);
  } finally {
  }
};

// Free slot: a limit far above the (sequential) load.
const wFree = bulkhead(100);
const freeGuarded = wFree(leaf);
const cFree = cBulkhead(100);
const pFree = pLimit(100);

const freeSuite: BenchSuite = {
  name: 'bulkhead: overhead with a free slot',
  description:
    'One awaited call through a bulkhead whose limit (100) is never reached: weir vs cockatiel bulkhead vs p-limit. The ratio is to the floor (an async wrapper with try/finally around the awaited call), measured in the same run.',
  cases: [
    {
      name: 'floor: async wrapper, try/finally around await leaf()',
      lib: 'floor',
      path: 'success',
      fn: () => floored(1),
      baseline: true,
    },
    { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1) },
    { name: 'weir bulkhead(100)', lib: 'weir', path: 'success', fn: () => freeGuarded(1) },
    { name: 'weir bulkhead(100).execute', lib: 'weir', path: 'success', fn: () => wFree.execute(() => leaf(1)) },
    { name: 'weir tryAcquire + release', lib: 'weir', path: 'success', fn: () => wFree.tryAcquire()?.release() },
    { name: 'cockatiel bulkhead(100)', lib: 'cockatiel', path: 'success', fn: () => cFree.execute(() => leaf(1)) },
    { name: 'p-limit(100)', lib: 'p-limit', path: 'success', fn: () => pFree(leaf, 1) },
  ],
};

// Saturated: 64 calls at once through a limit of 8 with room for all in the queue; one op = the 64 calls.
const BURST = 64;
const wSat = bulkhead({ maxConcurrent: 8, maxQueue: BURST });
const satGuarded = wSat(leaf);
const wLifo = bulkhead({ maxConcurrent: 8, maxQueue: BURST, queueOrder: 'lifo', maxQueueWaitMs: 10_000 });
const lifoGuarded = wLifo(leaf);
const wAdaptive = bulkhead({ maxConcurrent: { algorithm: 'vegas', initial: 8, min: 8, max: 8 }, maxQueue: BURST });
const adaptiveGuarded = wAdaptive(leaf);
const cSat = cBulkhead(8, BURST);
const pSat = pLimit(8);

function burst(call: (i: number) => Promise<unknown>): Promise<unknown> {
  const calls: Promise<unknown>[] = new Array(BURST);
  for (let i = 0; i < BURST; i++) calls[i] = call(i);
  return Promise.all(calls);
}

const saturatedSuite: BenchSuite = {
  name: 'bulkhead: saturated, with a queue',
  description: `${BURST} calls started at once through a limit of 8 with a queue for the rest, awaited together; ns/op is per burst of ${BURST} calls.`,
  batch: 20,
  cases: [
    { name: `bare ${BURST} × leaf()`, lib: 'bare', path: 'other', fn: () => burst(leaf), baseline: true },
    { name: 'weir bulkhead(8, queue 64) fifo', lib: 'weir', path: 'other', fn: () => burst(satGuarded) },
    { name: 'weir bulkhead(8, queue 64) lifo + wait bound', lib: 'weir', path: 'other', fn: () => burst(lifoGuarded) },
    { name: 'weir adaptive (vegas) 8, queue 64', lib: 'weir', path: 'other', fn: () => burst(adaptiveGuarded) },
    { name: 'cockatiel bulkhead(8, 64)', lib: 'cockatiel', path: 'other', fn: () => burst((i) => cSat.execute(() => leaf(i))) },
    { name: 'p-limit(8)', lib: 'p-limit', path: 'other', fn: () => burst((i) => pSat(leaf, i)) },
  ],
};

export default [freeSuite, saturatedSuite];
