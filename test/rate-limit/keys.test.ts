import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { checkTimeOriginSeconds, keysFor } from '../../adapters/redis/scripts.js';
import { MAX_KEY_LENGTH, MAX_STORED_KEY_LENGTH, storedKey, tokenBucket, VirtualClock } from '../../src/index.js';
import { sha256Hex } from '../../src/rate-limit/keys.js';
import type { MemoryTable } from '../../src/rate-limit/memory.js';

describe('key byte bound', () => {
  test('sha256Hex equals node:crypto for any string (UTF-8, lone surrogates as U+FFFD)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 200 })), (s) => {
        expect(sha256Hex(s)).toBe(createHash('sha256').update(new TextEncoder().encode(s)).digest('hex'));
      }),
      { numRuns: 300 },
    );
    // Padding edges: 55, 56, 63, 64 and 119 bytes.
    for (const n of [0, 55, 56, 63, 64, 119, 120]) {
      expect(sha256Hex('a'.repeat(n))).toBe(createHash('sha256').update('a'.repeat(n)).digest('hex'));
    }
  });

  test('short keys are stored as they are; long ones by prefix and digest, never equal to a short key', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), fc.string({ maxLength: 600 }), (a, b) => {
        const sa = storedKey(a);
        expect(sa.length).toBeLessThanOrEqual(MAX_STORED_KEY_LENGTH);
        if (a.length <= MAX_KEY_LENGTH) expect(sa).toBe(a);
        else expect(sa.length).toBeGreaterThan(MAX_KEY_LENGTH);
        if (a !== b) expect(sa === storedKey(b)).toBe(false);
      }),
    );
  });

  test('memory: 200 keys of 100 KB each hold at most MAX_STORED_KEY_LENGTH units per key', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1e-3, clock });
    const take = limiter.takeSync!;
    const long = 'x'.repeat(100_000);
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      expect(take(`${long}${i}`).allowed).toBe(true);
      expect(take(`${long}${i}`).allowed).toBe(false);
    }
    const table = limiter.bound as MemoryTable;
    for (const k of (table as unknown as { cur: Map<string, number> }).cur.keys()) keys.add(k);
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k.length).toBeLessThanOrEqual(MAX_STORED_KEY_LENGTH);
    await limiter.reset(`${long}0`);
    expect(take(`${long}0`).allowed).toBe(true);
  });

  test('Redis key names go through the same bound', () => {
    const [k] = keysFor('token-bucket', 'p:', 'y'.repeat(10_000));
    expect((k as string).length).toBeLessThan(MAX_STORED_KEY_LENGTH + 10);
    expect(keysFor('token-bucket', 'p:', 'short')).toEqual(['p:{short}']);
  });
});

describe('timeOriginSeconds', () => {
  test('an origin in the future is refused, naming the option', () => {
    const now = 1_800_000_000_000;
    expect(checkTimeOriginSeconds('redisStore', 1_735_689_600, now)).toBe(1_735_689_600);
    expect(checkTimeOriginSeconds('redisStore', now / 1000, now)).toBe(now / 1000);
    expect(() => checkTimeOriginSeconds('redisStore', now / 1000 + 1, now)).toThrow(
      /"timeOriginSeconds" must not be in the future/,
    );
    expect(() => checkTimeOriginSeconds('redisStore', -1, now)).toThrow(/timeOriginSeconds/);
    expect(() => checkTimeOriginSeconds('redisStore', 1.5, now)).toThrow(RangeError);
  });
});
