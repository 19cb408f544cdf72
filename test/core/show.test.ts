import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHOWN_LENGTH, show } from '../../src/core/validate.js';
import { rateLimit, retry, tokenBucket } from '../../src/index.js';

/** Whether `text` has a UTF-16 surrogate without its other half. */
function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

describe('show: a value as a message names it', () => {
  it('renders small values in full', () => {
    expect(show('a')).toBe('"a"');
    expect(show(3)).toBe('3');
    expect(show(12n)).toBe('12n');
    expect(show(() => 1)).toBe('a function');
    expect(show({ a: [1, 2] })).toBe('{"a":[1,2]}');
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(show(cyclic)).toBe('[object Object]');
  });

  it('cuts a long rendering to its start, never through a UTF-16 pair', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.array(fc.integer(), { maxLength: 200 }),
          fc.object({ maxDepth: 3 }),
        ),
        (value) => {
          const shown = show(value);
          expect(shown.length).toBeLessThanOrEqual(SHOWN_LENGTH);
          const full = JSON.stringify(value);
          if (full.length <= SHOWN_LENGTH) expect(shown).toBe(full);
          else {
            expect(shown.endsWith('…')).toBe(true);
            expect(full.startsWith(shown.slice(0, -1))).toBe(true);
            expect(shown.length).toBeGreaterThanOrEqual(SHOWN_LENGTH - 1);
          }
          if (!hasLoneSurrogate(full)) expect(hasLoneSurrogate(shown)).toBe(false);
        },
      ),
    );
    // A pair exactly at the cut is dropped whole.
    const text = `${'a'.repeat(SHOWN_LENGTH - 3)}😀tail`;
    expect(show(text)).toBe(`"${'a'.repeat(SHOWN_LENGTH - 3)}…`);
  });

  it('keeps construction errors short when the bad value is a large object graph', () => {
    // A common slip: rateLimit takes the limiter itself, not { limiter }. The limiter holds its tables.
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 10 });
    let message = '';
    try {
      rateLimit({ limiter } as never);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^rateLimit: the first argument must be a rate limiter .*got \{"limiter":/);
    expect(message.length).toBeLessThan(300);
    expect(() => retry({ maxAttempts: 'x'.repeat(100_000) as never })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/^retry: option "maxAttempts" .{0,200}$/s) }),
    );
  });
});
