import { expect } from 'vitest';
import type { AnyPolicy } from '../../src/index.js';

/**
 * Calls `fn` through `policy` in each call form (decorated, `execute`, `withContext`) and expects each call
 * to return a promise that rejects with `error`: a policy never throws synchronously.
 */
export async function expectEveryFormRejects(policy: AnyPolicy, fn: () => unknown, error: unknown): Promise<void> {
  const decorated = policy(fn) as () => Promise<unknown>;
  const withContext = policy.withContext(fn) as () => Promise<unknown>;
  for (const call of [() => decorated(), () => policy.execute(fn), () => withContext()]) {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = call();
    }).not.toThrow();
    await expect(promise).rejects.toBe(error);
  }
}
