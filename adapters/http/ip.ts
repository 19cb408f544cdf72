/**
 * Client keys from IP addresses. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is reduced to IPv4, and IPv6 is
 * grouped by a prefix (default /64, what one subscriber usually gets), so a client cannot dodge a limit by
 * rotating addresses inside its own subnet. The address comes from the framework (`req.ip`), which applies
 * its own `trust proxy` rules; weir never reads `X-Forwarded-For` itself.
 */
import { isIPv4, isIPv6 } from '../../src/core/runtime.js';
import { show } from '../../src/core/validate.js';

/** The key used when a request has no usable address: such clients share one budget (never a bypass). */
export const UNKNOWN_CLIENT = 'ip:unknown';

function isPrefix(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 128;
}

export function checkIpv6Prefix(where: string, value: unknown): number {
  if (!isPrefix(value)) {
    throw new RangeError(`${where}: option "ipv6Prefix" must be an integer from 1 to 128, got ${show(value)}`);
  }
  return value;
}

function parseIpv6(address: string): number[] | undefined {
  let text = address;
  let tail: number[] = [];
  // An embedded IPv4 in the last 32 bits (e.g. ::ffff:1.2.3.4 or 64:ff9b::1.2.3.4).
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    if (!isIPv4(last)) return undefined;
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    text = `${text.slice(0, lastColon + 1)}0`;
  }
  const want = 8 - tail.length;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] as string).split(':')) : [];
  if (tail.length > 0) {
    // Drop the placeholder '0' that stood for the IPv4 part.
    if (halves.length === 2 && rest.length > 0) rest.pop();
    else if (halves.length === 1) head.pop();
    else return undefined;
  }
  const fill = halves.length === 2 ? want - head.length - rest.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== want)) return undefined;
  const groups = [...head, ...new Array<string>(fill).fill('0'), ...rest].map((g) => Number.parseInt(g, 16));
  if (groups.some((g) => Number.isNaN(g) || g < 0 || g > 0xffff)) return undefined;
  return [...groups, ...tail];
}

/**
 * The rate-limit key of an address: `ip:1.2.3.4` for IPv4 (and IPv4-mapped IPv6), `ip6:2001:db8:1:2::/64`
 * for IPv6 grouped by `prefix` bits (an integer from 1 to 128, else a RangeError), or
 * {@link UNKNOWN_CLIENT} when the address is missing or malformed.
 */
export function ipKey(address: string | undefined | null, prefix = 64): string {
  // A bad prefix would put every IPv6 client in one key (0, NaN) or group nothing (200): refuse it.
  if (prefix !== 64 && !isPrefix(prefix)) {
    throw new RangeError(`ipKey: prefix must be an integer from 1 to 128, got ${String(prefix)}`);
  }
  if (typeof address !== 'string' || address.length === 0) return UNKNOWN_CLIENT;
  const zone = address.indexOf('%');
  const ip = zone >= 0 ? address.slice(0, zone) : address;
  if (isIPv4(ip)) return `ip:${ip}`;
  if (!isIPv6(ip)) return UNKNOWN_CLIENT;
  const groups = parseIpv6(ip.toLowerCase());
  if (groups === undefined) return UNKNOWN_CLIENT;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6] as number, groups[7] as number];
    return `ip:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  const masked = groups.map((g, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16));
    return bits === 0 ? 0 : g & ((0xffff << (16 - bits)) & 0xffff);
  });
  const used = Math.ceil(prefix / 16);
  const shown = masked.slice(0, used).map((g) => g.toString(16));
  return `ip6:${shown.join(':')}${used < 8 ? '::' : ''}/${prefix}`;
}
