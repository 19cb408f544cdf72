/**
 * Legacy (`experimentalDecorators`) method decorators: TypeScript calls a method decorator with
 * `(prototype, name, descriptor)` and uses the descriptor it leaves. Every policy accepts that form as well
 * as the TC39 one. (test/packaging.test.ts compiles and runs a consumer with tsc in both modes.)
 */
import { describe, expect, test } from 'vitest';
import {
  type AnyPolicy,
  bulkhead,
  circuitBreaker,
  compose,
  definePolicy,
  fallback,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
} from '../../src/index.js';

/** What TypeScript emits for `@policy` on a method under `experimentalDecorators`. */
function decorateLegacy(policy: AnyPolicy, target: object, key: string): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key) as PropertyDescriptor;
  const result = (policy as unknown as (t: object, k: string, d: PropertyDescriptor) => PropertyDescriptor | undefined)(
    target,
    key,
    descriptor,
  );
  Object.defineProperty(target, key, result ?? descriptor);
}

const POLICIES: [string, () => AnyPolicy][] = [
  ['timeout', () => timeout(1_000)],
  ['fallback', () => fallback('unused')],
  ['retry', () => retry({ maxAttempts: 2, backoff: 0 })],
  ['circuitBreaker', () => circuitBreaker({})],
  ['bulkhead', () => bulkhead({ maxConcurrent: 1 })],
  ['rateLimit', () => rateLimit(tokenBucket({ capacity: 5, refillPerSecond: 1 }))],
  ['compose', () => compose(retry({ maxAttempts: 2, backoff: 0 }), timeout(1_000))],
  ['definePolicy', () => definePolicy({ family: 'noop' })],
];

describe.each(POLICIES)('%s as a legacy method decorator', (_, make) => {
  test('wraps the method in place, keeping this, the arguments and the name', async () => {
    class Service {
      factor = 2;
      async scale(x: number): Promise<number> {
        return x * this.factor;
      }
    }
    decorateLegacy(make(), Service.prototype, 'scale');
    const service = new Service();
    await expect(service.scale(21)).resolves.toBe(42);
    expect(Service.prototype.scale.name).toBe('scale');
  });

  test('a static method too (the target is the class)', async () => {
    // biome-ignore lint/complexity/noStaticOnlyClass: the case under test is a decorated static method.
    class Service {
      static async ping(): Promise<string> {
        return 'pong';
      }
    }
    decorateLegacy(make(), Service, 'ping');
    await expect(Service.ping()).resolves.toBe('pong');
  });
});

test('the policy really runs around a legacy-decorated method', async () => {
  class Service {
    calls = 0;
    async flaky(): Promise<string> {
      this.calls++;
      if (this.calls < 3) throw new Error(`failure ${this.calls}`);
      return `ok after ${this.calls}`;
    }
  }
  decorateLegacy(retry({ maxAttempts: 3, backoff: 0 }), Service.prototype, 'flaky');
  await expect(new Service().flaky()).resolves.toBe('ok after 3');
});

test('a legacy descriptor without a function value is a TypeError naming the policy', () => {
  const custom = definePolicy({ family: 'noop', name: 'short' });
  const policy = custom as unknown as (t: object, k: string, d: PropertyDescriptor) => void;
  expect(() => policy({}, 'x', { get: () => 1 })).toThrow(TypeError);
  expect(() => policy({}, 'x', { get: () => 1 })).toThrow(/^short: legacy method decorator: expected a function/);
});
