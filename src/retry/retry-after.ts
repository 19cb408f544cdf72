/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds (`120`) or an HTTP-date. Recipients must accept
 * the three date forms of §5.6.7: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form
 * (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
 *
 * The parser is strict on purpose: `Date.parse` accepts almost anything (`"1"`, `"soon 2030"`), and a
 * garbage header must be ignored, not turned into a wait. Anything that is not one of these forms gives
 * `undefined`. A date in the past gives 0.
 */

const DAYS = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const LONG_DAYS = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

const DELTA_SECONDS = /^\d+$/;
const IMF_FIXDATE = new RegExp(`^(?:${DAYS}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:${LONG_DAYS}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^(?:${DAYS}) (${MONTH}) ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/** Epoch ms of a UTC date, or NaN when a field is out of range (31 Feb, 25:00...). A leap second counts as :59. */
function utc(year: number, monthName: string, day: number, hour: number, minute: number, second: number): number {
  const month = MONTHS.indexOf(monthName);
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return Number.NaN;
  const ms = Date.UTC(year, month, day, hour, minute, second === 60 ? 59 : second);
  // Date.UTC rolls 31 Feb over into March: reject what does not round-trip.
  return new Date(ms).getUTCDate() === day ? ms : Number.NaN;
}

/** Epoch ms of an HTTP-date in any of its three forms, or `undefined`. */
export function parseHttpDate(text: string, nowWallMs: number): number | undefined {
  let ms = Number.NaN;
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    ms = utc(Number(m[3]), m[2] as string, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  } else if ((m = RFC850_DATE.exec(text)) !== null) {
    // Two-digit year: the most recent year with these digits that is not more than 50 years ahead (RFC 9110).
    const nowYear = new Date(nowWallMs).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    else if (year <= nowYear - 50) year += 100;
    ms = utc(year, m[2] as string, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  } else if ((m = ASCTIME_DATE.exec(text)) !== null) {
    ms = utc(Number(m[6]), m[1] as string, Number((m[2] as string).trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  }
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Milliseconds to wait according to a `Retry-After` value, or `undefined` when it is missing or not
 * valid. `value` is the header's text (surrounding spaces and tabs are ignored); a non-negative finite
 * number is taken as seconds. An HTTP-date is compared with `nowWallMs` (epoch ms; pass `clock.wallNow()`),
 * and a date in the past means 0.
 */
export function parseRetryAfter(value: unknown, nowWallMs: number): number | undefined {
  if (typeof value === 'number') {
    const ms = value * 1000;
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (DELTA_SECONDS.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  const at = parseHttpDate(text, nowWallMs);
  if (at === undefined) return undefined;
  return at > nowWallMs ? at - nowWallMs : 0;
}

function headerOf(headers: unknown): unknown {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') return (get as (name: string) => unknown).call(headers, 'retry-after');
  const record = headers as Record<string, unknown>;
  return record['retry-after'] ?? record['Retry-After'];
}

/**
 * The delay hint a failure carries, in ms, or `undefined`: a numeric `retryAfterMs` (weir's own
 * rejections, or any error that adopts the convention), else a `Retry-After` header on the value itself
 * (a fetch `Response`) or on its `response` property (the HTTP errors of axios, got, ky...). Headers may be
 * a `Headers` object (anything with `get`) or a plain object.
 */
export function retryAfterHint(failure: unknown, nowWallMs: number): number | undefined {
  if (typeof failure !== 'object' || failure === null) return undefined;
  const own = (failure as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof own === 'number' && own >= 0) return own;
  const headers = (failure as { headers?: unknown }).headers;
  if (headers !== undefined) return parseRetryAfter(headerOf(headers), nowWallMs);
  const response = (failure as { response?: unknown }).response;
  if (typeof response === 'object' && response !== null) {
    return parseRetryAfter(headerOf((response as { headers?: unknown }).headers), nowWallMs);
  }
  return undefined;
}
