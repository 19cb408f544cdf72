import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ipKey, UNKNOWN_CLIENT } from '../../adapters/http/ip.js';

const group = fc.integer({ min: 0, max: 0xffff });
const ipv6Groups = fc.array(group, { minLength: 8, maxLength: 8 });
const full = (g: number[]) => g.map((x) => x.toString(16)).join(':');

describe('ipKey', () => {
  test('IPv4 and IPv4-mapped IPv6 give the same key', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(ipKey(ip)).toBe(`ip:${ip}`);
        expect(ipKey(`::ffff:${ip}`)).toBe(`ip:${ip}`);
        expect(ipKey(`::FFFF:${ip}`)).toBe(`ip:${ip}`);
      }),
    );
  });

  test('IPv6 addresses in the same /64 share a key; different /64s do not (property)', () => {
    fc.assert(
      fc.property(ipv6Groups, ipv6Groups, (a, b) => {
        fc.pre(!(a.slice(0, 5).every((g) => g === 0) && a[5] === 0xffff));
        fc.pre(!(b.slice(0, 5).every((g) => g === 0) && b[5] === 0xffff));
        const sameNet = [...a.slice(0, 4), ...b.slice(4)];
        expect(ipKey(full(a))).toBe(ipKey(full(sameNet)));
        const differs = a.slice(0, 4).some((g, i) => g !== b[i]);
        expect(ipKey(full(a)) === ipKey(full(b))).toBe(!differs);
      }),
    );
  });

  test('compressed, zoned and upper-case forms agree with the full form', () => {
    expect(ipKey('2001:db8::1')).toBe('ip6:2001:db8:0:0::/64');
    expect(ipKey('2001:DB8:0:0:ffff::1%eth0')).toBe('ip6:2001:db8:0:0::/64');
    expect(ipKey('2001:db8:1:2:3:4:5:6')).toBe('ip6:2001:db8:1:2::/64');
    expect(ipKey('2001:db8:1:2:3:4:5:6', 48)).toBe('ip6:2001:db8:1::/48');
    expect(ipKey('2001:db8:1:2:3:4:5:6', 56)).toBe('ip6:2001:db8:1:0::/56');
    expect(ipKey('2001:db8:1:2ff:3:4:5:6', 56)).toBe('ip6:2001:db8:1:200::/56');
    expect(ipKey('2001:db8:1:2:3:4:5:6', 128)).toBe('ip6:2001:db8:1:2:3:4:5:6/128');
    expect(ipKey('::1')).toBe('ip6:0:0:0:0::/64');
    expect(ipKey('64:ff9b::192.0.2.33', 128)).toBe('ip6:64:ff9b:0:0:0:0:c000:221/128');
  });

  test('missing or malformed addresses share the unknown-client key', () => {
    for (const bad of [undefined, null, '', 'localhost', '1.2.3', '1.2.3.4.5', '::ffff:1.2.3.999', '2001:db8::1::2', 'gggg::1']) {
      expect(ipKey(bad as string | undefined)).toBe(UNKNOWN_CLIENT);
    }
  });

  test('a prefix outside 1..128 is refused, for IPv4 and IPv6 addresses alike', () => {
    for (const bad of [Number.NaN, -1, 0, 129, 200, Number.POSITIVE_INFINITY, 48.5, '48']) {
      expect(() => ipKey('2001:db8::1', bad as number)).toThrow(/ipKey: prefix must be an integer from 1 to 128/);
      expect(() => ipKey('1.2.3.4', bad as number)).toThrow(RangeError);
    }
    expect(ipKey('2001:db8::1', 1)).toBe('ip6:0::/1');
  });
});
