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
    try {
      const ready = CLIENT_NAMES.map((name) => {
        const child = fork(WORKER, [JSON.stringify({ ...job, client: name })], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          child.once('message', () => resolve());
          child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
        });
      });
      await Promise.all(ready);
      const results = children.map(
        (child) =>
          new Promise<{ admitted: Record<string, number> }>((resolve) => child.once('message', (m) => resolve(m as never))),
      );
      const start = await serverSeconds(client);
      for (const child of children) child.send('go');
      const reports = await Promise.all(results);
      const elapsed = (await serverSeconds(client)) - start;
      const total = (name: string) => reports.reduce((sum, r) => sum + (r.admitted[name] as number), 0);
      // Every worker got some of each budget: the processes really contended.
      for (const r of reports) expect(r.admitted.bucket).toBeGreaterThan(0);
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
