/**
 * weir's policies as legacy (experimentalDecorators) method decorators in real Nest applications, on the
 * Express and the Fastify platform, compiled by tsc as Nest projects are (test/nestjs/compile.ts).
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { Platform, PoliciesApp } from './app-types.js';
import { compileNestApps } from './compile.js';

type Module = { startPoliciesApp(platform: Platform): Promise<PoliciesApp> };

const compiled = compileNestApps();

async function get(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

describe.each(['express', 'fastify'] as const)('NestJS 12 on %s', (platform) => {
  let running: PoliciesApp | undefined;
  const start = async () => {
    const { startPoliciesApp } = await compiled.load<Module>('policies-app');
    running = await startPoliciesApp(platform);
    return running;
  };
  afterEach(async () => {
    await running?.app.close();
    running = undefined;
  });

  test('a provider method with @retry, injected by its type: the third attempt answers', async () => {
    const app = await start();
    expect(await get(`${app.url}/profile`)).toMatchObject({ status: 200, body: { id: '42', attempts: 3 } });
  });

  test('a provider method with @compose(fallback, circuitBreaker): the fallback answers, the open breaker stops the calls', async () => {
    const app = await start();
    for (let i = 0; i < 4; i++) {
      expect(await get(`${app.url}/report`)).toMatchObject({ status: 200, body: { report: 'cached' } });
    }
    expect(app.breakerState()).toBe('open');
    expect(app.reportCalls()).toBe(2); // two failures opened it; the later calls never reached the method
  });

  test('a route handler with @retry keeps its route and its `this`', async () => {
    const app = await start();
    expect(await get(`${app.url}/flaky`)).toMatchObject({ status: 200, body: { handled: 2, viaProvider: true } });
  });

  test.each(['below', 'above'])('@RateLimit %s a policy decorator applies to the route', async (where) => {
    const app = await start();
    const first = await get(`${app.url}/limited-${where}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit')).toBe(`"${where}";r=0;t=60`);
    const second = await get(`${app.url}/limited-${where}`);
    expect(second.status).toBe(429);
    expect(second.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(second.body).toMatchObject({ status: 429, 'violated-policies': [where] });
  });
});
