/**
 * Exactness under concurrency: one worker process per client library (ioredis, ioredis auto-pipelining,
 * iovalkey, node-redis v6 and v5, Valkey GLIDE), each with 16 takes in flight, hammer the same keys on
 * Redis's clock. The scripts are atomic, so the units admitted in total
 * equal the budget exactly where nothing refills during the test (costs of 1 and 2 mixed), and never
 * exceed capacity + rate × elapsed (measured with Redis TIME) for a refilling bucket.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { CLIENT_NAMES } from './clients.js';
import { connect, disconnectAll, freshPrefix } from './support.js';

const WORKER = fileURLToPath(new URL('./concurrency-worker.ts', import.meta.url));

async function serverSeconds(client: Redis): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) + Number(us) / 1e6;
}

describe.skipIf(!redisAvailable)('exactness under concurrency (worker processes)', () => {
  let redis: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = await connect(redis.port);
  });
  afterAll(async () => {
    await disconnectAll();
    await redis?.stop();
  });

  test('6 processes (one per client library) × 16 in flight admit exactly the budget, never more', async () => {
    const job = { port: redis.port, prefix: freshPrefix('conc'), attempts: 2000, inFlight: 16 };
    const children: ChildProcess[] = [];
    // The next message of each worker (a worker that exits first fails the test).
    const fromAll = <T>(): Promise<T[]> =>
      Promise.all(
        children.map(
          (child) =>
            new Promise<T>((resolve, reject) => {
              const onExit = (code: number | null) => reject(new Error(`worker exited early (${code})`));
              child.once('exit', onExit);
              child.once('message', (m) => {
                child.off('exit', onExit);
                resolve(m as T);
              });
            }),
        ),
      );
    try {
      for (const name of CLIENT_NAMES) {
        children.push(
          fork(WORKER, [JSON.stringify({ ...job, client: name })], {
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        );
      }
      // A start in steps, so that a worker that starts late (a loaded machine) still takes part: all connect;
      // then each takes once from every limiter (6 units of budgets of 50 and 300: each is admitted); only
      // once all have, they hammer together.
      await fromAll();
      const start = await serverSeconds(client);
      const opened = fromAll();
      for (const child of children) child.send('open');
      await opened;
      const results = fromAll<{ admitted: Record<string, number>; fallbacks: number }>();
      for (const child of children) child.send('go');
      const reports = await results;
      const elapsed = (await serverSeconds(client)) - start;
      const total = (name: string) => reports.reduce((sum, r) => sum + (r.admitted[name] as number), 0);
      for (const r of reports) {
        // Every library decided in Redis: each was admitted (its opening take at least) and none fell back.
        for (const name of ['bucket', 'gcra', 'log', 'counter', 'rate']) expect(r.admitted[name]).toBeGreaterThan(0);
        expect(r.fallbacks).toBe(0);
      }
      expect(total('bucket')).toBe(300);
      expect(total('gcra')).toBe(300);
      expect(total('log')).toBe(300);
      // The counter's 10-day aligned window could (rarely) roll over during the test: then at most 1 more.
      expect(total('counter')).toBeGreaterThanOrEqual(300);
      expect(total('counter')).toBeLessThanOrEqual(301);
      expect(total('rate')).toBeLessThanOrEqual(50 + Math.floor(200 * elapsed));
      expect(total('rate')).toBeGreaterThan(50);
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill();
    }
  }, 90_000);
});
