import { show } from '../../src/core/validate.js';

/**
 * Rate-limit response header fields. Default: draft-ietf-httpapi-ratelimit-headers-10, where both fields are
 * Structured-Field Lists:
 *
 *     RateLimit-Policy: "api";q=100;w=60
 *     RateLimit: "api";r=42;t=17
 *
 * `q` is the quota (the limiter's limit), `w` the window in whole seconds, `r` the remaining units, and `t`
 * the delay-seconds until more quota is available: on a refusal the exact wait rounded up (so `Retry-After`,
 * also rounded up, is never earlier than `t`); on an allowed request the time until the key is back to full,
 * rounded up, and no `t` when it is full already (or the decision knows no time, as a store failing open). Several limiters on one response each add a list member.
 * Older styles: 'draft-7', 'draft-6', 'legacy' (`X-RateLimit-*`), or 'none'.
 */
export type HeaderStyle = 'draft-10' | 'draft-7' | 'draft-6' | 'legacy' | 'none';
export const HEADER_STYLES: readonly HeaderStyle[] = ['draft-10', 'draft-7', 'draft-6', 'legacy', 'none'];

/** The part of a limiter's decision that headers report. */
export interface HeaderDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly retryAfterMs: number;
  readonly resetAfterMs: number;
}

export interface QuotaPolicy {
  /** The policy's name in the fields (an sf-string: printable ASCII). */
  readonly name: string;
  /** The window in ms (rounded up to whole seconds in the fields). */
  readonly windowMs: number;
}

/** Throws a TypeError unless `name` can be sent as an sf-string. */
export function checkPolicyName(where: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || !/^[\x20-\x7e]+$/.test(name)) {
    throw new TypeError(`${where}: option "name" must be a non-empty string of printable ASCII, got ${show(name)}`);
  }
  return name;
}

function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const seconds = (ms: number): number => (Number.isFinite(ms) ? Math.max(0, Math.ceil(ms / 1000)) : 0);

/**
 * Delay-seconds of `Retry-After` for a refusal: the exact wait, rounded up, at least 1; `undefined` when the
 * wait is infinite (a cost above the quota can never pass, so no retry time would be true).
 */
export function retryAfterSeconds(decision: HeaderDecision): number | undefined {
  return Number.isFinite(decision.retryAfterMs) ? Math.max(1, seconds(decision.retryAfterMs)) : undefined;
}

/** The `t` of the draft, or undefined when the key is full (or, refused, when it can never pass). */
function resetSeconds(decision: HeaderDecision): number | undefined {
  if (!decision.allowed) return retryAfterSeconds(decision);
  // No `t` when the key is full, or when the decision knows no time (a Redis store failing open).
  return decision.remaining >= decision.limit || !(decision.resetAfterMs > 0) ? undefined : seconds(decision.resetAfterMs);
}

/**
 * The header fields for one limiter's decision, as [name, value] pairs. List-valued fields (draft-10 and
 * draft-7 `RateLimit-Policy`) are meant to be appended to what earlier limiters set on the same response.
 */
export function rateLimitHeaders(
  style: HeaderStyle,
  policy: QuotaPolicy,
  decision: HeaderDecision,
  wallNowMs: number,
): [string, string][] {
  const q = decision.limit;
  const r = Math.max(0, Math.floor(decision.remaining));
  const w = Math.max(1, seconds(policy.windowMs));
  const t = resetSeconds(decision);
  switch (style) {
    case 'draft-10':
      return [
        ['RateLimit-Policy', `${sfString(policy.name)};q=${q};w=${w}`],
        ['RateLimit', `${sfString(policy.name)};r=${r}${t === undefined ? '' : `;t=${t}`}`],
      ];
    case 'draft-7':
      return [
        ['RateLimit-Policy', `${q};w=${w}`],
        ['RateLimit', `limit=${q}, remaining=${r}, reset=${t ?? 0}`],
      ];
    case 'draft-6':
      return [
        ['RateLimit-Policy', `${q};w=${w}`],
        ['RateLimit-Limit', String(q)],
        ['RateLimit-Remaining', String(r)],
        ['RateLimit-Reset', String(t ?? 0)],
      ];
    case 'legacy':
      return [
        ['X-RateLimit-Limit', String(q)],
        ['X-RateLimit-Remaining', String(r)],
        ['X-RateLimit-Reset', String(Math.ceil(wallNowMs / 1000) + (t ?? 0))],
      ];
    default:
      return [];
  }
}

/** Fields that several limiters add to as list members rather than replace. */
export function isListField(style: HeaderStyle, name: string): boolean {
  return style === 'draft-10' && (name === 'RateLimit' || name === 'RateLimit-Policy');
}

/** An RFC 9457 problem-details body. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

/** The 429 body; `retryAfter` undefined means the request's cost exceeds the quota (`cost`) and never passes. */
export function tooManyRequestsProblem(
  policyName: string,
  retryAfter: number | undefined,
  cost?: number,
  quota?: number,
): ProblemDetails {
  return {
    type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
    title: 'Too Many Requests',
    status: 429,
    detail:
      retryAfter === undefined
        ? `The request's cost (${cost}) exceeds the quota of rate limit "${policyName}" (${quota}); it can never be allowed.`
        : `Rate limit "${policyName}" exceeded; retry after ${retryAfter} s.`,
    'violated-policies': [policyName],
  };
}

export function overloadedProblem(retryAfter: number): ProblemDetails {
  return {
    type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
    title: 'Service Unavailable',
    status: 503,
    detail: `The server is at capacity; retry after ${retryAfter} s.`,
  };
}

/**
 * The lower-case form of a field name weir writes, without a new string for weir's own names. Node and
 * Fastify look fields up by their lower-case name and lower-case whatever they are given: a name that is
 * lower case already costs them no copy, and its lookup no search for the fresh string's twin.
 */
export function lowerCaseField(name: string): string {
  switch (name) {
    case 'RateLimit':
      return 'ratelimit';
    case 'RateLimit-Policy':
      return 'ratelimit-policy';
    case 'Retry-After':
      return 'retry-after';
    case 'RateLimit-Limit':
      return 'ratelimit-limit';
    case 'RateLimit-Remaining':
      return 'ratelimit-remaining';
    case 'RateLimit-Reset':
      return 'ratelimit-reset';
    case 'X-RateLimit-Limit':
      return 'x-ratelimit-limit';
    case 'X-RateLimit-Remaining':
      return 'x-ratelimit-remaining';
    case 'X-RateLimit-Reset':
      return 'x-ratelimit-reset';
    default:
      return name.toLowerCase();
  }
}

/** How an adapter reads and writes response header fields (Express: the Node response; Fastify: the reply). */
export interface HeaderTarget<Res> {
  getHeader(res: Res, name: string): unknown;
  setHeader(res: Res, name: string, value: string): void;
}

/** Most slots of a {@link QuotaHeaders}' member cache: every `r` of a quota up to 255 has its own. */
const MEMBER_SLOTS = 256;

/**
 * `value`, made flat. A string joined with `+` or a template is a rope in V8; Node checks every header value
 * with a regular expression, which on a rope takes the runtime's slow path to flatten it first, each time.
 * Reading a character flattens the rope in place, once, for every later reader.
 */
function flat(value: string): string {
  value.charCodeAt(0);
  return value;
}

/** Remaining units reported by the most restrictive limiter so far, for the styles whose fields are not lists. */
const kReported = Symbol('weir.reportedRemaining');

/** A field's current value as one string, or undefined when it is not set. */
function fieldValue<Res>(target: HeaderTarget<Res>, res: Res, name: string): string | undefined {
  const value = target.getHeader(res, name);
  if (value === undefined || value === null || value === '') return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function appendTo<Res>(target: HeaderTarget<Res>, res: Res, name: string, previous: string | undefined, member: string): void {
  target.setHeader(res, name, previous === undefined ? member : `${previous}, ${member}`);
}

/**
 * The header fields of one limiter, with what never changes (the policy member, the quoted name) built once.
 * Writes what {@link rateLimitHeaders} returns, except that:
 * - draft-10 members are appended to the lists that earlier limiters wrote on the same response; a default
 *   name (`unique`) already in the list gets a suffix (`"20-in-4s-2"`), so two limits with the same quota
 *   and window never send two members of one name (which a client could not tell apart). A response
 *   without a `RateLimit-Policy` field is taken to have no rate-limit fields: both are set, not appended to;
 * - the other styles cannot hold several policies, so the most restrictive limiter's fields are kept (the
 *   fewest remaining; a refusal always writes, and it is the last limiter to run).
 */
export class QuotaHeaders {
  /** The whole `RateLimit-Policy` member, the same string for every response. */
  private readonly policyMember: string;
  private readonly nameItem: string;
  /** `"<name>";r=`: the start of this policy's `RateLimit` member. */
  private readonly remainingPrefix: string;
  /**
   * `RateLimit` members made before, direct-mapped by `r` (slot `r % slots`), with the `r` and `t`
   * each was made for. A response's `r` and `t` usually repeat an earlier one's (a token bucket's `t` follows
   * from its `r`; a window's changes once a second), and a member found here costs no number formatting,
   * no new string, and no flattening in Node's header check.
   */
  private readonly members: string[];
  private readonly memberRemaining: Float64Array;
  /** Each slot's `t`, -1 for none. */
  private readonly memberReset: Float64Array;
  /** Matches a list member named like this policy (only for a `unique` name). */
  private readonly member: RegExp | undefined;
  /** The suffixed variants, made when first needed: [2] is `name-2`, and so on. */
  private readonly variants: QuotaHeaders[] = [];

  constructor(
    readonly style: HeaderStyle,
    readonly policy: QuotaPolicy,
    readonly limit: number,
    /** Rename this policy (a suffix) when the response's list already has a member of its name. */
    readonly unique = false,
  ) {
    this.nameItem = sfString(policy.name);
    this.policyMember = flat(`${this.nameItem};q=${limit};w=${Math.max(1, seconds(policy.windowMs))}`);
    this.remainingPrefix = `${this.nameItem};r=`;
    // One slot per possible `r` of a small quota (0 to q), at most MEMBER_SLOTS.
    const slots = Math.min(MEMBER_SLOTS, Math.floor(limit) + 1);
    this.members = new Array<string>(slots).fill('');
    this.memberRemaining = new Float64Array(slots).fill(-1);
    this.memberReset = new Float64Array(slots);
    this.member = unique
      ? new RegExp(`(?:^|,)\\s*${this.nameItem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*(?:[;,]|$)`)
      : undefined;
  }

  /**
   * Writes the fields; returns the policy name they use (this one, or a suffixed variant for `unique`).
   * `wallNow` is read only by the style that needs it (`legacy`'s absolute reset time). `fresh` says that
   * no limiter wrote on this response before: the fields are set without reading them first.
   */
  write<Res>(target: HeaderTarget<Res>, res: Res, decision: HeaderDecision, wallNow: () => number, fresh = false): string {
    const style = this.style;
    if (style === 'none') return this.policy.name;
    if (style === 'draft-10') {
      const t = resetSeconds(decision);
      const r = Math.max(0, Math.floor(decision.remaining));
      // `fresh`: the caller knows that no limiter wrote on this response before (the fields are set).
      const previous = fresh ? undefined : fieldValue(target, res, 'RateLimit-Policy');
      if (previous === undefined) {
        // The first limiter on this response: weir writes the two fields together, so the list of
        // remaining units is not read (a header read costs as much as a write in Node and Fastify).
        target.setHeader(res, 'RateLimit-Policy', this.policyMember);
        target.setHeader(res, 'RateLimit', this.remainingMember(r, t));
        return this.policy.name;
      }
      const rates = fieldValue(target, res, 'RateLimit');
      const self = this.member?.test(previous) === true ? this.distinctFrom(previous) : this;
      appendTo(target, res, 'RateLimit-Policy', previous, self.policyMember);
      appendTo(target, res, 'RateLimit', rates, self.remainingMember(r, t));
      return self.policy.name;
    }
    const holder = res as { [kReported]?: number };
    const reported = holder[kReported];
    if (decision.allowed && reported !== undefined && reported <= decision.remaining) return this.policy.name;
    holder[kReported] = decision.remaining;
    for (const [name, value] of rateLimitHeaders(style, this.policy, decision, style === 'legacy' ? wallNow() : 0)) {
      target.setHeader(res, name, value);
    }
    return this.policy.name;
  }

  /** This policy's `RateLimit` member: `"<name>";r=<r>`, and `;t=<t>` when there is a `t`. */
  private remainingMember(r: number, t: number | undefined): string {
    const slot = r % this.members.length;
    const reset = t === undefined ? -1 : t;
    if (this.memberRemaining[slot] === r && this.memberReset[slot] === reset) return this.members[slot] as string;
    const member = flat(t === undefined ? this.remainingPrefix + r : `${this.remainingPrefix}${r};t=${t}`);
    this.members[slot] = member;
    this.memberRemaining[slot] = r;
    this.memberReset[slot] = reset;
    return member;
  }

  /** The first variant `name-2`, `name-3`, ... that the list does not have yet. */
  private distinctFrom(list: string): QuotaHeaders {
    for (let n = 2; ; n++) {
      let variant = this.variants[n];
      if (variant === undefined) {
        const policy = { name: `${this.policy.name}-${n}`, windowMs: this.policy.windowMs };
        variant = new QuotaHeaders(this.style, policy, this.limit, true);
        this.variants[n] = variant;
      }
      if (!(variant.member as RegExp).test(list)) return variant;
    }
  }
}
