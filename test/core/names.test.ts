import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_POLICY_NAME_LENGTH, policyName } from '../../src/core/names.js';

describe('policyName', () => {
  it('keeps a given name', () => {
    expect(policyName('bulkhead', 'db-pool')).toBe('db-pool');
    expect(policyName('bulkhead', 'x'.repeat(MAX_POLICY_NAME_LENGTH))).toHaveLength(MAX_POLICY_NAME_LENGTH);
  });

  it('derives <family>-<n>, counting per family, unique across calls', () => {
    const a = policyName('names-test-family', undefined);
    const b = policyName('names-test-family', undefined);
    const other = policyName('names-test-other', undefined);
    expect(a).toMatch(/^names-test-family-\d+$/);
    expect(Number(b.split('-').pop())).toBe(Number(a.split('-').pop()) + 1);
    expect(other).toBe('names-test-other-1');
  });

  it('rejects anything but a non-empty string of bounded length, naming the option and the value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer(),
          fc.boolean(),
          fc.constant(null),
          fc.constant(''),
          fc.object(),
          fc.string({ minLength: MAX_POLICY_NAME_LENGTH + 1, maxLength: MAX_POLICY_NAME_LENGTH + 5 }),
        ),
        (bad) => {
          expect(() => policyName('retry', bad)).toThrow(TypeError);
          expect(() => policyName('retry', bad)).toThrow(/retry: option "name" must be a non-empty string/);
        },
      ),
    );
    expect(() => policyName('retry', 42)).toThrow(/got 42/);
  });
});
