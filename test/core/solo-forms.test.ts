import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  type AnyPolicy,
  bulkhead,
  circuitBreaker,
  fallback,
  type PolicyContext,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

// Each family's call forms are written once per family (src/core/solo-forms.ts): every copy must hand the
// function the same receiver, arguments and context, whichever family and form, through one call site.
const FAMILIES: [string, (clock: VirtualClock) => AnyPolicy][] = [
  ['timeout', (clock) => timeout({ ms: 1000, clock })],
  ['fallback', () => fallback('fb')],
  ['retry', (clock) => retry({ maxAttempts: 3, clock })],
  ['circuitBreaker', (clock) => circuitBreaker({ clock })],
  ['rateLimit', (clock) => rateLimit(tokenBucket({ capacity: 1000, refillPerSecond: 1, clock }))],
  ['bulkhead', (clock) => bulkhead({ maxConcurrent: 10, clock })],
];

interface Seen {
  self: unknown;
  args: unknown[];
  context: PolicyContext | undefined;
}

test('every family, in every call form, passes the receiver, the arguments and the context (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: FAMILIES.length - 1 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.constantFrom('decorated', 'execute', 'withContext'), { minLength: 12, maxLength: 12 }),
      fc.array(fc.anything(), { maxLength: 4 }),
      fc.anything(),
      async (families, forms, args, result) => {
        const clock = new VirtualClock();
        const self = { tag: 'self' };
        for (const [i, index] of families.entries()) {
          const [family, make] = FAMILIES[index] as (typeof FAMILIES)[number];
          const form = forms[i] as string;
          const policy = make(clock);
          const seen: Seen = { self: 'unset', args: [], context: undefined };
          let value: unknown;
          if (form === 'decorated') {
            const wrapped = policy(function (this: unknown, ...a: unknown[]) {
              seen.self = this;
              seen.args = a;
              return result;
            });
            value = await wrapped.apply(self, args);
            expect(seen.args, family).toEqual(args);
            expect(seen.self, family).toBe(self);
          } else if (form === 'withContext') {
            const wrapped = policy.withContext(function (this: unknown, context: PolicyContext, ...a: unknown[]) {
              seen.self = this;
              seen.context = context;
              seen.args = a;
              return result;
            });
            value = await wrapped.apply(self, args);
            expect(seen.args, family).toEqual(args);
            expect(seen.self, family).toBe(self);
          } else {
            value = await policy.execute(function (this: unknown, context: PolicyContext) {
              seen.self = this;
              seen.context = context;
              return result;
            });
            expect(seen.self, family).toBeUndefined();
          }
          expect(value, `${family} ${form}`).toBe(result);
          if (form !== 'decorated') {
            expect(seen.context?.attempt, `${family} ${form}`).toBe(1);
            expect(seen.context?.signal.aborted, `${family} ${form}`).toBe(false);
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});
