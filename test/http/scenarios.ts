/**
 * The adapter scenarios, run against each framework (test/express, test/fastify) and each store with real
 * HTTP requests on loopback. Time is a VirtualClock injected into the limiters.
 */
import { parseList } from 'structured-headers';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { bulkhead, memoryStore, type RateLimitStore, slidingWindow, tokenBucket, VirtualClock } from '../../src/index.js';
import {
  type AnyRequest,
  asyncStore,
  FailingStore,
  type FailureKind,
  type Harness,
  type Running,
  type Setup,
} from './harness.js';

export const STORES = [
  { name: 'memory', store: (): RateLimitStore => memoryStore() },
  { name: 'async memory', store: (): RateLimitStore => asyncStore(memoryStore()) },
  // REDIS: add the Redis store case here (see StoreCase in ./harness.ts).
];

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

export async function get(url: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Reply> {
  const response = await fetch(url, signal === undefined ? { headers } : { headers, signal });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The members of a draft-10 list field as [name, {param: value}] (parsed as a Structured Field). */
export function members(value: string | null): [string, Record<string, unknown>][] {
  if (value === null) return [];
  return parseList(value).map(([item, params]) => [String(item), Object.fromEntries(params as Map<string, unknown>)]);
}

const user = (id: string) => ({ 'x-user': id });
const byUser = (req: AnyRequest) => String(req.headers['x-user']);

/** Resolves once `count` events have been seen (subscribe before causing them). */
function counter(pool: ReturnType<typeof bulkhead>, event: 'acquired' | 'queued' | 'rejected' | 'released') {
  let seen = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  pool.on(event, () => {
    seen++;
    for (const w of waiters.filter((w) => seen >= w.count)) w.resolve();
  });
  return (count: number) =>
    new Promise<void>((resolve) => {
      if (seen >= count) resolve();
      else waiters.push({ count, resolve });
    });
}

function gate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

export function runScenarios(harness: Harness): void {
  let running: Running | undefined;
  const start = async (setup: Setup): Promise<string> => {
    running = await harness.start(setup);
    return running.url;
  };
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  describe.each(STORES)(`${harness.name}, $name store`, ({ store }) => {
    test('limits per key, with draft-10 fields, 429, problem details and an honest Retry-After', async () => {
      const clock = new VirtualClock();
      const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.5, clock, store: store() });
      const url = await start({ global: [{ limiter, name: 'api', key: byUser }] });

      const first = await get(`${url}/a`, user('alice'));
      expect(first.status).toBe(200);
      expect(first.headers.get('ratelimit-policy')).toBe('"api";q=2;w=4');
      expect(members(first.headers.get('ratelimit-policy'))).toEqual([['api', { q: 2, w: 4 }]]);
      expect(members(first.headers.get('ratelimit'))).toEqual([['api', { r: 1, t: 2 }]]);
      expect(first.headers.get('retry-after')).toBeNull();

      const second = await get(`${url}/a`, user('alice'));
      expect(members(second.headers.get('ratelimit'))).toEqual([['api', { r: 0, t: 4 }]]);

      const refused = await get(`${url}/a`, user('alice'));
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(members(refused.headers.get('ratelimit'))).toEqual([['api', { r: 0, t: 2 }]]);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(refused.body)).toEqual({
        type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
        title: 'Too Many Requests',
        status: 429,
        detail: 'Rate limit "api" exceeded; retry after 2 s.',
        'violated-policies': ['api'],
      });

      // Another key has its own budget.
      expect((await get(`${url}/a`, user('bob'))).status).toBe(200);
      // Just before Retry-After: still refused; at Retry-After: allowed.
      clock.advance(1_999);
      expect((await get(`${url}/a`, user('alice'))).status).toBe(429);
      clock.advance(1);
      expect((await get(`${url}/a`, user('alice'))).status).toBe(200);
    });

    test('Retry-After is never earlier than t, and waiting it is always enough (sliding window)', async () => {
      const clock = new VirtualClock();
      const limiter = slidingWindow({ limit: 3, windowMs: 10_000, clock, store: store() });
      const url = await start({ global: [{ limiter, name: 'w' }] });
      const steps = [0, 1_300, 2_100, 0, 4_000, 250, 7_000, 0, 0, 3_333];
      let refusals = 0;
      for (const step of steps) {
        clock.advance(step);
        const reply = await get(url);
        const [[, params]] = members(reply.headers.get('ratelimit')) as [[string, { r: number; t?: number }]];
        if (reply.status === 429) {
          refusals++;
          const retryAfter = Number(reply.headers.get('retry-after'));
          expect(retryAfter).toBeGreaterThanOrEqual(params.t as number);
          clock.advance(retryAfter * 1000);
          expect((await get(url)).status).toBe(200);
        }
      }
      expect(refusals).toBeGreaterThan(0);
    });

    test('IPv6 clients are grouped by /64 and IPv4-mapped addresses reduced (trust proxy on)', async () => {
      const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.001, clock: new VirtualClock(), store: store() });
      const url = await start({ global: [{ limiter }], trustProxy: true });
      const from = (ip: string) => get(url, { 'x-forwarded-for': ip });
      expect((await from('2001:db8:1:2::1')).status).toBe(200);
      expect((await from('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).status).toBe(200);
      expect((await from('2001:db8:1:2::ffff')).status).toBe(429); // same /64
      expect((await from('2001:db8:1:3::1')).status).toBe(200); // next /64
      expect((await from('10.0.0.1')).status).toBe(200);
      expect((await from('::ffff:10.0.0.1')).status).toBe(200);
      expect((await from('::ffff:a00:1')).status).toBe(429); // 10.0.0.1 again, in hex
      // A malformed address never bypasses: such clients share one budget.
      expect((await from('not-an-ip')).status).toBeLessThan(500);
    });

    test('without trust proxy, X-Forwarded-For is ignored: weir never reads it', async () => {
      const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.001, clock: new VirtualClock(), store: store() });
      const url = await start({ global: [{ limiter }] });
      expect((await get(url, { 'x-forwarded-for': '1.1.1.1' })).status).toBe(200);
      expect((await get(url, { 'x-forwarded-for': '2.2.2.2' })).status).toBe(200);
      expect((await get(url, { 'x-forwarded-for': '3.3.3.3' })).status).toBe(429); // all are 127.0.0.1
    });

    test('skip: skipped requests are never limited and get no fields', async () => {
      const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.001, clock: new VirtualClock(), store: store() });
      const url = await start({ global: [{ limiter, skip: (req) => req.headers['x-internal'] === 'yes' }] });
      for (let i = 0; i < 3; i++) {
        const reply = await get(url, { 'x-internal': 'yes' });
        expect(reply.status).toBe(200);
        expect(reply.headers.get('ratelimit')).toBeNull();
      }
      expect((await get(url)).status).toBe(200);
      expect((await get(url)).status).toBe(429);
    });

    test('per-route limits add members to the lists; routes without limits get none', async () => {
      const clock = new VirtualClock();
      const global = tokenBucket({ capacity: 100, refillPerSecond: 10, clock, store: store() });
      const strict = slidingWindow({ limit: 1, windowMs: 60_000, clock, store: store() });
      const url = await start({
        global: [{ limiter: global, name: 'global' }],
        routes: { '/strict': [{ limiter: strict, name: 'strict' }], '/health': false },
      });
      const first = await get(`${url}/strict`);
      expect(first.status).toBe(200);
      expect(members(first.headers.get('ratelimit-policy'))).toEqual([
        ['global', { q: 100, w: 10 }],
        ['strict', { q: 1, w: 60 }],
      ]);
      expect(members(first.headers.get('ratelimit'))).toEqual([
        ['global', { r: 99, t: 1 }],
        ['strict', { r: 0, t: 60 }],
      ]);
      const refused = await get(`${url}/strict`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect(JSON.parse(refused.body)['violated-policies']).toEqual(['strict']);
      const other = await get(`${url}/a`);
      expect(other.status).toBe(200);
      expect(members(other.headers.get('ratelimit')).map(([name]) => name)).toEqual(['global']);
      const health = await get(`${url}/health`);
      expect(health.status).toBe(200);
      expect(health.headers.get('ratelimit')).toBeNull();
    });

    test('bad key, cost and enormous costs: a 500 or a documented 429, never a bypass', async () => {
      const clock = new VirtualClock();
      const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1, clock, store: store() });
      const url = await start({
        global: [
          {
            limiter,
            key: (req) => {
              const mode = req.headers['x-mode'];
              if (mode === 'throw') throw new Error('no user');
              if (mode === 'number') return 42 as unknown as string;
              return 'k';
            },
            cost: (req) => {
              const cost = req.headers['x-cost'];
              return cost === undefined ? 1 : Number(cost);
            },
          },
        ],
      });
      expect((await get(url, { 'x-mode': 'throw' })).status).toBe(500);
      expect((await get(url, { 'x-mode': 'number' })).status).toBe(500);
      expect((await get(url, { 'x-cost': '1.5' })).status).toBe(500);
      expect((await get(url, { 'x-cost': '-1' })).status).toBe(500);
      const huge = await get(url, { 'x-cost': '1000000' });
      expect(huge.status).toBe(429);
      expect(huge.headers.get('retry-after')).toBeNull();
      expect(members(huge.headers.get('ratelimit'))).toEqual([['5-in-5s', { r: 5 }]]);
      expect(JSON.parse(huge.body).detail).toMatch(/can never be allowed/);
      const ok = await get(url, { 'x-cost': '5' });
      expect(ok.status).toBe(200);
      expect(members(ok.headers.get('ratelimit'))).toEqual([['5-in-5s', { r: 0, t: 5 }]]);
    });

    test('older header styles and none', async () => {
      const clock = new VirtualClock({ wallStart: 1_700_000_000_000 });
      const expected: Record<string, Record<string, string | null>> = {
        'draft-7': { 'ratelimit-policy': '2;w=20', ratelimit: 'limit=2, remaining=1, reset=10' },
        'draft-6': {
          'ratelimit-policy': '2;w=20',
          'ratelimit-limit': '2',
          'ratelimit-remaining': '1',
          'ratelimit-reset': '10',
        },
        legacy: {
          'x-ratelimit-limit': '2',
          'x-ratelimit-remaining': '1',
          'x-ratelimit-reset': String(1_700_000_000 + 10),
          ratelimit: null,
        },
        none: { ratelimit: null, 'ratelimit-policy': null, 'x-ratelimit-limit': null },
      };
      for (const [style, fields] of Object.entries(expected)) {
        const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.1, clock, store: store() });
        const url = await start({ global: [{ limiter }], response: { headers: style as 'draft-7' } });
        const reply = await get(url);
        for (const [name, value] of Object.entries(fields))
          expect([style, name, reply.headers.get(name)]).toEqual([style, name, value]);
        await get(url);
        const refused = await get(url);
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toBe('10');
        await running?.close();
        running = undefined;
      }
    });
  });

  describe(`${harness.name}: store failures`, () => {
    const cases: [FailureKind, 'allow' | 'reject'][] = [
      ['rejects', 'allow'],
      ['rejects', 'reject'],
      ['throws', 'allow'],
      ['throws', 'reject'],
      ['hangs', 'allow'],
      ['hangs', 'reject'],
    ];
    test.each(cases)('a store that %s, storeFailure %s: reported, then answered as configured', async (kind, storeFailure) => {
      const clock = new VirtualClock();
      const failing = new FailingStore(kind);
      if (kind === 'hangs') failing.onTake = () => clock.advance(250);
      const limiter = tokenBucket({ capacity: 10, refillPerSecond: 1, clock, store: failing });
      const reported: [string, string, string][] = [];
      const url = await start({
        global: [{ limiter, name: 'api' }],
        response: {
          storeFailure,
          storeTimeoutMs: 250,
          onStoreError: (error, _req, info) => reported.push([(error as Error).message, info.key, info.action]),
        },
      });
      for (let i = 0; i < 2; i++) {
        const reply = await get(url);
        if (storeFailure === 'allow') {
          expect(reply.status).toBe(200);
          expect(reply.headers.get('ratelimit')).toBeNull();
        } else {
          expect(reply.status).toBe(503);
          expect(reply.headers.get('retry-after')).toBe('1');
          expect(JSON.parse(reply.body)).toMatchObject({ status: 503, title: 'Service Unavailable' });
        }
      }
      const message = {
        rejects: 'ECONNREFUSED 127.0.0.1:6379',
        throws: 'store exploded',
        hangs: 'Operation timed out after 250 ms',
      }[kind];
      expect(reported).toEqual([
        [message, 'ip:127.0.0.1', storeFailure],
        [message, 'ip:127.0.0.1', storeFailure],
      ]);
      expect(failing.taken).toBe(2);
      expect(clock.pendingTimers).toBe(0);
    });

    test('an onStoreError that throws changes nothing for the request', async () => {
      const limiter = tokenBucket({
        capacity: 10,
        refillPerSecond: 1,
        clock: new VirtualClock(),
        store: new FailingStore('rejects'),
      });
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      try {
        const url = await start({
          global: [{ limiter }],
          response: {
            onStoreError: () => {
              throw new Error('logger down');
            },
          },
        });
        expect((await get(url)).status).toBe(200);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.some((w) => w.includes('logger down'))).toBe(true);
    });
  });

  describe(`${harness.name}: load shedding`, () => {
    test('a burst beyond the bulkhead gets 503 + Retry-After at once, and the server recovers', async () => {
      const pool = bulkhead({ maxConcurrent: 5 });
      const acquired = counter(pool, 'acquired');
      const rejected = counter(pool, 'rejected');
      const released = counter(pool, 'released');
      const held = gate();
      const url = await start({ loadShedding: { bulkhead: pool, retryAfter: 3 }, gate: held.wait });
      const burst = Array.from({ length: 20 }, () => get(url));
      await Promise.all([acquired(5), rejected(15)]);
      expect(pool.running).toBe(5);
      held.open();
      const replies = await Promise.all(burst);
      const shed = replies.filter((r) => r.status === 503);
      expect(replies.filter((r) => r.status === 200)).toHaveLength(5);
      expect(shed).toHaveLength(15);
      for (const reply of shed) {
        expect(reply.headers.get('retry-after')).toBe('3');
        expect(JSON.parse(reply.body).type).toBe('https://iana.org/assignments/http-problem-types#temporary-reduced-capacity');
      }
      await released(5);
      expect(pool.running).toBe(0);
      const again = await Promise.all(Array.from({ length: 5 }, () => get(url)));
      expect(again.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      await released(10);
      expect(pool.running).toBe(0);
    });

    test('with a queue: waiters are served in turn, beyond the queue requests are shed', async () => {
      const pool = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      const acquired = counter(pool, 'acquired');
      const queued = counter(pool, 'queued');
      const rejected = counter(pool, 'rejected');
      const held = gate();
      const url = await start({ loadShedding: { bulkhead: pool }, gate: held.wait });
      const first = get(url);
      await acquired(1);
      const second = get(url);
      await queued(1);
      const third = await get(url);
      await rejected(1);
      expect(third.status).toBe(503);
      held.open();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
    });

    test('a client that disconnects releases its slot', async () => {
      const pool = bulkhead({ maxConcurrent: 1 });
      const acquired = counter(pool, 'acquired');
      const released = counter(pool, 'released');
      const held = gate();
      const url = await start({ loadShedding: { bulkhead: pool }, gate: held.wait });
      const controller = new AbortController();
      const aborted = get(url, {}, controller.signal).catch((error: unknown) => error);
      await acquired(1);
      controller.abort();
      await aborted;
      await released(1);
      expect(pool.running).toBe(0);
      held.open();
    });
  });
}
