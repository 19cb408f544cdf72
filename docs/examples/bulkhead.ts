// docs/bulkhead.md, runnable: `node --import tsx docs/examples/bulkhead.ts`.
// A test (test/bulkhead/example.test.ts) runs it on a virtual clock so that it is deterministic.
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import {
  type BulkheadPolicy,
  bulkhead,
  type Clock,
  compose,
  isBulkheadFullError,
  sleep,
  systemClock,
  timeout,
} from '../../src/index.js';

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

/** A stand-in for a database client, so that the samples below run anywhere. */
const db = { query: async (sql: string) => [`row of ${sql}`] };

/** The samples of docs/bulkhead.md, run against stand-ins (test/bulkhead/example.test.ts). */
export async function bulkheadSamples(): Promise<string[]> {
  const log: string[] = [];
  // #region intro
  const pool = bulkhead({ maxConcurrent: 10, maxQueue: 20, maxQueueWaitMs: 500, queueOrder: 'lifo' });
  const query = pool(async (sql: string) => db.query(sql));
  // #endregion intro
  log.push(...(await query('select 1')));

  // #region adaptive
  const vegas = bulkhead({ maxConcurrent: { algorithm: 'vegas', initial: 20, min: 2, max: 200 }, maxQueue: 100 });
  const aimd = bulkhead({ maxConcurrent: { algorithm: 'aimd', initial: 10, max: 100, latencyThresholdMs: 250 } });
  // #endregion adaptive
  log.push(`vegas starts at ${vegas.limit}, aimd at ${aimd.limit}`);

  const res = new EventEmitter();
  const signal = new AbortController().signal;
  log.push(await handle(pool, { signal }, res, (status) => `status ${status}, running: ${pool.running}`));
  res.emit('close');
  log.push(`after close, running: ${pool.running}`);
  const full = bulkhead({ maxConcurrent: 1 });
  full.tryAcquire();
  log.push(`when full: ${await handle(full, { signal }, new EventEmitter(), (status) => `status ${status}`)}`);
  return log;
}

/** An HTTP handler that sheds load with a pool's slots (stand-ins for a framework's request, response and reply). */
async function handle(pool: BulkheadPolicy, req: { signal: AbortSignal }, res: EventEmitter, reply: (status: number) => string) {
  // #region permits
  const permit = pool.tryAcquire(); // never waits; undefined when full
  if (permit === undefined) return reply(503);
  res.on('close', () => permit.release()); // 'success' (default), 'drop' or 'ignore' feed an adaptive limit

  const permit2 = await pool.acquire(req.signal); // waits in the same queue; rejects like a guarded call
  // #endregion permits
  permit2.release();
  return reply(200);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const keepAlive = setInterval(() => {}, 1_000); // weir's system timers never keep the process alive
  bulkheadExample()
    .then((log) => console.log(log.join('\n')))
    .finally(() => clearInterval(keepAlive));
}
