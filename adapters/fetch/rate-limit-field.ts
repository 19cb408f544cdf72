/**
 * The IETF `RateLimit` response field (draft-ietf-httpapi-ratelimit-headers, draft-08 to draft-10):
 * `RateLimit: "default";r=0;t=30`, a Structured-Field List (RFC 9651) of items, one per quota policy, with
 * `r` (remaining quota units, required) and `t` (delay-seconds until more quota is available, optional).
 *
 * The draft says a malformed field MUST be ignored, so the parser is strict: anything that is not a valid
 * SF List of items with a non-negative integer `r` (and `t`, when present) gives `undefined`, never a guess.
 * A pure function of the text; no dependency (the tests hold it to the `structured-headers` package).
 */

/** One list member of the field: the policy name and its `r`/`t`. */
export interface RateLimitItem {
  readonly policy: string;
  readonly remaining: number;
  readonly resetSeconds: number | undefined;
}

const DIGIT = /[0-9]/;
const LCALPHA = /[a-z]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_FIRST = /[A-Za-z*]/;
// tchar (RFC 9110) plus ":" and "/".
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;

/** A bare item, reduced to what the field needs: integers are numbers, every other type is `OTHER`. */
const OTHER = Symbol('other');
type Bare = number | string | typeof OTHER;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
}

const MALFORMED = null;

function skipSpaces(c: Cursor): void {
  while (c.peek() === ' ') c.pos++;
}

function skipOws(c: Cursor): void {
  while (c.peek() === ' ' || c.peek() === '\t') c.pos++;
}

/** RFC 9651 §4.2.4: integer or decimal. Returns the integer, `OTHER` for a decimal, or null. */
function parseNumber(c: Cursor): number | typeof OTHER | null {
  const start = c.pos;
  if (c.peek() === '-') c.pos++;
  const digitsStart = c.pos;
  if (!DIGIT.test(c.peek())) return MALFORMED;
  while (DIGIT.test(c.peek())) c.pos++;
  const intDigits = c.pos - digitsStart;
  if (c.peek() !== '.') {
    if (intDigits > 15) return MALFORMED;
    return Number(c.text.slice(start, c.pos));
  }
  if (intDigits > 12) return MALFORMED;
  c.pos++;
  const fracStart = c.pos;
  while (DIGIT.test(c.peek())) c.pos++;
  const fracDigits = c.pos - fracStart;
  if (fracDigits < 1 || fracDigits > 3) return MALFORMED;
  return OTHER;
}

function parseString(c: Cursor): string | null {
  c.pos++; // the opening quote
  let out = '';
  while (!c.done) {
    const ch = c.peek();
    c.pos++;
    if (ch === '\\') {
      const next = c.peek();
      if (next !== '"' && next !== '\\') return MALFORMED;
      out += next;
      c.pos++;
    } else if (ch === '"') {
      return out;
    } else {
      const code = ch.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) return MALFORMED;
      out += ch;
    }
  }
  return MALFORMED;
}

function parseBare(c: Cursor): Bare | null {
  const ch = c.peek();
  if (ch === '-' || DIGIT.test(ch)) return parseNumber(c);
  if (ch === '"') return parseString(c);
  if (TOKEN_FIRST.test(ch)) {
    const start = c.pos;
    c.pos++;
    while (TOKEN_CHAR.test(c.peek())) c.pos++;
    return c.text.slice(start, c.pos);
  }
  if (ch === ':') {
    c.pos++;
    while (BASE64_CHAR.test(c.peek())) c.pos++;
    if (c.peek() !== ':') return MALFORMED;
    c.pos++;
    return OTHER;
  }
  if (ch === '?') {
    c.pos++;
    const b = c.peek();
    if (b !== '0' && b !== '1') return MALFORMED;
    c.pos++;
    return OTHER;
  }
  if (ch === '@') {
    c.pos++;
    const n = parseNumber(c);
    return typeof n === 'number' ? OTHER : MALFORMED;
  }
  // Display strings (%"...") are legal SF but never appear in this field: treat them as malformed.
  return MALFORMED;
}

/** Parameters after an item: `;key[=value]`, later duplicates win (RFC 9651 §4.2.3.2). */
function parseParameters(c: Cursor): Map<string, Bare | true> | null {
  const params = new Map<string, Bare | true>();
  while (c.peek() === ';') {
    c.pos++;
    skipSpaces(c);
    const start = c.pos;
    const first = c.peek();
    if (!(LCALPHA.test(first) || first === '*')) return MALFORMED;
    c.pos++;
    while (KEY_CHAR.test(c.peek())) c.pos++;
    const key = c.text.slice(start, c.pos);
    let value: Bare | true = true;
    if (c.peek() === '=') {
      c.pos++;
      const bare = parseBare(c);
      if (bare === MALFORMED) return MALFORMED;
      value = bare;
    }
    params.set(key, value);
  }
  return params;
}

function nonNegativeInteger(value: Bare | true | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  return typeof value === 'number' && value >= 0 ? value : MALFORMED;
}

/**
 * Parses a `RateLimit` field value (several field lines joined with ", ", as `Headers.get` does). Returns
 * its items, or `undefined` when the field is absent, empty or malformed (then it must be ignored).
 */
export function parseRateLimitField(value: string | null | undefined): RateLimitItem[] | undefined {
  if (typeof value !== 'string') return undefined;
  const c = new Cursor(value);
  skipSpaces(c);
  const items: RateLimitItem[] = [];
  while (!c.done) {
    if (c.peek() === '(') return undefined; // an inner list: not a quota policy
    const bare = parseBare(c);
    if (bare === MALFORMED || bare === OTHER || typeof bare === 'number') return undefined;
    const params = parseParameters(c);
    if (params === MALFORMED) return undefined;
    const remaining = nonNegativeInteger(params.get('r'));
    const reset = nonNegativeInteger(params.get('t'));
    if (remaining === MALFORMED || remaining === undefined || reset === MALFORMED) return undefined;
    items.push({ policy: bare, remaining, resetSeconds: reset });
    skipOws(c);
    if (c.done) break;
    if (c.peek() !== ',') return undefined;
    c.pos++;
    skipOws(c);
    if (c.done) return undefined; // a trailing comma
  }
  return items.length === 0 ? undefined : items;
}

/**
 * Milliseconds until more quota is available according to a `RateLimit` field, or `undefined`: the
 * largest `t` among the exhausted policies (`r=0`), or among all policies when none is exhausted.
 */
export function rateLimitFieldDelay(value: string | null | undefined): number | undefined {
  const items = parseRateLimitField(value);
  if (items === undefined) return undefined;
  let exhausted: number | undefined;
  let any: number | undefined;
  for (const item of items) {
    const t = item.resetSeconds;
    if (t === undefined) continue;
    if (any === undefined || t > any) any = t;
    if (item.remaining === 0 && (exhausted === undefined || t > exhausted)) exhausted = t;
  }
  const seconds = exhausted ?? any;
  return seconds === undefined ? undefined : seconds * 1000;
}
