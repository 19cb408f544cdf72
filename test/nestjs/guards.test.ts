/**
 * weir/nestjs beyond the shared scenarios, in real Nest applications on both platforms (compiled with
 * legacy decorators, test/nestjs/app/guards-app.ts), and the construction errors of the decorators and
 * guards.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { RateLimit, RateLimitGuard, SkipRateLimit } from '../../adapters/nestjs/index.js';
import { type BulkheadPolicy, bulkhead, tokenBucket } from '../../src/index.js';
import type { Platform, StartedApp } from './app-types.js';
import { compileNestApps } from './compile.js';

type Module = { startGuardsApp(platform: Platform, pool: BulkheadPolicy, gate: Promise<void>): Promise<StartedApp> };

const compiled = compileNestApps();

describe('construction', () => {
  const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1 });

  test('@RateLimit checks its limits when the class is defined', () => {
    expect(() => RateLimit()).toThrow(/weir\/nestjs @RateLimit: give at least one limit/);
    expect(() => RateLimit({ limiter: 5 } as never)).toThrow(/weir\/nestjs @RateLimit: option "limiter" must be a rate limiter/);
    expect(() => RateLimit({ limiter, cost: 2 })).toThrow(/option "cost" \(2\) exceeds the limiter's limit/);
  });

  test('the decorators apply to classes and methods only', () => {
    class Target {}
    expect(() => SkipRateLimit()(Target.prototype, 'field')).toThrow(/decorate a controller class or a method/);
  });

  test('RateLimitGuard refuses unknown options and a rateLimit that is not a limit', () => {
    expect(() => new RateLimitGuard({ throttlers: [] } as never)).toThrow(/weir\/nestjs RateLimitGuard/);
    expect(() => new RateLimitGuard({ rateLimit: 5 } as never)).toThrow(/option "rateLimit" must be a limit/);
    expect(
      () =>
        new RateLimitGuard({
          rateLimit: [
            { limiter, name: 'a' },
            { limiter, name: 'a' },
          ],
        }),
    ).toThrow(/two limits are named "a"/);
  });
});

describe.each(['express', 'fastify'] as const)('NestJS 12 on %s', (platform) => {
  let app: StartedApp | undefined;
  let open!: () => void;
  const pool = bulkhead({ maxConcurrent: 1 });
  const start = async () => {
    const { startGuardsApp } = await compiled.load<Module>('guards-app');
    const gate = new Promise<void>((resolve) => (open = resolve));
    app = await startGuardsApp(platform, pool, gate);
    return app.url;
  };
  afterEach(async () => {
    open?.();
    await app?.app.close();
    app = undefined;
  });

  test('a controller @RateLimit is one budget for all its routes; an exception filter answers the refusal', async () => {
    const url = await start();
    const first = await fetch(`${url}/shared/a`);
    expect([first.status, first.headers.get('ratelimit')]).toEqual([200, '"shared";r=0;t=60']);
    const second = await fetch(`${url}/shared/b`);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('60');
    expect(await second.json()).toEqual({ refusedBy: 'shared', key: 'ip:127.0.0.1' });
  });

  test("@SkipRateLimit on a controller turns off its routes' own limits too", async () => {
    const url = await start();
    for (let i = 0; i < 3; i++) {
      const reply = await fetch(`${url}/open`);
      expect([reply.status, reply.headers.get('ratelimit')]).toEqual([200, null]);
    }
  });

  test('an inherited handler follows the metadata of the controller that serves it', async () => {
    const url = await start();
    const one = await fetch(`${url}/one/item`);
    expect([one.status, one.headers.get('ratelimit')]).toEqual([200, '"one";r=4;t=60']);
    const two = await fetch(`${url}/two/item`);
    expect([two.status, two.headers.get('ratelimit')]).toEqual([200, null]);
  });

  test('countOnly: only the responses it selects (401s thrown as HttpException) count', async () => {
    const url = await start();
    const statuses: number[] = [];
    for (const password of ['right', 'right', 'right', 'wrong', 'wrong', 'right']) {
      const reply = await fetch(`${url}/login/${password}`, { method: 'POST' });
      await reply.text(); // the whole response: the server has finished it
      statuses.push(reply.status);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(statuses).toEqual([201, 201, 201, 401, 401, 429]);
  });

  test('a full bulkhead sheds with 503; a @SkipLoadShedding route still answers', async () => {
    const url = await start();
    const slow = fetch(`${url}/slow`);
    while (pool.running === 0) await new Promise((resolve) => setImmediate(resolve));
    const shed = await fetch(`${url}/shared/a`);
    expect([shed.status, shed.headers.get('retry-after')]).toEqual([503, '1']);
    expect((await shed.json()).type).toBe('https://iana.org/assignments/http-problem-types#temporary-reduced-capacity');
    expect((await fetch(`${url}/health`)).status).toBe(200);
    open();
    expect((await slow).status).toBe(200);
  });
});
