// The ARCHITECTURE.md samples: the thin shell decides exactly what its pure step decides.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { admits, CLOSED, PausedError, pauseAfterFailures, record } from '../../docs/examples/architecture.js';
import { VirtualClock } from '../../src/index.js';

describe('docs/examples/architecture.ts', () => {
  test('the shell admits, refuses and records as the pure step says, for any schedule', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 30 }), fail: fc.boolean() }), { maxLength: 40 }),
        async (limit, pauseMs, schedule) => {
          const clock = new VirtualClock();
          const guarded = pauseAfterFailures({ limit, pauseMs, clock })(async (fail: boolean) => {
            if (fail) throw new Error('down');
            return 'up';
          });
          let model = CLOSED;
          for (const { gapMs, fail } of schedule) {
            clock.advance(gapMs);
            const now = clock.now();
            const expected = admits(model, now) ? (fail ? 'down' : 'up') : 'paused';
            if (expected !== 'paused') model = record(model, now, !fail, limit, pauseMs);
            const actual = await guarded(fail).catch((error: Error) => (error instanceof PausedError ? 'paused' : error.message));
            expect(actual).toBe(expected);
          }
        },
      ),
    );
  });

  test('two failures pause the calls that follow', async () => {
    const clock = new VirtualClock();
    const guarded = pauseAfterFailures({ limit: 2, pauseMs: 1_000, clock })(async () => {
      throw new Error('down');
    });
    await expect(guarded()).rejects.toThrow('down');
    await expect(guarded()).rejects.toThrow('down');
    await expect(guarded()).rejects.toBeInstanceOf(PausedError);
    clock.advance(1_000);
    await expect(guarded()).rejects.toThrow('down');
  });
});
