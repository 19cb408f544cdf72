import fc from 'fast-check';
import { parseList, Token } from 'structured-headers';
import { describe, expect, test } from 'vitest';
import { parseRateLimitField, rateLimitFieldDelay } from '../../adapters/fetch/index.js';

/** The reference: structured-headers parses the list, then the draft's rules pick r and t. */
function reference(value: string): Array<{ policy: string; remaining: number; resetSeconds: number | undefined }> | undefined {
  let list: ReturnType<typeof parseList>;
  try {
    list = parseList(value);
  } catch {
    return undefined;
  }
  const items = [];
  for (const member of list) {
    const [bare, params] = member as [unknown, Map<string, unknown>];
    if (Array.isArray(bare)) return undefined;
    let policy: string;
    if (typeof bare === 'string') policy = bare;
    else if (bare instanceof Token) policy = bare.toString();
    else return undefined;
    const r = params.get('r');
    const t = params.get('t');
    const isCount = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
    if (!isCount(r)) return undefined;
    if (t !== undefined && !isCount(t)) return undefined;
    items.push({ policy, remaining: r as number, resetSeconds: t as number | undefined });
  }
  return items.length === 0 ? undefined : items;
}

const names = fc.constantFrom('"default"', '"a\\"b"', 'tok', 'T*x:/y', '1', '(a b)', '"unterminated', '?1');
const params = fc.constantFrom(
  ';r=0',
  ';r=5',
  ';t=30',
  ';t=0',
  ';t=-1',
  ';t=1.5',
  ';r=1.25',
  ';t="3"',
  ';t=?1',
  ';t=:AQID:',
  ';pk=:cHJvamVjdDEyMw==:',
  ';q=100',
  ';w',
  ';R=1',
  '; r=2',
  ';t=1234567890123456',
  ';t=999999999999999',
);
const separators = fc.constantFrom(',', ', ', ' ,', '\t,', ',\t ', ' ', ',,');
/** Mostly well-formed fields (a member: a name, then r, then other parameters), with junk here and there. */
const field = fc
  .tuple(
    fc.array(fc.tuple(names, fc.boolean(), fc.array(params, { maxLength: 3 })), { minLength: 1, maxLength: 3 }),
    separators,
    fc.constantFrom('', '', '', ' ', ','),
  )
  .map(
    ([members, sep, tail]) => members.map(([name, withR, more]) => name + (withR ? ';r=0' : '') + more.join('')).join(sep) + tail,
  );

describe('parseRateLimitField', () => {
  test('reads the draft-10 examples', () => {
    expect(parseRateLimitField('"default";r=50;t=30')).toEqual([{ policy: 'default', remaining: 50, resetSeconds: 30 }]);
    expect(parseRateLimitField('"burst";r=0;t=5, "daily";r=900;t=86000')).toEqual([
      { policy: 'burst', remaining: 0, resetSeconds: 5 },
      { policy: 'daily', remaining: 900, resetSeconds: 86000 },
    ]);
    expect(parseRateLimitField('"default";r=3')).toEqual([{ policy: 'default', remaining: 3, resetSeconds: undefined }]);
  });

  test('ignores malformed fields, and the draft-7 and older forms', () => {
    for (const bad of [
      '',
      'limit=100, remaining=0, reset=60',
      '"default";t=30',
      '"default";r=-1',
      '"default";r=1;t=1.5',
      '"a";r=0,',
      '"a";r=0 "b";r=1',
      '("a");r=1',
      '100',
    ]) {
      expect(parseRateLimitField(bad), bad).toBeUndefined();
    }
    expect(parseRateLimitField(null)).toBeUndefined();
  });

  test('agrees with the structured-headers package on any mix of valid and invalid pieces', () => {
    let accepted = 0;
    fc.assert(
      fc.property(field, (value) => {
        const parsed = parseRateLimitField(value);
        expect(parsed).toEqual(reference(value));
        if (parsed !== undefined) accepted++;
      }),
      { numRuns: 3000 },
    );
    // The generator must exercise both sides, or the agreement means little.
    expect(accepted).toBeGreaterThan(100);
  });

  test('round-trips generated fields', () => {
    const item = fc.record({
      policy: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
      remaining: fc.nat({ max: 1_000_000 }),
      resetSeconds: fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' ,\t'), (items, sep) => {
        const value = items
          .map((i) => `"${i.policy}";r=${i.remaining}${i.resetSeconds === undefined ? '' : `;t=${i.resetSeconds}`}`)
          .join(sep);
        expect(parseRateLimitField(value)).toEqual(items);
        const exhausted = items.filter((i) => i.remaining === 0 && i.resetSeconds !== undefined);
        const pool = exhausted.length > 0 ? exhausted : items.filter((i) => i.resetSeconds !== undefined);
        const expected = pool.length === 0 ? undefined : Math.max(...pool.map((i) => i.resetSeconds as number)) * 1000;
        expect(rateLimitFieldDelay(value)).toBe(expected);
      }),
    );
  });
});
