import { expect, test } from 'vitest';
import { expressExample } from '../../docs/examples/express.js';
import { VirtualClock } from '../../src/index.js';

test('docs/examples/express.ts runs and does what docs/express.md says', async () => {
  expect(await expressExample(new VirtualClock())).toEqual([
    '200 RateLimit: "global";r=19;t=1, "login";r=1;t=60',
    '200 RateLimit: "global";r=18;t=1, "login";r=0;t=60',
    '429 RateLimit: "global";r=17;t=1, "login";r=0;t=60',
    'Retry-After: 60',
    'detail: Rate limit "login" exceeded; retry after 60 s.',
  ]);
});
