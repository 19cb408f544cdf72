/**
 * The chains' own path for weir's memory store (an allowed request builds no decision; its fields are written
 * from the units left) against the generic path every other synchronous store takes (a decision object,
 * checked, then written): the same limits on the same clock must send the same status and fields, request by
 * request, on real Express and Fastify servers.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LimitOptions } from '../../adapters/http/limit.js';
import {
  gcra,
  memoryStore,
  type RateLimitAlgorithm,
  type RateLimitStore,
  slidingWindow,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';
import { MemoryTable } from '../../src/rate-limit/memory.js';
import { type AnyRequest, express5Harness, fastifyHarness, type Harness, type Running } from './harness.js';

/** The memory store behind a plain binding: synchronous, but not weir's table, so the chain takes its generic path. */
function generic(inner: RateLimitStore): RateLimitStore {
  return {
    bind(algorithm, clock) {
      const bound = inner.bind(algorithm, clock);
      const takeSync = bound.takeSync as NonNullable<typeof bound.takeSync>;
      return {
        take: (key, cost, consume, limits?: RateLimitAlgorithm) => bound.take(key, cost, consume, limits),
        takeSync: (key, cost, consume, limits?: RateLimitAlgorithm) => takeSync(key, cost, consume, limits),
        reset: (key) => bound.reset(key),
      };
    },
  };
}

const byUser = (req: AnyRequest): string => String(req.headers['x-user'] ?? 'anonymous');
const costOf = (req: AnyRequest): number => Number(req.headers['x-cost'] ?? 1);
const FIELDS = ['ratelimit', 'ratelimit-policy', 'retry-after'] as const;

/** Three limits of different algorithms, one with plans: each response carries a member of each. */
function limits(clock: VirtualClock, store: () => RateLimitStore): LimitOptions<AnyRequest>[] {
  return [
    {
      limiter: tokenBucket({
        capacity: 4,
        refillPerSecond: 2,
        clock,
        store: store(),
        tiers: { pro: { capacity: 9, refillPerSecond: 3 } },
        // A plan lookup that fails is a store failure on both paths (storeFailure decides).
        tierOf: (key) => {
          if (key.startsWith('lost-')) throw new Error('plan lookup failed');
          return key.startsWith('pro-') ? 'pro' : undefined;
        },
      }),
      key: byUser,
      cost: costOf,
    },
    { limiter: slidingWindow({ limit: 7, windowMs: 3000, clock, store: store() }), key: byUser, name: 'window' },
    { limiter: gcra({ burst: 3, ratePerSecond: 1.5, clock, store: store() }), key: byUser },
  ];
}

interface Pair {
  clock: VirtualClock;
  servers: Running[];
}

const steps = fc.array(
  fc.record({
    user: fc.constantFrom('ann', 'bob', 'pro-cy', 'lost-dan'),
    cost: fc.integer({ min: 0, max: 5 }),
    advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4000 })),
  }),
  { minLength: 1, maxLength: 25 },
);

describe.each<Harness>([express5Harness, fastifyHarness])('$name: memory store path', (harness) => {
  const pair: Pair = { clock: new VirtualClock(), servers: [] };
  // One store per limit per server: the memory stores of the two servers never share state.
  beforeAll(async () => {
    const { clock } = pair;
    const fast = limits(clock, () => memoryStore());
    const slow = limits(clock, () => generic(memoryStore()));
    // The premise: the first server's limiters are bound to weir's table, the second's are not.
    expect(fast.every((limit) => limit.limiter.bound instanceof MemoryTable)).toBe(true);
    expect(slow.some((limit) => limit.limiter.bound instanceof MemoryTable)).toBe(false);
    const response = { onStoreError: () => {} };
    pair.servers = [await harness.start({ global: fast, response }), await harness.start({ global: slow, response })];
  });
  afterAll(async () => {
    await Promise.all(pair.servers.map((server) => server.close()));
  });

  test('sends the same status and fields as the generic path, request by request (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(steps, async (sequence) => {
        run++;
        for (const { user, cost, advanceMs } of sequence) {
          pair.clock.advance(advanceMs);
          const headers = { 'x-user': `${user}-${run}`, 'x-cost': String(cost) };
          const answers = await Promise.all(
            pair.servers.map(async (server) => {
              const response = await fetch(`${server.url}/`, { headers });
              await response.arrayBuffer();
              return [response.status, ...FIELDS.map((name) => response.headers.get(name))];
            }),
          );
          expect(answers[0]).toEqual(answers[1]);
          // Both paths decided, with fields: a response without them would compare equal and prove nothing.
          expect(answers[0]?.[1]).toMatch(/;r=\d+/);
        }
      }),
      { numRuns: 20 },
    );
  });
});
