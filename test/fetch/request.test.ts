import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { OriginRegistry } from '../../adapters/fetch/origins.js';
import { hasHeader, IDEMPOTENT_METHODS, isOneShotBody, requestFacts } from '../../adapters/fetch/request.js';

const METHODS = new Set(IDEMPOTENT_METHODS);

describe('requestFacts', () => {
  test('idempotent methods are retryable, others only with an Idempotency-Key; one-shot bodies never', () => {
    const method = fc.constantFrom(
      'GET',
      'get',
      'HEAD',
      'OPTIONS',
      'PUT',
      'put',
      'DELETE',
      'TRACE',
      'POST',
      'post',
      'PATCH',
      'LOCK',
    );
    const headers = fc.constantFrom<[HeadersInit | undefined, boolean]>(
      [undefined, false],
      [{ 'Idempotency-Key': 'k1' }, true],
      [{ 'idempotency-key': 'k1' }, true],
      [[['IDEMPOTENCY-KEY', 'k1']], true],
      [new Headers({ 'Idempotency-Key': 'k1' }), true],
      [{ 'x-idempotency': 'k1' }, false],
      [new Headers({ accept: 'text/plain' }), false],
    );
    const body = fc.constantFrom<[() => BodyInit | undefined, boolean]>(
      [() => undefined, false],
      [() => 'text', false],
      [() => new URLSearchParams('a=1'), false],
      [() => new Blob(['x']), false],
      [() => new Uint8Array([1, 2]), false],
      [() => new ReadableStream(), true],
    );
    fc.assert(
      fc.property(method, headers, body, fc.boolean(), (m, [h, keyed], [makeBody, oneShot], keyOptIn) => {
        const facts = requestFacts(
          'http://x.test/',
          { method: m, headers: h as HeadersInit, body: makeBody() ?? null },
          METHODS,
          keyOptIn ? 'idempotency-key' : undefined,
        );
        const upper = m.toUpperCase();
        expect(facts.method).toBe(upper);
        const methodOk = METHODS.has(upper) || (keyOptIn && keyed);
        expect(facts.noRetry).toBe(!methodOk ? 'method' : oneShot ? 'stream' : undefined);
        expect(facts.cloneRequest).toBe(false);
      }),
    );
  });

  test('a Request input: its method and headers count, and a body means a clone per attempt', () => {
    const put = new Request('http://x.test/', { method: 'PUT', body: 'data' });
    expect(requestFacts(put, undefined, METHODS, 'idempotency-key')).toEqual({
      method: 'PUT',
      noRetry: undefined,
      cloneRequest: true,
    });
    const get = new Request('http://x.test/');
    expect(requestFacts(get, undefined, METHODS, 'idempotency-key')).toEqual({
      method: 'GET',
      noRetry: undefined,
      cloneRequest: false,
    });
    const post = new Request('http://x.test/', { method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'abc' } });
    expect(requestFacts(post, undefined, METHODS, 'idempotency-key').noRetry).toBeUndefined();
    expect(requestFacts(post, undefined, METHODS, undefined).noRetry).toBe('method');
    // init overrides the Request's method, and init.body replaces its body.
    expect(requestFacts(put, { method: 'POST' }, METHODS, undefined).noRetry).toBe('method');
    expect(requestFacts(put, { body: 'other' }, METHODS, undefined).cloneRequest).toBe(false);
  });

  test('one-shot bodies: streams and async iterables', () => {
    expect(isOneShotBody(new ReadableStream())).toBe(true);
    expect(isOneShotBody((async function* () {})())).toBe(true);
    for (const body of ['s', new Blob([]), new ArrayBuffer(1), new FormData(), new URLSearchParams(), null, undefined]) {
      expect(isOneShotBody(body)).toBe(false);
    }
    expect(hasHeader(null, 'a')).toBe(false);
  });
});

describe('OriginRegistry', () => {
  /** The model: a list, least recently used first, with a busy count per origin. */
  test('model-based: bounded, most recent kept, idle evicted before busy', () => {
    const origin = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    const command = fc.oneof(
      fc.record({ kind: fc.constant('get' as const), origin }),
      fc.record({ kind: fc.constant('busy' as const), origin, delta: fc.constantFrom(1, -1) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(command, { maxLength: 60 }), (max, commands) => {
        let created = 0;
        const registry = new OriginRegistry(max, () => {
          created++;
          return { inFlight: 0 };
        });
        const model: Array<{ origin: string; busy: number }> = [];
        for (const c of commands) {
          if (c.kind === 'get') {
            const at = model.findIndex((e) => e.origin === c.origin);
            if (at >= 0) {
              const [entry] = model.splice(at, 1);
              model.push(entry as { origin: string; busy: number });
            } else {
              if (model.length >= max) {
                const idle = model.findIndex((e) => e.busy === 0);
                model.splice(Math.max(idle, 0), 1);
              }
              model.push({ origin: c.origin, busy: 0 });
            }
            registry.get(c.origin);
          } else {
            const entry = model.find((e) => e.origin === c.origin);
            const real = registry.peek(c.origin);
            expect(real === undefined).toBe(entry === undefined);
            if (entry === undefined || real === undefined || entry.busy + c.delta < 0) continue;
            entry.busy += c.delta;
            real.inFlight += c.delta;
          }
          expect(registry.keys()).toEqual(model.map((e) => e.origin));
          expect(registry.size).toBeLessThanOrEqual(max);
        }
        expect(created).toBeGreaterThanOrEqual(registry.size);
      }),
    );
  });
});
