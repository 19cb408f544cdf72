import { describe, expect, test } from 'vitest';
import { VirtualClock } from '../../src/index.js';
import type { Platform } from './app-types.js';
import { compileNestApps } from './compile.js';

type Example = {
  nestExample(platform: Platform, clock: VirtualClock, port: number): Promise<string[]>;
  nestPolicies(platform: Platform, clock: VirtualClock): Promise<string[]>;
  fromThrottler(platform: Platform, clock: VirtualClock): Promise<string[]>;
};

const compiled = compileNestApps();

describe.each(['express', 'fastify'] as const)('docs/examples/nestjs.ts on %s (compiled with legacy decorators)', (platform) => {
  test('#intro: the guards, a route limit keyed on the account, a route without limits', async () => {
    const { nestExample } = await compiled.loadExample<Example>();
    expect(await nestExample(platform, new VirtualClock(), 0)).toEqual([
      '201 RateLimit: "global";r=19;t=1, "login";r=1;t=60',
      '201 RateLimit: "global";r=18;t=1, "login";r=0;t=60',
      '429 RateLimit: "global";r=17;t=1, "login";r=0;t=60',
      'Retry-After: 60',
      'application/problem+json: Rate limit "login" exceeded; retry after 60 s.',
      'health: 200 RateLimit: null',
    ]);
  });

  test('#policies: retry, circuitBreaker and timeout on a provider method; the guard as an APP_GUARD provider', async () => {
    const { nestPolicies } = await compiled.loadExample<Example>();
    expect(await nestPolicies(platform, new VirtualClock())).toEqual([
      '200 {"sku":"widget","price":42} calls: 2 RateLimit: "10-in-10s";r=9;t=1',
    ]);
  });

  test('docs/migrating.md, from @nestjs/throttler (#from-nestjs-throttler): two limits, legacy fields, a skipped route', async () => {
    const { fromThrottler } = await compiled.loadExample<Example>();
    expect(await fromThrottler(platform, new VirtualClock())).toEqual([
      'cats: 200 X-RateLimit-Remaining: 0 ["tom"]',
      'cats: 429 X-RateLimit-Remaining: 0 cats',
      'status: 200 X-RateLimit-Remaining: null up',
    ]);
  });
});
