/**
 * The pure step functions at microsecond resolution (what a store, or a Lua twin, runs), against the
 * ideal references and each other.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { gcra, slidingWindow, tokenBucket } from '../../src/index.js';
import { type LogView, StepResult, slidingLogStep } from '../../src/rate-limit/algorithms.js';
import { type AlgorithmConfig, runFixedStep } from '../../src/rate-limit/store.js';
import { IdealBucket } from './reference.js';

const rate = fc.record({ num: fc.integer({ min: 1, max: 32 }), den: fc.integer({ min: 1, max: 12 }) });
const ops = fc.array(
  fc.record({
    advance: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_000_000 })),
    cost: fc.integer({ min: 0, max: 6 }),
  }),
  { minLength: 1, maxLength: 60 },
);

function configOf(limiter: { algorithm: { config: AlgorithmConfig } }): AlgorithmConfig {
  return limiter.algorithm.config;
}

/** Applies a fixed-size step like a store does: saves the next state only when allowed with cost > 0. */
function apply(config: AlgorithmConfig, state: number[], now: number, cost: number, out: StepResult): void {
  runFixedStep(config, state, 0, now, cost, out);
  if (out.allowed && cost > 0) {
    state[0] = out.s0;
    state[1] = out.s1;
    state[2] = out.s2;
  }
}

describe('pure steps in µs', () => {
  test('token bucket step equals the ideal bucket at µs resolution (allowed, exact wait, remaining)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), rate, ops, (capacity, { num, den }, list) => {
        const config = configOf(tokenBucket({ capacity, refillPerSecond: num / den }));
        const ideal = new IdealBucket(capacity, num, den, 1e6);
        const state = [0, 0, 0];
        const out = new StepResult();
        let now = 0;
        for (const op of list) {
          now += op.advance;
          apply(config, state, now, op.cost, out);
          const want = ideal.take('k', op.cost, now);
          expect([out.allowed, out.never, out.allowed || out.never ? 0 : out.waitUs, out.remaining]).toEqual([
            want.allowed,
            want.never,
            want.retryAfterMs,
            want.remaining,
          ]);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('GCRA step equals the token bucket step (every output but the state)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), rate, ops, (burst, { num, den }, list) => {
        const g = configOf(gcra({ ratePerSecond: num / den, burst }));
        const b = configOf(tokenBucket({ capacity: burst, refillPerSecond: num / den }));
        const gs = [0, 0, 0];
        const bs = [0, 0, 0];
        const go = new StepResult();
        const bo = new StepResult();
        let now = 0;
        for (const op of list) {
          now += op.advance;
          apply(g, gs, now, op.cost, go);
          apply(b, bs, now, op.cost, bo);
          expect([go.allowed, go.never, go.remaining, go.waitUs, go.fullUs]).toEqual([
            bo.allowed,
            bo.never,
            bo.remaining,
            bo.waitUs,
            bo.fullUs,
          ]);
        }
      }),
      { numRuns: 300 },
    );
  });

  const fixed: [string, (limit: number) => AlgorithmConfig][] = [
    ['token bucket', (n) => configOf(tokenBucket({ capacity: n, refillPerSecond: 7 }))],
    ['gcra', (n) => configOf(gcra({ ratePerSecond: 100 / 60, burst: n }))],
    ['counter', (n) => configOf(slidingWindow({ limit: n, windowMs: 1.5, mode: 'counter' }))],
  ];
  for (const [name, make] of fixed) {
    test(`${name}: waitUs is exact (allowed after waitUs, refused 1 µs before); fullUs reaches full`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), ops, fc.integer({ min: 1, max: 6 }), (limit, list, cost) => {
          const config = make(limit);
          const state = [0, 0, 0];
          const out = new StepResult();
          let now = 0;
          for (const op of list) apply(config, state, (now += op.advance), op.cost, out);
          runFixedStep(config, state, 0, now, cost, out);
          if (out.allowed || out.never) return;
          const wait = out.waitUs;
          expect(wait).toBeGreaterThan(0);
          runFixedStep(config, state, 0, now + wait - 1, cost, out);
          expect(out.allowed).toBe(false);
          runFixedStep(config, state, 0, now + wait, cost, out);
          expect(out.allowed).toBe(true);
          // After fullUs the state decides like fresh state.
          runFixedStep(config, state, 0, now, 0, out);
          const full = out.fullUs;
          const fresh = new StepResult();
          runFixedStep(config, state, 0, now + full, limit, out);
          runFixedStep(config, [0, 0, 0], 0, now + full, limit, fresh);
          expect(out.remaining).toBe(fresh.remaining);
          expect(out.allowed).toBe(true);
        }),
        { numRuns: 200 },
      );
    });
  }

  test('sliding log: waitUs is exact at µs resolution', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5000 }),
        ops,
        fc.integer({ min: 1, max: 6 }),
        (limit, windowUs, list, cost) => {
          const config = { kind: 'sliding-window-log', limit, windowUs } as const;
          const log = { times: [] as number[], costs: [] as number[], head: 0, total: 0 };
          const out = new StepResult();
          let now = 0;
          for (const op of list) {
            now += op.advance % (windowUs * 2);
            slidingLogStep(log, now, op.cost, config, out);
            for (let i = 0; i < out.drop; i++) log.total -= log.costs[log.head++] as number;
            if (out.allowed && op.cost > 0) {
              log.times.push(now);
              log.costs.push(op.cost);
              log.total += op.cost;
            }
          }
          const view: LogView = log;
          slidingLogStep(view, now, cost, config, out);
          if (out.allowed || out.never) return;
          const wait = out.waitUs;
          slidingLogStep(view, now + wait - 1, cost, config, out);
          expect(out.allowed).toBe(false);
          slidingLogStep(view, now + wait, cost, config, out);
          expect(out.allowed).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
