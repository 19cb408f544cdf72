/**
 * weir/redis on Bun and Deno: ioredis and node-redis run through each runtime's Node compatibility
 * (`node:net`), against a real redis-server. Two limiters with their own store share one bucket, as two app
 * servers would.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { bundle, lastJsonLine, runBin, startWorkerd, tempDir } from './harness.js';

const EXPECTED = { ioredis: [true, true, false], nodeRedis: [true, true, false] };

describe.skipIf(!redisAvailable)('weir/redis with ioredis and node-redis', () => {
  let redis: RedisProcess;
  const work = tempDir('redis');
  const script = join(work.dir, 'redis.mjs');

  beforeAll(async () => {
    redis = await RedisProcess.start();
    await bundle('test/runtimes/entries/redis.ts', script, 'node');
  });

  afterAll(async () => {
    await redis?.stop();
    work.remove();
  });

  it('on Bun', async () => {
    const run = await runBin('bun', ['run', script, redis.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(lastJsonLine(run)).toEqual(EXPECTED);
  });

  it('on Deno, with network, environment and file access (what the clients ask for)', async () => {
    const run = await runBin('deno', [
      'run',
      '--no-prompt',
      '--allow-net=127.0.0.1',
      '--allow-env',
      '--allow-read',
      script,
      redis.url,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(lastJsonLine(run)).toEqual(EXPECTED);
  });

  it('on workerd (node:net): a connection serves only the request that opened it; a client per request works', async () => {
    const dir = tempDir('redis-worker');
    try {
      await bundle('test/runtimes/entries/redis-worker.ts', join(dir.dir, 'worker.js'), 'workerd-node');
      const server = await startWorkerd(dir.dir, {
        script: 'worker.js',
        compatibilityDate: '2026-11-01',
        bindings: { REDIS_URL: redis.url },
        allowLocalNetwork: true,
      });
      try {
        const get = async (path: string) => (await fetch(`${server.url}${path}`)).json();
        expect(await get('/per-request')).toEqual([true, true, false]);
        expect(await get('/per-request')).toEqual([true, true, false]);
        // The shared client connects in the first request and works there ...
        expect(await get('/shared')).toEqual([true, true, false]);
        // ... and fails in every later one: the store's onError ('deny') decides.
        expect(await get('/shared')).toEqual([false, false, false]);
      } finally {
        await server.stop();
      }
    } finally {
      dir.remove();
    }
  });
});
