import fc from 'fast-check';
import { parseList } from 'structured-headers';
import { describe, expect, test } from 'vitest';
import {
  checkPolicyName,
  type HeaderDecision,
  type HeaderStyle,
  type HeaderTarget,
  lowerCaseField,
  QuotaHeaders,
  rateLimitHeaders,
  retryAfterSeconds,
} from '../../adapters/http/headers.js';
import { SHOWN_LENGTH } from '../../src/core/validate.js';

type Fields = Map<string, string>;
const target: HeaderTarget<Fields> = {
  getHeader: (res, name) => res.get(name),
  setHeader: (res, name, value) => void res.set(name, value),
};

const decision = fc
  .record({
    allowed: fc.boolean(),
    limit: fc.integer({ min: 1, max: 1_000_000 }),
    remainingPart: fc.double({ min: 0, max: 1, noNaN: true }),
    retryAfterMs: fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.constant(Number.POSITIVE_INFINITY)),
    resetAfterMs: fc.integer({ min: 0, max: 10_000_000 }),
  })
  .map(({ allowed, limit, remainingPart, retryAfterMs, resetAfterMs }): HeaderDecision => {
    const remaining = Math.floor(remainingPart * limit);
    return { allowed, limit, remaining, retryAfterMs: allowed ? 0 : retryAfterMs, resetAfterMs };
  });
const name = fc.string({
  minLength: 1,
  maxLength: 12,
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});

describe('draft-10 fields', () => {
  test('parse as Structured-Field lists; Retry-After is never earlier than t nor than the real wait (property)', () => {
    fc.assert(
      fc.property(name, fc.integer({ min: 1, max: 10_000_000 }), decision, (policyName, windowMs, d) => {
        const fields: Fields = new Map();
        new QuotaHeaders('draft-10', { name: policyName, windowMs }, d.limit).write(target, fields, d, () => 0);
        // The writer and the reference function agree.
        expect([...fields]).toEqual(rateLimitHeaders('draft-10', { name: policyName, windowMs }, d, 0));
        const [[policyItem, policyParams]] = parseList(fields.get('RateLimit-Policy') as string) as [
          [string, Map<string, number>],
        ];
        expect(policyItem).toBe(policyName);
        expect(policyParams.get('q')).toBe(d.limit);
        expect(policyParams.get('w')).toBe(Math.max(1, Math.ceil(windowMs / 1000)));
        const [[item, params]] = parseList(fields.get('RateLimit') as string) as [[string, Map<string, number>]];
        expect(item).toBe(policyName);
        expect(params.get('r')).toBe(d.remaining);
        const t = params.get('t');
        if (d.allowed) {
          expect(t === undefined).toBe(d.remaining >= d.limit || d.resetAfterMs <= 0);
          return;
        }
        const retryAfter = retryAfterSeconds(d);
        if (d.retryAfterMs === Number.POSITIVE_INFINITY) {
          expect(retryAfter).toBeUndefined();
          expect(t).toBeUndefined();
        } else {
          expect(retryAfter).toBeGreaterThanOrEqual(t as number);
          expect((retryAfter as number) * 1000).toBeGreaterThanOrEqual(d.retryAfterMs);
          expect(((retryAfter as number) - 1) * 1000).toBeLessThan(Math.max(1000, d.retryAfterMs));
        }
      }),
    );
  });

  test('one QuotaHeaders writes, response after response, what rateLimitHeaders makes of each decision (property)', () => {
    // Members are cached by (r, t): a run of decisions, repeated ones included, must not tell.
    fc.assert(
      fc.property(
        name,
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 }),
        fc.array(decision, { minLength: 1, maxLength: 6 }),
        (policyName, picks, pool) => {
          const policy = { name: policyName, windowMs: 10_000 };
          // One policy, so one quota: every decision is brought to the first one's limit.
          const limit = (pool[0] as HeaderDecision).limit;
          const headers = new QuotaHeaders('draft-10', policy, limit);
          for (const pick of picks) {
            const picked = pool[pick % pool.length] as HeaderDecision;
            const d = { ...picked, limit, remaining: Math.min(picked.remaining, limit) };
            const fields: Fields = new Map();
            headers.write(target, fields, d, () => 0);
            expect(fields).toEqual(new Map(rateLimitHeaders('draft-10', policy, d, 0)));
          }
        },
      ),
    );
  });

  test('members cached by r: decisions whose r share a cache slot, or an r with another t, get their own (property)', () => {
    const policy = { name: 'p', windowMs: 10_000 };
    const limit = 2000;
    const pick = fc.record({
      slot: fc.integer({ min: 0, max: 2 }),
      lap: fc.integer({ min: 0, max: 3 }),
      allowed: fc.boolean(),
      resetAfterMs: fc.integer({ min: 0, max: 4000 }),
    });
    fc.assert(
      fc.property(fc.array(pick, { minLength: 1, maxLength: 40 }), (picks) => {
        const headers = new QuotaHeaders('draft-10', policy, limit);
        for (const { slot, lap, allowed, resetAfterMs } of picks) {
          // Remaining counts 256 apart share a slot of the cache.
          const d: HeaderDecision = {
            allowed,
            limit,
            remaining: slot + 256 * lap,
            retryAfterMs: allowed ? 0 : resetAfterMs + 1,
            resetAfterMs,
          };
          const fields: Fields = new Map();
          headers.write(target, fields, d, () => 0);
          expect([...fields]).toEqual(rateLimitHeaders('draft-10', policy, d, 0));
        }
      }),
    );
  });

  test('a response without a RateLimit-Policy field gets both fields set; with one, both are appended to', () => {
    const d: HeaderDecision = { allowed: true, limit: 10, remaining: 9, retryAfterMs: 0, resetAfterMs: 1000 };
    const headers = new QuotaHeaders('draft-10', { name: 'a', windowMs: 10_000 }, 10);
    const lone: Fields = new Map([['RateLimit', '"other";r=1']]);
    headers.write(target, lone, d, () => 0);
    expect([...lone]).toEqual([
      ['RateLimit', '"a";r=9;t=1'],
      ['RateLimit-Policy', '"a";q=10;w=10'],
    ]);
    const both: Fields = new Map([
      ['RateLimit-Policy', '"other";q=5;w=1'],
      ['RateLimit', '"other";r=1'],
    ]);
    headers.write(target, both, d, () => 0);
    expect(both.get('RateLimit-Policy')).toBe('"other";q=5;w=1, "a";q=10;w=10');
    expect(both.get('RateLimit')).toBe('"other";r=1, "a";r=9;t=1');
  });

  test('several limiters append list members, in order', () => {
    const fields: Fields = new Map();
    const a: HeaderDecision = { allowed: true, limit: 10, remaining: 9, retryAfterMs: 0, resetAfterMs: 1000 };
    const b: HeaderDecision = { allowed: false, limit: 2, remaining: 0, retryAfterMs: 1500, resetAfterMs: 3000 };
    new QuotaHeaders('draft-10', { name: 'a', windowMs: 10_000 }, 10).write(target, fields, a, () => 0);
    new QuotaHeaders('draft-10', { name: 'b"c', windowMs: 3000 }, 2).write(target, fields, b, () => 0);
    expect(fields.get('RateLimit-Policy')).toBe('"a";q=10;w=10, "b\\"c";q=2;w=3');
    expect(fields.get('RateLimit')).toBe('"a";r=9;t=1, "b\\"c";r=0;t=2');
    expect(parseList(fields.get('RateLimit') as string).map(([item]) => item)).toEqual(['a', 'b"c']);
  });

  test('default names are made unique per response; given names are sent as they are (property)', () => {
    const d: HeaderDecision = { allowed: true, limit: 20, remaining: 19, retryAfterMs: 0, resetAfterMs: 250 };
    const fields: Fields = new Map();
    const names = [0, 1, 2].map(() =>
      new QuotaHeaders('draft-10', { name: '20-in-4s', windowMs: 4000 }, 20, true).write(target, fields, d, () => 0),
    );
    expect(names).toEqual(['20-in-4s', '20-in-4s-2', '20-in-4s-3']);
    expect(fields.get('RateLimit-Policy')).toBe('"20-in-4s";q=20;w=4, "20-in-4s-2";q=20;w=4, "20-in-4s-3";q=20;w=4');
    expect(fields.get('RateLimit')).toBe('"20-in-4s";r=19;t=1, "20-in-4s-2";r=19;t=1, "20-in-4s-3";r=19;t=1');
    // The same QuotaHeaders on a fresh response starts from its own name again.
    const fresh: Fields = new Map();
    expect(new QuotaHeaders('draft-10', { name: 'x', windowMs: 1000 }, 20, true).write(target, fresh, d, () => 0)).toBe('x');
    // Any sequence of policies (default or given names, some alike, quotes and commas included): every
    // default-named member is distinct from all others, given names are untouched, and the lists parse.
    const policy = fc.record({ name: fc.oneof(name, fc.constantFrom('a', 'a-2', 'a,"a";', '"a"')), unique: fc.boolean() });
    fc.assert(
      fc.property(fc.array(policy, { minLength: 1, maxLength: 6 }), (policies) => {
        const res: Fields = new Map();
        const used = policies.map((p) =>
          new QuotaHeaders('draft-10', { name: p.name, windowMs: 1000 }, 20, p.unique).write(target, res, d, () => 0),
        );
        const listed = parseList(res.get('RateLimit-Policy') as string).map(([item]) => String(item));
        expect(listed).toEqual(used);
        expect(parseList(res.get('RateLimit') as string).map(([item]) => String(item))).toEqual(used);
        policies.forEach((p, i) => {
          if (!p.unique) expect(used[i]).toBe(p.name);
          else {
            expect(used[i] === p.name || (used[i] as string).startsWith(`${p.name}-`)).toBe(true);
            expect(used.slice(0, i)).not.toContain(used[i]);
          }
        });
      }),
    );
  });

  test('styles without lists keep the most restrictive limiter', () => {
    for (const style of ['draft-7', 'draft-6', 'legacy'] as HeaderStyle[]) {
      const fields: Fields = new Map();
      const loose: HeaderDecision = { allowed: true, limit: 100, remaining: 50, retryAfterMs: 0, resetAfterMs: 1000 };
      const tight: HeaderDecision = { allowed: true, limit: 5, remaining: 1, retryAfterMs: 0, resetAfterMs: 4000 };
      const res = fields as Fields & object;
      new QuotaHeaders(style, { name: 'tight', windowMs: 5000 }, 5).write(target, res, tight, () => 0);
      new QuotaHeaders(style, { name: 'loose', windowMs: 2000 }, 100).write(target, res, loose, () => 0);
      expect(new Map(rateLimitHeaders(style, { name: 'tight', windowMs: 5000 }, tight, 0))).toEqual(fields);
    }
  });
});

test("lowerCaseField is toLowerCase, weir's own names included", () => {
  const styles: HeaderStyle[] = ['draft-10', 'draft-7', 'draft-6', 'legacy'];
  const d: HeaderDecision = { allowed: false, limit: 5, remaining: 0, retryAfterMs: 1000, resetAfterMs: 2000 };
  const written = styles.flatMap((style) => rateLimitHeaders(style, { name: 'p', windowMs: 1000 }, d, 0).map(([name]) => name));
  for (const name of [...written, 'Retry-After', 'ratelimit', 'Content-Type']) {
    expect(lowerCaseField(name)).toBe(name.toLowerCase());
  }
});

describe('checkPolicyName', () => {
  test('names the option and shows any bad value, bounded', () => {
    const message = (value: unknown): string => {
      try {
        checkPolicyName('where', value);
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${String(value)}`);
    };
    const prefix = 'where: option "name" must be a non-empty string of printable ASCII, got ';
    expect(message(10n)).toBe(`${prefix}10n`);
    expect(message('naïve')).toBe(`${prefix}"naïve"`);
    const long = message(`\n${'x'.repeat(100_000)}`);
    expect(long.startsWith(`${prefix}"\\nxxx`)).toBe(true);
    expect(long.length).toBe(prefix.length + SHOWN_LENGTH);
  });
});
