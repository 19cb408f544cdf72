/**
 * Brute-force references, written from the textbook definitions with exact rational arithmetic (BigInt)
 * and the full history of admitted takes, independent of the library's integer encodings. Time is in
 * whole ms (the tests drive a VirtualClock in whole ms).
 */

export interface RefDecision {
  allowed: boolean;
  never: boolean;
  /** Exact wait in ms, rounded up (0 when allowed or never). */
  retryAfterMs: number;
  remaining: number;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/**
 * The ideal continuous token bucket: `rateNum / rateDen` tokens per second, i.e. rateNum tokens per
 * (rateDen * 1000) ms. Tokens are held scaled by D = rateDen * 1000, so refill per ms is rateNum.
 */
export class IdealBucket {
  private readonly scale: bigint;
  private readonly perMs: bigint;
  private readonly full: bigint;
  private tokens = new Map<string, { tokens: bigint; at: number }>();
  /** `unitsPerSecond`: 1000 when times are in ms, 1e6 when they are in µs. */
  constructor(
    readonly capacity: number,
    rateNum: number,
    rateDen: number,
    unitsPerSecond = 1000,
  ) {
    this.scale = BigInt(rateDen) * BigInt(unitsPerSecond);
    this.perMs = BigInt(rateNum);
    this.full = BigInt(capacity) * this.scale;
  }
  private level(key: string, now: number): bigint {
    const state = this.tokens.get(key);
    if (state === undefined) return this.full;
    const refilled = state.tokens + BigInt(now - state.at) * this.perMs;
    return refilled > this.full ? this.full : refilled;
  }
  take(key: string, cost: number, now: number): RefDecision {
    const level = this.level(key, now);
    const remaining = Number(level / this.scale);
    if (cost > this.capacity) return { allowed: false, never: true, retryAfterMs: 0, remaining };
    const need = BigInt(cost) * this.scale;
    if (level >= need) {
      this.tokens.set(key, { tokens: level - need, at: now });
      return { allowed: true, never: false, retryAfterMs: 0, remaining: Number((level - need) / this.scale) };
    }
    // Exact wait in ms is (need - level) / perMs; the decision reports it rounded up.
    return { allowed: false, never: false, retryAfterMs: Number(ceilDiv(need - level, this.perMs)), remaining };
  }
}

/** The exact sliding window: a take fits when the admitted costs in (now - W, now] plus its cost are <= limit. */
export class IdealLog {
  readonly admitted = new Map<string, { at: number; cost: number }[]>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}
  take(key: string, cost: number, now: number): RefDecision {
    const list = this.admitted.get(key) ?? [];
    const live = list.filter((e) => e.at > now - this.windowMs);
    const used = live.reduce((s, e) => s + e.cost, 0);
    if (cost > this.limit) return { allowed: false, never: true, retryAfterMs: 0, remaining: this.limit - used };
    if (used + cost <= this.limit) {
      if (cost > 0) list.push({ at: now, cost });
      this.admitted.set(key, list);
      return { allowed: true, never: false, retryAfterMs: 0, remaining: this.limit - used - cost };
    }
    // Brute force: the first future ms at which the take fits.
    let wait = 1;
    for (; ; wait++) {
      const t = now + wait;
      const u = list.filter((e) => e.at > t - this.windowMs).reduce((s, e) => s + e.cost, 0);
      if (u + cost <= this.limit) break;
    }
    return { allowed: false, never: false, retryAfterMs: wait, remaining: this.limit - used };
  }
}

/**
 * Cloudflare's two-window estimate, from the history: with aligned windows of W ms, prev and cur are the
 * admitted costs in the previous and the current window, and a take fits when
 * prev * (W - elapsed) / W + cur + cost <= limit (compared exactly, multiplied by W).
 */
export class IdealCounter {
  readonly admitted = new Map<string, { at: number; cost: number }[]>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}
  private fits(list: { at: number; cost: number }[], cost: number, now: number): boolean {
    const w = this.windowMs;
    const index = Math.floor(now / w);
    const sum = (i: number) => list.filter((e) => Math.floor(e.at / w) === i).reduce((s, e) => s + e.cost, 0);
    const prev = BigInt(sum(index - 1));
    const cur = BigInt(sum(index));
    const elapsed = BigInt(now - index * w);
    const W = BigInt(w);
    return prev * (W - elapsed) + (cur + BigInt(cost)) * W <= BigInt(this.limit) * W;
  }
  take(key: string, cost: number, now: number): RefDecision {
    const list = this.admitted.get(key) ?? [];
    if (cost > this.limit) return { allowed: false, never: true, retryAfterMs: 0, remaining: -1 };
    if (this.fits(list, cost, now)) {
      if (cost > 0) list.push({ at: now, cost });
      this.admitted.set(key, list);
      return { allowed: true, never: false, retryAfterMs: 0, remaining: -1 };
    }
    let wait = 1;
    while (!this.fits(list, cost, now + wait)) wait++;
    return { allowed: false, never: false, retryAfterMs: wait, remaining: -1 };
  }
}
