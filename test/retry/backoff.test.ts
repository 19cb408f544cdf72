import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { constantBackoff, exponentialBackoff, type Jitter } from '../../src/index.js';
import { exponentialCeiling, JITTERS, jitteredDelay } from '../../src/retry/backoff.js';

const failure = { ok: false, error: new Error('x') } as const;

const params = fc
  .record({
    initialMs: fc.integer({ min: 0, max: 5_000 }),
    factor: fc.double({ min: 1, max: 5, noNaN: true }),
    extra: fc.integer({ min: 0, max: 60_000 }),
    jitter: fc.constantFrom(...JITTERS),
  })
  .map(({ initialMs, factor, extra, jitter }) => ({ initialMs, factor, maxMs: initialMs + extra, jitter }));

describe('exponentialBackoff', () => {
  test('defaults: full jitter from 100 ms, doubling, capped at 30 s', () => {
    const b = exponentialBackoff();
    expect([b.kind, b.initialMs, b.factor, b.maxMs, b.jitter]).toEqual(['exponential', 100, 2, 30_000, 'full']);
    expect(b.delay(1, undefined, 0.5, failure)).toBe(50);
    expect(b.delay(3, undefined, 0.5, failure)).toBe(200);
  });

  test('the real-service example: 200 ms, doubling, capped at 2 s', () => {
    const b = exponentialBackoff({ initialMs: 200, factor: 2, maxMs: 2_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((n) => b.delay(n, undefined, 0.3, failure))).toEqual([200, 400, 800, 1600, 2000]);
  });

  test('each delay lies within its jitter kind bounds and never above maxMs (property)', () => {
    fc.assert(
      fc.property(
        params,
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (p, randoms) => {
          const b = exponentialBackoff(p);
          let previous: number | undefined;
          randoms.forEach((u, i) => {
            const attempt = i + 1;
            const d = b.delay(attempt, previous, u, failure);
            const expo = Math.min(p.maxMs, p.initialMs * p.factor ** (attempt - 1));
            expect(Number.isFinite(d)).toBe(true);
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(p.maxMs);
            switch (p.jitter as Jitter) {
              case 'none':
                expect(d).toBeCloseTo(expo, 6);
                break;
              case 'full':
                expect(d).toBeLessThanOrEqual(expo);
                if (expo > 0) expect(d).toBeLessThan(expo);
                break;
              case 'equal':
                expect(d).toBeGreaterThanOrEqual(expo / 2 - 1e-9);
                expect(d).toBeLessThanOrEqual(expo);
                break;
              case 'decorrelated': {
                const prev = previous ?? p.initialMs;
                expect(d).toBeGreaterThanOrEqual(p.initialMs);
                expect(d).toBeLessThanOrEqual(Math.min(p.maxMs, Math.max(p.initialMs, prev * 3)) + 1e-9);
                break;
              }
            }
            previous = d;
          });
        },
      ),
    );
  });

  test('huge attempts neither overflow nor produce NaN (property)', () => {
    fc.assert(
      fc.property(
        params,
        fc.integer({ min: 1, max: 1e9 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (p, n, u) => {
          const d = jitteredDelay(p.jitter, p.initialMs, p.factor, p.maxMs, n, p.maxMs, u);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(p.maxMs);
          expect(exponentialCeiling(p.initialMs, p.factor, p.maxMs, n)).toBeLessThanOrEqual(p.maxMs);
        },
      ),
    );
  });

  test('a zero base gives zero delays, not NaN', () => {
    for (const jitter of JITTERS) {
      const b = exponentialBackoff({ initialMs: 0, maxMs: 0, jitter });
      expect(b.delay(5_000, undefined, 0.9, failure)).toBe(0);
    }
  });

  test('rejects bad options with clear errors', () => {
    expect(() => exponentialBackoff({ initialMs: -1 })).toThrow(/exponentialBackoff: option "initialMs" .* got -1/);
    expect(() => exponentialBackoff({ initialMs: Number.NaN })).toThrow(RangeError);
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(/option "factor" must be a finite number >= 1, got 0.5/);
    expect(() => exponentialBackoff({ factor: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => exponentialBackoff({ initialMs: 500, maxMs: 100 })).toThrow(
      /"maxMs" \(100\) must be >= option "initialMs" \(500\)/,
    );
    expect(() => exponentialBackoff({ jitter: 'half' as never })).toThrow(
      /option "jitter" must be one of "none", "full", "equal", "decorrelated", got "half"/,
    );
    expect(() => exponentialBackoff({ initialDelay: 5 } as never)).toThrow(/unknown option "initialDelay"/);
    expect(() => exponentialBackoff(null as never)).toThrow(TypeError);
  });

  test('a large initialMs alone raises the default cap instead of failing', () => {
    expect(exponentialBackoff({ initialMs: 60_000 }).maxMs).toBe(60_000);
  });
});

describe('constantBackoff', () => {
  test('returns the same delay every time', () => {
    const b = constantBackoff(250);
    expect([b.kind, b.ms]).toEqual(['constant', 250]);
    expect([1, 2, 9].map((n) => b.delay(n, 17, 0.7, failure))).toEqual([250, 250, 250]);
  });

  test('rejects negative, NaN and infinite delays', () => {
    expect(() => constantBackoff(-5)).toThrow(/constantBackoff: option "ms" .* got -5/);
    expect(() => constantBackoff(Number.NaN)).toThrow(RangeError);
    expect(() => constantBackoff(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => constantBackoff('5' as never)).toThrow(RangeError);
  });
});
