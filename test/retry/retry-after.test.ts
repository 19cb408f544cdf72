import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CircuitOpenError, parseRetryAfter, retryAfterHint } from '../../src/index.js';
import { parseHttpDate } from '../../src/retry/retry-after.js';

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0); // Mon, 15 Jan 2024 12:00:00 GMT

describe('parseRetryAfter', () => {
  test('delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' \t3 ', NOW)).toBe(3_000);
    expect(parseRetryAfter('007', NOW)).toBe(7_000);
    expect(parseRetryAfter(2, NOW)).toBe(2_000);
  });

  test('the three HTTP-date forms', () => {
    expect(parseRetryAfter('Mon, 15 Jan 2024 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Monday, 15-Jan-24 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Mon Jan 15 12:00:05 2024', NOW)).toBe(5_000);
    expect(parseRetryAfter('Thu Feb  1 12:00:00 2024', NOW)).toBe(17 * 86_400_000);
    // The weekday is not cross-checked; a leap second counts as :59.
    expect(parseRetryAfter('Fri, 15 Jan 2024 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Mon, 15 Jan 2024 12:00:60 GMT', NOW)).toBe(59_000);
  });

  test('a date in the past means no wait', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Mon, 15 Jan 2024 12:00:00 GMT', NOW)).toBe(0);
  });

  test('RFC 850 two-digit years: never more than 50 years ahead', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Tuesday, 06-Nov-73 08:49:37 GMT', NOW)).toBe(Date.UTC(2073, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Tuesday, 06-Nov-75 08:49:37 GMT', NOW)).toBe(Date.UTC(1975, 10, 6, 8, 49, 37));
  });

  test('garbage is ignored (undefined), never a wait', () => {
    const garbage: unknown[] = [
      '',
      ' ',
      '-1',
      '1.5',
      '1e3',
      '0x10',
      '+5',
      'soon',
      '5 seconds',
      '9'.repeat(400),
      'Mon, 15 Jan 2024 12:00:30 PST',
      'Mon, 31 Feb 2024 12:00:30 GMT',
      'Mon, 15 Jan 2024 24:00:00 GMT',
      'Mon, 15 Jan 2024 12:61:00 GMT',
      'mon, 15 jan 2024 12:00:30 gmt',
      'Mon, 15 Jan 2024 12:00:30',
      '2024-01-15T12:00:30Z',
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      null,
      undefined,
      {},
      ['1'],
    ];
    for (const value of garbage) expect(parseRetryAfter(value, NOW), String(value)).toBeUndefined();
  });

  test('delay-seconds round-trip (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (n) => {
        expect(parseRetryAfter(String(n), NOW)).toBe(n * 1000);
      }),
    );
  });

  test('IMF-fixdate and asctime round-trip against any now (property)', () => {
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const seconds = fc.integer({ min: 0, max: 253_402_300_799 }); // up to 9999-12-31
    fc.assert(
      fc.property(seconds, seconds, (at, now) => {
        const date = new Date(at * 1000);
        const expected = Math.max(0, at * 1000 - now * 1000);
        expect(parseRetryAfter(date.toUTCString(), now * 1000)).toBe(expected);
        const pad = (n: number) => String(n).padStart(2, '0');
        const asctime = `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${pad(
          date.getUTCHours(),
        )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
        if (date.getUTCFullYear() >= 1000) expect(parseRetryAfter(asctime, now * 1000)).toBe(expected);
      }),
    );
  });

  test('never throws and never returns a negative or NaN wait on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), fc.integer({ min: 0, max: 4e12 }), (value, now) => {
        const ms = parseRetryAfter(value, now);
        if (ms !== undefined) {
          expect(Number.isFinite(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
        }
      }),
      { examples: [[1.797693134862316e305, 0]] }, // seconds finite, milliseconds not: found by this property
    );
  });
});

describe('retryAfterHint', () => {
  test('reads retryAfterMs, Headers, plain headers and error.response', () => {
    expect(retryAfterHint(new CircuitOpenError(1_500), NOW)).toBe(1_500);
    expect(retryAfterHint({ status: 503, headers: new Headers({ 'Retry-After': '4' }) }, NOW)).toBe(4_000);
    expect(retryAfterHint({ headers: { 'retry-after': '2' } }, NOW)).toBe(2_000);
    expect(retryAfterHint({ headers: { 'Retry-After': 'Mon, 15 Jan 2024 12:00:09 GMT' } }, NOW)).toBe(9_000);
    expect(
      retryAfterHint(Object.assign(new Error('http'), { response: { headers: new Headers({ 'retry-after': '1' }) } }), NOW),
    ).toBe(1_000);
  });

  test('nothing to read: undefined', () => {
    for (const value of [
      undefined,
      null,
      42,
      'x',
      new Error('plain'),
      { headers: new Headers() },
      { retryAfterMs: Number.NaN },
      { retryAfterMs: -3 },
      { response: null },
    ]) {
      expect(retryAfterHint(value, NOW)).toBeUndefined();
    }
  });
});
