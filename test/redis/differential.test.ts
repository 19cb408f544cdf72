/**
 * The Lua twins against the pure steps: for random configurations and random schedules of (time, key,
 * cost, consume, reset), each script (through the test-only explicit-time path) and the in-memory model
 * return identical decisions. Times start anywhere up to 2^47 µs so the arithmetic runs near the 2^53
 * bound the TypeScript keeps (GCRA multiplies time by up to 32).
 *
 * Redis expires keys on its own clock (TTL = time back to full, in real ms) while these schedules run on
 * explicit time, so every configuration here keeps its shortest TTL at >= 1 s (rates <= 1 per second,
 * windows >= 1 s): a run lasts milliseconds, so no key can expire in real time before the schedule says it
 * is full. Sub-second TTLs are covered by ttl.test.ts on Redis's own clock.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { redisStore } from '../../adapters/redis/index.js';
import {
  bakedBatchScript,
  bakedTakeScript,
  batchScript,
  keysFor,
  LUA_ARITHMETIC,
  refundCall,
  type ScriptCall,
  takeCall,
} from '../../adapters/redis/scripts.js';
import { MAX_BAKED_LIMITS, stepOf as storeStepOf } from '../../adapters/redis/store.js';
import { gcra, type RateLimitAlgorithm, type RateLimiter, slidingWindow, tokenBucket } from '../../src/index.js';
import { ceilDiv, floorDiv, StepResult } from '../../src/rate-limit/algorithms.js';
import { toDecision } from '../../src/rate-limit/store.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { connect, disconnectAll, freshPrefix, Model, redisOf } from './support.js';

const KEYS = ['a', 'b', '', '{', '}', '%', '%7B', 'x{y}z', '\uD800', '\uDC00'];

type Make = (store: ReturnType<typeof redisStore>) => RateLimiter;

const slowRate = fc.oneof(
  fc.double({ min: 1e-6, max: 1, noNaN: true }),
  fc.constantFrom(1, 0.5, 0.25, 1 / 3, 1 / 7, 1 / 60, 1 / 3600, 0.37, 1e-6),
);
const depth = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }) },
);

/** Limiter factories that may throw for impossible combinations (filtered with fc.pre). */
const configs: Record<string, fc.Arbitrary<Make>> = {
  'token bucket': fc.record({ capacity: depth, rate: slowRate }).map(
    ({ capacity, rate }) =>
      (store) =>
        tokenBucket({ capacity, refillPerSecond: rate, store }),
  ),
  gcra: fc.record({ burst: depth, rate: slowRate }).map(
    ({ burst, rate }) =>
      (store) =>
        gcra({ burst, ratePerSecond: rate, store }),
  ),
  'sliding window counter': fc
    .record({
      limit: depth,
      windowMs: fc.oneof(fc.double({ min: 1000, max: 864e6, noNaN: true }), fc.integer({ min: 1000, max: 5000 })),
    })
    .map(
      ({ limit, windowMs }) =>
        (store) =>
          slidingWindow({ limit, windowMs, mode: 'counter', store }),
    ),
  'sliding window log': fc
    .record({
      limit: fc.integer({ min: 1, max: 20 }),
      windowMs: fc.oneof(fc.double({ min: 1000, max: 1e8, noNaN: true }), fc.integer({ min: 1000, max: 5000 })),
    })
    .map(
      ({ limit, windowMs }) =>
        (store) =>
          slidingWindow({ limit, windowMs, store }),
    ),
};

const micros = (s: StepResult) => ({
  allowed: s.allowed,
  never: s.never,
  remaining: s.remaining,
  waitUs: s.waitUs,
  fullUs: s.fullUs,
});

interface Op {
  advance: number; // a fraction of the key's full period, or µs
  small: number;
  key: string;
  cost: number;
  consume: boolean;
  reset: boolean;
}

const op: fc.Arbitrary<Op> = fc.record({
  advance: fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.double({ min: 0, max: 1.5, noNaN: true }) },
    { weight: 3, arbitrary: fc.double({ min: 0, max: 0.3, noNaN: true }) },
    { weight: 3, arbitrary: fc.double({ min: 0, max: 0.02, noNaN: true }) },
    // Exact fractions of the full period land on window edges and log horizons exactly.
    { weight: 2, arbitrary: fc.constantFrom(0.25, 0.5, 1) },
  ),
  small: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }) }),
  key: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('a', 'b') }, { weight: 1, arbitrary: fc.constantFrom(...KEYS) }),
  cost: fc.oneof(
    { weight: 16, arbitrary: fc.integer({ min: 0, max: 3 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 8 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 62 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 40 }) },
  ),
  consume: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  reset: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

describe.skipIf(!redisAvailable)('Lua twins = pure steps (differential, explicit time)', () => {
  let redis: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = await connect(redis.port);
  });
  afterAll(async () => {
    await disconnectAll();
    await redis?.stop();
  });

  for (const [name, config] of Object.entries(configs)) {
    test(`${name}: identical decisions for random schedules`, async () => {
      const seen = { allowed: 0, limit: 0, never: 0 };
      await fc.assert(
        fc.asyncProperty(
          config,
          fc.integer({ min: 0, max: 2 ** 47 }),
          fc.array(op, { minLength: 10, maxLength: 60 }),
          async (make, base, ops) => {
            let limiter: RateLimiter;
            try {
              limiter = make(redisStore({ client, prefix: freshPrefix('diff'), onError: 'deny' }));
            } catch {
              fc.pre(false);
              return;
            }
            const model = new Model(limiter.algorithm.config);
            const full = limiter.algorithm.fullAfterUs;
            const bound = redisOf(limiter);
            let now = base;
            for (const o of ops) {
              now += Math.floor(o.advance * full) + o.small;
              if (o.reset) {
                model.reset(o.key);
                await limiter.reset(o.key);
                continue;
              }
              // Compared in µs (the script's raw reply), then as decisions (ms, rounded up).
              const step = model.step(o.key, o.cost, now, o.consume);
              const raw = await bound.stepAt(o.key, o.cost, o.consume, now);
              expect(micros(raw)).toEqual(micros(step));
              const got = toDecision(limiter.algorithm, raw);
              expect(got).toEqual(toDecision(limiter.algorithm, step));
              if (got.allowed) seen.allowed++;
              else if (got.reason === 'limit') seen.limit++;
              else seen.never++;
            }
          },
        ),
        { numRuns: 120 },
      );
      // The schedules must reach every branch often, or agreement would prove little. Refusals by the limit
      // are 9-17 % of the decisions (the sliding log's 9-12 %, once 7.6 %): the bound leaves room for the seed.
      const total = seen.allowed + seen.limit + seen.never;
      expect(seen.limit / total).toBeGreaterThan(0.05);
      expect(seen.allowed / total).toBeGreaterThan(0.3);
      expect(seen.never).toBeGreaterThan(0);
    });
  }

  test('edge schedules: exact log horizons, window edges, buckets refilled exactly', async () => {
    const cases: [RateLimiter, [number, string, number][]][] = [];
    const store = () => redisStore({ client, prefix: freshPrefix('edge'), onError: 'deny' });
    const s = 1_000_000;
    // An entry exactly at now - windowUs has expired: it must not count, nor be waited for.
    cases.push([
      slidingWindow({ limit: 2, windowMs: 1000, store: store() }),
      [
        [0, 'k', 1],
        [s / 2, 'k', 1],
        [s, 'k', 2],
        [s, 'k', 1],
        [s, 'k', 1],
        [s + s / 2, 'k', 2],
      ],
    ]);
    cases.push([
      slidingWindow({ limit: 3, windowMs: 1000, mode: 'counter', store: store() }),
      [
        [s - 1, 'k', 3],
        [s, 'k', 1],
        [2 * s - 1, 'k', 1],
        [2 * s, 'k', 3],
        [3 * s, 'k', 3],
        [3 * s, 'k', 1],
      ],
    ]);
    cases.push([
      tokenBucket({ capacity: 2, refillPerSecond: 1, store: store() }),
      [
        [0, 'k', 2],
        [s - 1, 'k', 1],
        [s, 'k', 1],
        [3 * s, 'k', 2],
        [3 * s, 'k', 3],
      ],
    ]);
    cases.push([
      gcra({ burst: 2, ratePerSecond: 1, store: store() }),
      [
        [0, 'k', 2],
        [s - 1, 'k', 1],
        [s, 'k', 1],
        [3 * s, 'k', 2],
        [3 * s, 'k', 3],
      ],
    ]);
    for (const [limiter, schedule] of cases) {
      const model = new Model(limiter.algorithm.config);
      for (const [now, key, cost] of schedule) {
        const raw = await redisOf(limiter).stepAt(key, cost, true, now + 5 * s);
        expect(micros(raw)).toEqual(micros(model.step(key, cost, now + 5 * s, true)));
      }
    }
  });

  test('floorDiv and ceilDiv in Lua equal the TypeScript ones (safe and unsafe magnitudes)', async () => {
    const lua = `${LUA_ARITHMETIC}
local out = {}
local function fmt(n) return format('%.0f', n) end
for i = 1, #ARGV, 2 do
  local a, b = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  out[#out + 1] = fmt(floorDiv(a, b))
  out[#out + 1] = fmt(ceilDiv(a, b))
end
return out`;
    const big = fc.oneof(
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 62n }).map(Number),

      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 2 ** 52, max: Number.MAX_SAFE_INTEGER }),
    );
    const divisor = fc.oneof(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 2 ** 30 }),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    );
    // a / b rounds up to the next integer in doubles only this close to 2^53 (the correction step's case).
    const tricky = fc.integer({ min: 0, max: 8 }).map((d) => [Number.MAX_SAFE_INTEGER - 2 * d, 2] as const);
    const pairs = fc.array(fc.oneof(fc.tuple(big, divisor), tricky), { minLength: 50, maxLength: 50 });
    await fc.assert(
      fc.asyncProperty(pairs, async (list) => {
        const args = list.flatMap(([a, b]) => [String(a), String(b)]);
        const got = ((await client.eval(lua, 0, ...args)) as string[]).map(Number);
        expect(got).toEqual(list.flatMap(([a, b]) => [floorDiv(a, b), ceilDiv(a, b)]));
      }),
      { numRuns: 40 },
    );
  });

  test('keys that differ only in characters Redis would merge or mis-tag stay distinct', async () => {
    const limiter = tokenBucket({
      capacity: 1,
      refillPerSecond: 1e-3,
      store: redisStore({ client, prefix: freshPrefix('odd'), onError: 'deny' }),
    });
    const bound = redisOf(limiter);
    for (const key of KEYS) expect((await bound.takeAt(key, 1, true, 1000)).allowed).toBe(true);
    for (const key of KEYS) expect((await bound.takeAt(key, 1, true, 1000)).allowed).toBe(false);
    const keys = KEYS.flatMap((k) => bound.keysOf(k));
    expect(new Set(keys).size).toBe(KEYS.length);
    for (const key of keys) expect(await client.exists(key)).toBe(1);
  });
});

describe.skipIf(!redisAvailable)('Lua twins = pure steps with tiers, refunds and reconfiguration', () => {
  let redis: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = await connect(redis.port);
  });
  afterAll(async () => {
    await disconnectAll();
    await redis?.stop();
  });

  /** Runs one call of the builders at an explicit time, as the store would send it. */
  const send = async (call: ScriptCall): Promise<unknown> =>
    await client.eval(call.script, call.keys.length, ...call.keys, ...call.args);
  const stepOf = (r: unknown) => micros(storeStepOf(r, new StepResult()));

  interface TierOp {
    advance: number;
    key: string;
    tier: number;
    cost: number;
    kind: 'take' | 'peek' | 'refund' | 'reconfigure';
  }
  const tierOp: fc.Arbitrary<TierOp> = fc.record({
    advance: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.4, noNaN: true }), fc.constantFrom(0.5, 1)),
    key: fc.constantFrom('a', 'b', 'c'),
    tier: fc.integer({ min: 0, max: 2 }),
    cost: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 70 }) },
    ),
    kind: fc.constantFrom('take', 'take', 'take', 'peek', 'refund', 'reconfigure'),
  });

  for (const [name, config] of Object.entries(configs)) {
    test(`${name}: three tiers on one prefix, refunds and live reconfiguration decide identically`, async () => {
      const seen = { refund: 0, reconfigure: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(
          fc.array(config, { minLength: 4, maxLength: 4 }),
          fc.integer({ min: 0, max: 2 ** 40 }),
          fc.array(tierOp, { minLength: 10, maxLength: 50 }),
          async (makes, base, ops) => {
            // Each maker becomes a set of limits (its algorithm); all of one kind by construction.
            const limits = [];
            try {
              for (const make of makes) limits.push(make(undefined as never).algorithm);
            } catch {
              fc.pre(false);
              return;
            }
            const tiers = limits.slice(0, 3);
            const model = new Model(tiers[0]!.config);
            const prefix = freshPrefix('tiers');
            // Capped so that GCRA time in ticks stays below 2^53 over a whole schedule of the slowest rates.
            const full = Math.min(Math.max(...tiers.map((t) => t.fullAfterUs)), 2 ** 36);
            let now = base;
            for (const o of ops) {
              now += Math.floor(o.advance * full);
              const t = tiers[o.tier]!;
              if (o.kind === 'reconfigure') {
                tiers[o.tier] = limits[3]!;
                limits[3] = t;
                seen.reconfigure++;
                continue;
              }
              if (o.kind === 'refund') {
                const want = model.refund(o.key, o.cost, now, t.config);
                const got = stepOf(await send(refundCall(t, prefix, o.key, o.cost, now, 0)));
                expect(got).toEqual({ allowed: true, never: false, remaining: want.remaining, waitUs: 0, fullUs: want.fullUs });
                expect(toDecision(t, want).remaining).toBeLessThanOrEqual(t.limit);
                seen.refund++;
                continue;
              }
              const consume = o.kind === 'take';
              const want = model.step(o.key, o.cost, now, consume, t.config);
              const got = stepOf(await send(takeCall(t, prefix, o.key, o.cost, consume, now, 0)));
              expect(got).toEqual(micros(want));
              if (!got.allowed) seen.refused++;
            }
          },
        ),
        { numRuns: 60 },
      );
      expect(seen.refund).toBeGreaterThan(20);
      expect(seen.reconfigure).toBeGreaterThan(20);
      expect(seen.refused).toBeGreaterThan(20);
    });
  }

  for (const [name, config] of Object.entries(configs)) {
    test(`${name}: scripts with the limits written in decide takes of cost 1 with no argument as the pure step`, async () => {
      // The baked default (nowArg -1: Redis TIME) is replaced by an explicit time, so schedules are exact.
      const at = (lua: string, now: number) => {
        const out = lua.replace('p4 = -1, ', `p4 = ${now}, `);
        expect(out).not.toBe(lua);
        return out;
      };
      await fc.assert(
        fc.asyncProperty(
          config,
          fc.integer({ min: 0, max: 2 ** 40 }),
          fc.array(
            fc.record({
              advance: op.map((o) => o.advance),
              keys: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 }),
            }),
            {
              minLength: 5,
              maxLength: 25,
            },
          ),
          async (make, base, turns) => {
            let limits: RateLimitAlgorithm;
            try {
              limits = make(undefined as never).algorithm;
            } catch {
              fc.pre(false);
              return;
            }
            const prefix = freshPrefix('baked');
            const model = new Model(limits.config);
            const take = bakedTakeScript(limits, 0);
            const batch = bakedBatchScript(limits, 0);
            let now = base;
            for (const [n, turn] of turns.entries()) {
              now += Math.floor(turn.advance * Math.min(limits.fullAfterUs, 2 ** 36));
              const expected = turn.keys.map((key) => micros(model.step(key, 1, now, true)));
              const keys = turn.keys.flatMap((key) => keysFor(limits.config.kind, prefix, key));
              let got: unknown[];
              if (n % 2 === 0) got = [];
              else got = (await client.eval(at(batch, now), keys.length, ...keys)) as unknown[];
              if (n % 2 === 0) {
                for (const key of turn.keys) {
                  const k = keysFor(limits.config.kind, prefix, key);
                  got.push(await client.eval(at(take, now), k.length, ...k));
                }
              }
              expect(got.map(stepOf)).toEqual(expected);
            }
          },
        ),
        { numRuns: 30 },
      );
      await client.script('FLUSH');
    });
  }

  test('a batch script decides like single calls, in order', async () => {
    const limits = tokenBucket({ capacity: 3, refillPerSecond: 1 }).algorithm;
    const prefix = freshPrefix('batch');
    const script = batchScript('token-bucket');
    const keys: string[] = [];
    const args: Buffer[] = [];
    const model = new Model(limits.config);
    const expected = [];
    for (const [key, cost] of [
      ['a', 2],
      ['a', 2],
      ['b', 1],
      ['a', 1],
      ['b', 3],
    ] as const) {
      const call = takeCall(limits, prefix, key, cost, true, 1_000_000, 0);
      keys.push(...call.keys);
      args.push(...call.args);
      expected.push(micros(model.step(key, cost, 1_000_000, true)));
    }
    const replies = (await client.eval(script, keys.length, ...keys, ...args)) as unknown[];
    expect(replies.map(stepOf)).toEqual(expected);
  });

  for (const coalesce of [false, true]) {
    test(`past ${MAX_BAKED_LIMITS} sets of limits a process sends them as arguments and decides the same (coalesce: ${coalesce})`, async () => {
      const store = redisStore({ client, prefix: freshPrefix('many'), onError: 'deny', coalesce });
      const fallbacks: unknown[] = [];
      store.on('fallback', (e) => fallbacks.push(e));
      const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1 / 3600, store });
      for (let capacity = 1; capacity <= MAX_BAKED_LIMITS + 4; capacity++) {
        limiter.reconfigure({ capacity, refillPerSecond: 1 / 3600 });
        // Fresh keys: `capacity` takes of 1 (issued together: one batch when coalescing) pass, the next fails.
        const key = `k${capacity}`;
        const takes = await Promise.all(Array.from({ length: capacity + 1 }, () => limiter.take(key)));
        expect(takes.filter((d) => d.allowed)).toHaveLength(capacity);
        expect(takes[capacity]).toMatchObject({ allowed: false, reason: 'limit', limit: capacity });
        expect(takes[capacity - 1]).toMatchObject({ allowed: true, remaining: 0 });
      }
      expect(fallbacks).toEqual([]);
    });
  }

  test('quotas: 10 000 000 per 30 days decide exactly as in memory (token bucket and GCRA)', async () => {
    const rate = 10_000_000 / (30 * 86_400);
    for (const limits of [
      tokenBucket({ capacity: 10_000_000, refillPerSecond: rate }).algorithm,
      gcra({ burst: 10_000_000, ratePerSecond: rate }).algorithm,
    ]) {
      const prefix = freshPrefix('quota');
      const model = new Model(limits.config);
      const day = 86_400_000_000;
      const schedule: [number, number][] = [
        [0, 9_999_999],
        [0, 1],
        [0, 1],
        [259_199, 1],
        [259_200, 1],
        [day, 333_333],
        [day, 1],
        [30 * day, 10_000_000],
      ];
      for (const [at, cost] of schedule) {
        const now = 2 ** 40 + at;
        const got = stepOf(await send(takeCall(limits, prefix, 'tenant', cost, true, now, 0)));
        expect(got).toEqual(micros(model.step('tenant', cost, now, true)));
      }
    }
  });

  test('through the Redis store: tiers, reconfiguration and refunds on Redis time', async () => {
    let tier: string | undefined;
    const limiter = tokenBucket({
      capacity: 2,
      refillPerSecond: 1 / 3600,
      tiers: { pro: { capacity: 5, refillPerSecond: 1 / 3600 } },
      tierOf: () => tier,
      store: redisStore({ client, prefix: freshPrefix('store-tiers'), onError: 'deny' }),
    });
    expect(await limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 0, limit: 2 });
    expect((await limiter.take('k')).allowed).toBe(false);
    tier = 'pro';
    const pro = await limiter.take('k', 3);
    expect(pro).toMatchObject({ allowed: true, remaining: 0, limit: 5 });
    expect(pro.limits?.tier).toBe('pro');
    expect(await limiter.refund('k', 2)).toMatchObject({ remaining: 2, limit: 5 });
    expect(await limiter.refund('k', 100)).toMatchObject({ remaining: 5 });
    tier = undefined;
    limiter.reconfigure({ capacity: 7, refillPerSecond: 1 / 3600 });
    expect(await limiter.take('k', 7)).toMatchObject({ allowed: true, remaining: 0, limit: 7 });
  });
});
