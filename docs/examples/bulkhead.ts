// docs/bulkhead.md, runnable: `node --import tsx docs/examples/bulkhead.ts`.
// A test (test/bulkhead/example.test.ts) runs it on a virtual clock so that it is deterministic.
import { pathToFileURL } from 'node:url';
import { bulkhead, type Clock, compose, isBulkheadFullError, sleep, systemClock, timeout } from '../../src/index.js';

export async function bulkheadExample(clock: Clock = systemClock): Promise<string[]> {
  const log: string[] = [];

  // 1. At most 2 calls at once, 2 more may wait up to 100 ms, newest first; beyond that, fail fast.
  const pool = bulkhead({ maxConcurrent: 2, maxQueue: 2, maxQueueWaitMs: 100, queueOrder: 'lifo', clock });
  pool.on('rejected', ({ reason }) => log.push(`rejected: ${reason}`));
  const query = pool(async (sql: string) => {
    await sleep(clock, 50);
    return `rows for ${sql}`;
  });
  const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((q) => query(q)));
  for (const r of results) log.push(r.status === 'fulfilled' ? r.value : isBulkheadFullError(r.reason) ? 'shed' : 'error');

  // 2. An adaptive limit learns the concurrency from latency (Vegas) and failures; put the timeout inside.
  const adaptive = bulkhead({ maxConcurrent: { algorithm: 'vegas', initial: 10, min: 2, max: 100 }, maxQueue: 50, clock });
  const guarded = compose(adaptive, timeout({ ms: 1_000, clock }));
  await guarded.execute(() => sleep(clock, 20));
  log.push(`adaptive limit: ${adaptive.limit}`);

  // 3. Load shedding without wrapping a function (what an HTTP adapter does).
  const permit = pool.tryAcquire();
  log.push(permit === undefined ? '503' : 'admitted');
  permit?.release();
  log.push(`running: ${pool.running}`);
  return log;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const keepAlive = setInterval(() => {}, 1_000); // weir's system timers never keep the process alive
  bulkheadExample()
    .then((log) => console.log(log.join('\n')))
    .finally(() => clearInterval(keepAlive));
}
