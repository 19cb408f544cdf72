import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { evictionRank, OriginRegistry } from '../../adapters/fetch/origins.js';
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
      // An empty key identifies nothing: it does not make a request safe to send twice.
      [{ 'Idempotency-Key': '' }, false],
      [new Headers({ 'Idempotency-Key': '  ' }), false],
      [[['Idempotency-Key', '']], false],
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

  test('a Request input: its method and headers count; its body is sent once unless replayRequestBodies', () => {
    const put = new Request('http://x.test/', { method: 'PUT', body: 'data' });
    expect(requestFacts(put, undefined, METHODS, 'idempotency-key')).toEqual({
      method: 'PUT',
      noRetry: 'request-body',
      cloneRequest: false,
    });
    expect(requestFacts(put, undefined, METHODS, 'idempotency-key', true)).toEqual({
      method: 'PUT',
      noRetry: undefined,
      cloneRequest: true,
    });
    const get = new Request('http://x.test/');
    for (const replay of [false, true]) {
      expect(requestFacts(get, undefined, METHODS, 'idempotency-key', replay)).toEqual({
        method: 'GET',
        noRetry: undefined,
        cloneRequest: false,
      });
    }
    const post = new Request('http://x.test/', { method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'abc' } });
    expect(requestFacts(post, undefined, METHODS, 'idempotency-key').noRetry).toBe('request-body');
    expect(requestFacts(post, undefined, METHODS, 'idempotency-key', true).noRetry).toBeUndefined();
    // The method is the first reason given.
    expect(requestFacts(post, undefined, METHODS, undefined).noRetry).toBe('method');
    expect(requestFacts(post, undefined, METHODS, undefined, true)).toMatchObject({ noRetry: 'method' });
    // init overrides the Request's method, and init.body replaces its body: then its type decides.
    expect(requestFacts(put, { method: 'POST' }, METHODS, undefined).noRetry).toBe('method');
    expect(requestFacts(put, { body: 'other' }, METHODS, undefined)).toEqual({
      method: 'PUT',
      noRetry: undefined,
      cloneRequest: false,
    });
    expect(requestFacts(put, { body: new ReadableStream() }, METHODS, undefined, true).noRetry).toBe('stream');
    // An explicit null init.body leaves the Request's own body in place.
    expect(requestFacts(put, { body: null }, METHODS, undefined).noRetry).toBe('request-body');
  });

  test('property: a Request input with a body is retryable only with the opt-in, and then cloned', () => {
    const bodies = fc.constantFrom<() => BodyInit | null>(
      () => null,
      () => 'text',
      () => new Blob(['x']),
      () => new Uint8Array([1]),
      () => new URLSearchParams('a=1'),
      () => new ReadableStream(),
    );
    fc.assert(
      fc.property(fc.constantFrom('PUT', 'DELETE', 'POST'), bodies, fc.boolean(), (method, body, replay) => {
        const made = body();
        const request = new Request('http://x.test/', {
          method,
          body: made,
          ...(made instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit);
        const facts = requestFacts(request, undefined, METHODS, undefined, replay);
        const hasBody = made !== null;
        const expected = !METHODS.has(method) ? 'method' : hasBody && !replay ? 'request-body' : undefined;
        expect(facts.noRetry).toBe(expected);
        expect(facts.cloneRequest).toBe(hasBody && replay);
      }),
    );
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
  test('evictionRank: idle+closed < busy+closed < idle+tripped < busy+tripped', () => {
    expect([evictionRank(0, false), evictionRank(3, false), evictionRank(0, true), evictionRank(1, true)]).toEqual([0, 1, 2, 3]);
  });

  /**
   * The model: a list, least recently used first, with a busy count and a tripped flag per origin. A new
   * origin in a full registry evicts the least recently used entry of the cheapest class: idle and closed,
   * else busy and closed, else idle and tripped, else busy and tripped.
   */
  test('model-based: bounded, most recent kept, idle before busy, a tripped breaker evicted last', () => {
    type Model = { origin: string; busy: number; tripped: boolean };
    const origin = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    const command = fc.oneof(
      fc.record({ kind: fc.constant('get' as const), origin }),
      fc.record({ kind: fc.constant('busy' as const), origin, delta: fc.constantFrom(1, -1) }),
      fc.record({ kind: fc.constant('trip' as const), origin, tripped: fc.boolean() }),
    );
    const cost = (e: Model) => (e.tripped ? 2 : 0) + (e.busy > 0 ? 1 : 0);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(command, { maxLength: 80 }), (max, commands) => {
        let created = 0;
        const registry = new OriginRegistry(
          max,
          () => {
            created++;
            return { inFlight: 0, tripped: false };
          },
          (entry) => entry.tripped,
        );
        const model: Model[] = [];
        for (const c of commands) {
          if (c.kind === 'get') {
            const at = model.findIndex((e) => e.origin === c.origin);
            if (at >= 0) {
              const [entry] = model.splice(at, 1);
              model.push(entry as Model);
            } else {
              if (model.length >= max) {
                const cheapest = Math.min(...model.map(cost));
                const dropped = model.findIndex((e) => cost(e) === cheapest);
                model.splice(dropped, 1);
              }
              model.push({ origin: c.origin, busy: 0, tripped: false });
            }
            registry.get(c.origin);
          } else {
            const entry = model.find((e) => e.origin === c.origin);
            const real = registry.peek(c.origin);
            expect(real === undefined).toBe(entry === undefined);
            if (entry === undefined || real === undefined) continue;
            if (c.kind === 'trip') {
              entry.tripped = c.tripped;
              real.tripped = c.tripped;
            } else {
              if (entry.busy + c.delta < 0) continue;
              entry.busy += c.delta;
              real.inFlight += c.delta;
            }
          }
          expect(registry.keys()).toEqual(model.map((e) => e.origin));
          expect(registry.size).toBeLessThanOrEqual(max);
        }
        expect(created).toBeGreaterThanOrEqual(registry.size);
      }),
      { numRuns: 300 },
    );
  });

  test('a tripped entry survives any number of new origins while another can go', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 40 }), (max, churn) => {
        const registry = new OriginRegistry(
          max,
          () => ({ inFlight: 0, tripped: false }),
          (e) => e.tripped,
        );
        registry.get('failing').tripped = true;
        for (let i = 0; i < churn; i++) registry.get(`host${i}`);
        expect(registry.peek('failing')?.tripped).toBe(true);
        expect(registry.size).toBe(Math.min(max, churn + 1));
      }),
    );
  });
});
