/**
 * Outcome-aware counting (`countOnly`) and long quotas with exact arithmetic.
 */
import { describe, expect, test } from 'vitest';
import { cachedTierOf, gcra, rateLimit, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';

describe('countOnly', () => {
  test("'failures': only calls that throw keep their charge (brute-force protection)", async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 3, refillPerSecond: 1 / 60, clock });
    const login = rateLimit(limiter, { key: (user: string) => user, countOnly: 'failures' })(
      async (_user: string, ok: boolean) => {
        if (!ok) throw new Error('bad password');
        return 'welcome';
      },
    );
    for (let i = 0; i < 10; i++) expect(await login('ann', true)).toBe('welcome');
    expect((await limiter.peek('ann')).remaining).toBe(3);
    for (let i = 0; i < 3; i++) await expect(login('ann', false)).rejects.toThrow('bad password');
    // Three failures: refused now, even with the right password.
    await expect(login('ann', true)).rejects.toMatchObject({ code: 'ERR_WEIR_RATE_LIMITED', reason: 'limit' });
    expect((await limiter.peek('bob')).remaining).toBe(3);
  });

  test('a predicate of the outcome decides; a refused call is never charged nor refunded', async () => {
    const clock = new VirtualClock();
    const limiter = slidingWindow({ limit: 2, windowMs: 1000, clock });
    const seen: unknown[] = [];
    const policy = rateLimit(limiter, {
      countOnly: (outcome) => {
        seen.push(outcome);
        return outcome.ok && outcome.value === 'expensive';
      },
    });
    const work = policy(async (v: string) => v);
    await work('cheap');
    await work('cheap');
    await work('expensive');
    await work('expensive');
    await expect(work('cheap')).rejects.toMatchObject({ code: 'ERR_WEIR_RATE_LIMITED' });
    expect(seen).toEqual([
      { ok: true, value: 'cheap' },
      { ok: true, value: 'cheap' },
      { ok: true, value: 'expensive' },
      { ok: true, value: 'expensive' },
    ]);
    expect(() => rateLimit(limiter, { countOnly: 'successes' as never })).toThrow(/countOnly/);
  });

  test('concurrent calls are charged on entry, so they cannot overshoot while running', async () => {
    const clock = new VirtualClock();
    const limiter = gcra({ burst: 2, ratePerSecond: 1, clock });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const work = rateLimit(limiter, { countOnly: 'failures' })(async () => gate);
    const a = work();
    const b = work();
    await expect(work()).rejects.toMatchObject({ code: 'ERR_WEIR_RATE_LIMITED' });
    release();
    await Promise.all([a, b]);
    expect((await limiter.peek()).remaining).toBe(2);
  });
});

describe('quotas: 10 000 000 per 30 days per key, exact', () => {
  const DAY = 86_400_000;
  for (const make of [
    (clock: VirtualClock) => tokenBucket({ capacity: 10_000_000, refillPerSecond: 10_000_000 / (30 * 86_400), clock }),
    (clock: VirtualClock) => gcra({ burst: 10_000_000, ratePerSecond: 10_000_000 / (30 * 86_400), clock }),
  ]) {
    test(`${make.toString().includes('gcra') ? 'gcra' : 'token bucket'}: the whole quota, its exact return, and resetAfterMs`, async () => {
      const clock = new VirtualClock();
      const quota = make(clock);
      expect(await quota.take('tenant', 9_999_999)).toMatchObject({ allowed: true, remaining: 1, resetAfterMs: 30 * DAY - 259 });
      expect(await quota.take('tenant', 1)).toMatchObject({ allowed: true, remaining: 0, resetAfterMs: 30 * DAY });
      // One unit comes back every 259.2 ms exactly (30 days / 10 000 000).
      expect(await quota.take('tenant')).toMatchObject({ allowed: false, retryAfterMs: 260, resetAfterMs: 30 * DAY });
      clock.advance(DAY);
      const dayLater = await quota.take('tenant', 0);
      expect(dayLater.remaining).toBe(333_333);
      expect(dayLater.resetAfterMs).toBe(29 * DAY);
      clock.advance(29 * DAY);
      expect((await quota.take('tenant', 0)).remaining).toBe(10_000_000);
    });
  }
});

describe('cachedTierOf: plans behind an async lookup, decisions still synchronous', () => {
  test('unknown keys use whileUnknown until the lookup answers; then their plan, for ttlMs; bounded', async () => {
    const clock = new VirtualClock();
    const lookups: string[] = [];
    const tierOf = cachedTierOf(
      async (key) => {
        lookups.push(key);
        if (key === 'broken') throw new Error('db down');
        return key.startsWith('pro') ? 'pro' : 'free';
      },
      { maxKeys: 2, ttlMs: 1000, whileUnknown: 'free', clock },
    );
    const limiter = tokenBucket({
      capacity: 1,
      refillPerSecond: 1,
      tiers: { free: { capacity: 1, refillPerSecond: 1 }, pro: { capacity: 10, refillPerSecond: 10 } },
      tierOf,
      clock,
    });
    expect(limiter.takeSync!('pro-1').limit).toBe(1); // not known yet: the strict plan
    expect(limiter.takeSync!('pro-1').limit).toBe(1);
    expect(lookups).toEqual(['pro-1']); // one lookup in flight per key
    await Promise.resolve();
    await Promise.resolve();
    expect(limiter.takeSync!('pro-1').limits?.tier).toBe('pro');
    clock.advance(1000);
    expect(limiter.takeSync!('pro-1', 0).limits?.tier).toBe('free'); // expired: looked up again
    expect(lookups).toEqual(['pro-1', 'pro-1']);
    tierOf('broken');
    await Promise.resolve();
    await Promise.resolve();
    expect(tierOf('broken')).toBe('free'); // a failed lookup is retried at the next decision
    expect(lookups.filter((k) => k === 'broken')).toHaveLength(2);
    expect(() => cachedTierOf(async () => 'x', { maxKeys: 0 })).toThrow(/maxKeys/);
  });
});
