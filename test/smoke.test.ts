import { expect, test } from 'vitest';
import { compose, fallback, timeout, VirtualClock } from '../src/index.js';

test('smoke', async () => {
  const clock = new VirtualClock();
  const t = timeout({ ms: 100, clock });
  class Svc {
    base = 10;
    @t
    async load(x: number) {
      return this.base + x;
    }
  }
  expect(await new Svc().load(1)).toBe(11);
  const p = compose(fallback('fb'), t);
  const slow = p(() => new Promise<number>(() => {}));
  const r = slow();
  await clock.advanceAsync(100);
  expect(await r).toBe('fb');
});
