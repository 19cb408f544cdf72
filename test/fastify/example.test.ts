import { expect, test } from 'vitest';
import { fastifyExample } from '../../docs/examples/fastify.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/fastify.ts runs and does what docs/fastify.md says', async () => {
  expect(await fastifyExample(new VirtualClock())).toEqual([
    '200 RateLimit: "global";r=19;t=1, "search";r=1;t=1',
    '200 RateLimit: "global";r=18;t=1, "search";r=0;t=2',
    '429 RateLimit: "global";r=17;t=1, "search";r=0;t=1',
    'Retry-After: 1',
    'health 200, RateLimit: null',
  ]);
});
