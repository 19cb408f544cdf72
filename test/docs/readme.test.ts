// Runs the README's quick starts (docs/examples/readme.ts) for real: servers on loopback, a real redis-server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeSample, expressSample, fastifySample, fetchSample, redisSample } from '../../docs/examples/readme.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';

describe('README quick starts', () => {
  test('compose: the first attempt fails, the retry succeeds', async () => {
    expect(await composeSample()).toEqual([6, 2]);
  });

  test('Express: two requests pass, the third is limited, with draft-10 RateLimit fields', async () => {
    expect(await expressSample()).toEqual([200, '"api";r=1;t=1', 200, '"api";r=0;t=2', 429, '"api";r=0;t=1']);
  });

  test('Fastify: two requests pass, the third is limited', async () => {
    expect(await fastifySample()).toEqual([200, 200, 429]);
  });

  test('fetch: a 503 with Retry-After: 0 is retried, the 200 is returned untouched', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      if (requests === 1) res.writeHead(503, { 'retry-after': '0' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":42}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await fetchSample(origin)).toEqual([200, { id: 42 }]);
      expect(requests).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe.skipIf(!redisAvailable)('Redis', () => {
    let redis: RedisProcess;
    beforeAll(async () => {
      redis = await RedisProcess.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });
    test('a take is decided by Redis', async () => {
      expect(await redisSample(redis.url)).toEqual([true, 9, 10]);
    });
  });
});
