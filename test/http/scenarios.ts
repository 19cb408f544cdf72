/**
 * The adapter scenarios, run against each framework (test/express, test/fastify) and each store with real
 * HTTP requests on loopback. With the memory stores time is a VirtualClock injected into the limiters; the
 * Redis store decides on the Redis server's clock, so its variant adapts the scenarios that advance time
 * (see ScenarioTime and RedisStoreCase) and adds Redis really failing (a paused server).
 */
import { get as httpGet } from 'node:http';
import { parseList } from 'structured-headers';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { bulkhead, type Clock, memoryStore, slidingWindow, systemClock, tokenBucket, VirtualClock } from '../../src/index.js';
import {
  type AnyRequest,
  asyncStore,
  FailingStore,
  type FailureKind,
  type Harness,
  type Running,
  type Setup,
  type StoreCase,
} from './harness.js';
import { RedisStoreCase } from './redis-case.js';

/** The stores every scenario runs against; fresh per framework (the Redis case owns a redis-server). */
export function storeCases(): StoreCase[] {
  return [
    { name: 'memory', realTime: false, available: true, store: () => memoryStore() },
    { name: 'async memory', realTime: false, available: true, store: () => asyncStore(memoryStore()) },
    new RedisStoreCase(),
  ];
}

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

export async function get(url: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Reply> {
  const response = await fetch(url, signal === undefined ? { headers } : { headers, signal });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/**
 * Sends two requests to `url`, behind a limit of one: the first allowed, the second refused. Expects the
 * rate-limit fields and `Retry-After` to be sent with lower-case names (as node:http shows them; fetch
 * lower-cases every name).
 */
export async function expectLowerCaseFieldNames(url: string): Promise<void> {
  const allowed = await sentFieldNames(url);
  const refused = await sentFieldNames(url);
  expect([allowed.status, refused.status]).toEqual([200, 429]);
  expect(allowed.names).toEqual(expect.arrayContaining(['ratelimit-policy', 'ratelimit']));
  expect(refused.names).toEqual(expect.arrayContaining(['ratelimit-policy', 'ratelimit', 'retry-after']));
  const mixedCase = [...allowed.names, ...refused.names].filter(
    (n) => /^(ratelimit|retry-after)/i.test(n) && n !== n.toLowerCase(),
  );
  expect(mixedCase).toEqual([]);
}

/** The field names of a response as the server sent them (fetch lower-cases them; node:http keeps them). */
function sentFieldNames(url: string): Promise<{ status: number; names: string[] }> {
  return new Promise((resolve, reject) => {
    httpGet(url, (response) => {
      response.resume();
      const raw = response.rawHeaders;
      resolve({ status: response.statusCode ?? 0, names: raw.filter((_, i) => i % 2 === 0) });
    }).on('error', reject);
  });
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
  const stop = async (): Promise<void> => {
    await running?.close();
    running = undefined;
  };
  afterEach(stop);

  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  for (const storeCase of storeCases()) {
    describe.skipIf(!storeCase.available)(`${harness.name}, ${storeCase.name} store`, () => {
      storeScenarios(storeCase, start, stop);
    });
  }
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

  test(`${harness.name}: two limits with the same default name send two distinct members`, async () => {
    const clock = new VirtualClock();
    // Both default to "20-in-1s"; the route's limit takes its whole quota per request.
    const global = tokenBucket({ capacity: 20, refillPerSecond: 20, clock });
    const route = tokenBucket({ capacity: 20, refillPerSecond: 20, clock });
    const url = await start({ global: [{ limiter: global }], routes: { '/strict': [{ limiter: route, cost: 20 }] } });
    const first = await get(`${url}/strict`);
    expect(first.status).toBe(200);
    expect(members(first.headers.get('ratelimit-policy'))).toEqual([
      ['20-in-1s', { q: 20, w: 1 }],
      ['20-in-1s-2', { q: 20, w: 1 }],
    ]);
    expect(members(first.headers.get('ratelimit'))).toEqual([
      ['20-in-1s', { r: 19, t: 1 }],
      ['20-in-1s-2', { r: 0, t: 1 }],
    ]);
    const refused = await get(`${url}/strict`);
    expect(refused.status).toBe(429);
    expect(members(refused.headers.get('ratelimit')).map(([name]) => name)).toEqual(['20-in-1s', '20-in-1s-2']);
    expect(JSON.parse(refused.body)).toMatchObject({
      'violated-policies': ['20-in-1s-2'],
      detail: 'Rate limit "20-in-1s-2" exceeded; retry after 1 s.',
    });
    // A route with one of them only: its own name, no suffix.
    expect(members((await get(`${url}/a`)).headers.get('ratelimit')).map(([name]) => name)).toEqual(['20-in-1s']);
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

/**
 * Time in one scenario. With a VirtualClock (memory stores) delays are exact. In real time (Redis decides on
 * its own clock) a delay the server reports counts down while the test runs, so it is checked against the
 * real time elapsed since the stopwatch started (before the limiter's first take): a value that is `exact`
 * seconds at that instant is reported, rounded up, as at least `ceil(exact - elapsed)` and at most `exact`.
 */
class ScenarioTime {
  readonly clock: Clock;
  readonly virtual: VirtualClock | undefined;
  private started = performance.now();

  constructor(realTime: boolean, wallStart?: number) {
    this.virtual = realTime ? undefined : new VirtualClock(wallStart === undefined ? {} : { wallStart });
    this.clock = this.virtual ?? systemClock;
  }

  /** Restarts the stopwatch, before a new limiter's first take. */
  restart(): void {
    this.started = performance.now();
  }

  /** Checks delay-seconds `actual` that was `exact` when the stopwatch started; returns it. */
  expectSeconds(actual: unknown, exact: number): number {
    expect(typeof actual).toBe('number');
    const value = actual as number;
    if (this.virtual !== undefined) expect(value).toBe(exact);
    else {
      const elapsed = (performance.now() - this.started) / 1000;
      expect(value).toBeGreaterThanOrEqual(Math.ceil(exact - elapsed));
      expect(value).toBeLessThanOrEqual(exact);
    }
    return value;
  }

  /** Checks the draft-10 `RateLimit` members: names and `r` exactly, `t` as {@link expectSeconds} (or absent). */
  expectQuota(reply: Reply, expected: [name: string, r: number, t?: number][]): void {
    const got = members(reply.headers.get('ratelimit'));
    expect(got.map(([name, params]) => [name, params.r])).toEqual(expected.map(([name, r]) => [name, r]));
    expect(got.map(([, params]) => Object.keys(params).sort())).toEqual(
      expected.map(([, , t]) => (t === undefined ? ['r'] : ['r', 't'])),
    );
    got.forEach(([, params], i) => {
      const t = (expected[i] as [string, number, number?])[2];
      if (t !== undefined) this.expectSeconds(params.t, t);
    });
  }
}

/** The store scenarios for one store case (its own redis-server for Redis, started before and stopped after). */
function storeScenarios(storeCase: StoreCase, start: (setup: Setup) => Promise<string>, stop: () => Promise<void>): void {
  const redis = storeCase instanceof RedisStoreCase ? storeCase : undefined;
  const store = () => storeCase.store();
  if (storeCase.setup !== undefined) beforeAll(() => storeCase.setup?.(), 30_000);
  if (storeCase.teardown !== undefined) afterAll(() => storeCase.teardown?.());
  if (redis !== undefined) {
    afterEach(() => {
      // A scenario that silently ran on the store's onError would not have tested Redis at all.
      const fallbacks = redis.fallbacks.splice(0);
      expect(fallbacks).toEqual([]);
    });
  }

  test('limits per key, with draft-10 fields, 429, problem details and an honest Retry-After', async () => {
    const time = new ScenarioTime(storeCase.realTime);
    // Seconds per token. In real time one token per hour: the test's own duration cannot refill one.
    const unit = storeCase.realTime ? 3600 : 2;
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1 / unit, clock: time.clock, store: store() });
    const url = await start({ global: [{ limiter, name: 'api', key: byUser }] });

    const first = await get(`${url}/a`, user('alice'));
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe(`"api";q=2;w=${2 * unit}`);
    expect(members(first.headers.get('ratelimit-policy'))).toEqual([['api', { q: 2, w: 2 * unit }]]);
    time.expectQuota(first, [['api', 1, unit]]);
    expect(first.headers.get('retry-after')).toBeNull();

    const second = await get(`${url}/a`, user('alice'));
    time.expectQuota(second, [['api', 0, 2 * unit]]);

    // On Redis the refusal's Retry-After is also checked against Redis's own state, to the second: refused
    // one second before it, allowed at it (its clock cannot be advanced; see below for the VirtualClock).
    const send = () => get(`${url}/a`, user('alice'));
    const refused = await (redis === undefined ? send() : redis.expectExactRetryAfter(limiter, 'alice', send));
    expect(refused.status).toBe(429);
    const retryAfter = time.expectSeconds(Number(refused.headers.get('retry-after')), unit);
    time.expectQuota(refused, [['api', 0, unit]]);
    expect(members(refused.headers.get('ratelimit'))[0]?.[1].t).toBe(retryAfter);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(refused.body)).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Too Many Requests',
      status: 429,
      detail: `Rate limit "api" exceeded; retry after ${retryAfter} s.`,
      'violated-policies': ['api'],
    });

    // Another key has its own budget.
    expect((await get(`${url}/a`, user('bob'))).status).toBe(200);
    if (time.virtual !== undefined) {
      // Just before Retry-After: still refused; at Retry-After: allowed.
      time.virtual.advance(unit * 1000 - 1);
      expect((await get(`${url}/a`, user('alice'))).status).toBe(429);
      time.virtual.advance(1);
      expect((await get(`${url}/a`, user('alice'))).status).toBe(200);
    }
  });

  test('Retry-After is never earlier than t, and waiting it is always enough (sliding window)', async () => {
    const time = new ScenarioTime(storeCase.realTime);
    const windowMs = storeCase.realTime ? 3_600_000 : 10_000;
    const limiter = slidingWindow({ limit: 3, windowMs, clock: time.clock, store: store() });
    const url = await start({ global: [{ limiter, name: 'w' }] });
    const refusedFields = (reply: Reply) => {
      const [[, params]] = members(reply.headers.get('ratelimit')) as [[string, { r: number; t?: number }]];
      const retryAfter = Number(reply.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(params.t as number);
      return retryAfter;
    };
    if (redis !== undefined) {
      // Redis's clock cannot be advanced, so the schedule below collapses to one burst: the limit passes,
      // the next request is refused, and "waiting Retry-After is enough" is checked on Redis's state.
      for (let i = 0; i < 3; i++) expect((await get(url)).status).toBe(200);
      const refused = await redis.expectExactRetryAfter(limiter, 'ip:127.0.0.1', () => get(url));
      time.expectSeconds(refusedFields(refused), windowMs / 1000);
      return;
    }
    const clock = time.virtual as VirtualClock;
    const steps = [0, 1_300, 2_100, 0, 4_000, 250, 7_000, 0, 0, 3_333];
    let refusals = 0;
    for (const step of steps) {
      clock.advance(step);
      const reply = await get(url);
      if (reply.status === 429) {
        refusals++;
        clock.advance(refusedFields(reply) * 1000);
        expect((await get(url)).status).toBe(200);
      }
    }
    expect(refusals).toBeGreaterThan(0);
  });

  test('IPv6 clients are grouped by /64 and IPv4-mapped addresses reduced (trust proxy on)', async () => {
    const time = new ScenarioTime(storeCase.realTime);
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.001, clock: time.clock, store: store() });
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
    const time = new ScenarioTime(storeCase.realTime);
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.001, clock: time.clock, store: store() });
    const url = await start({ global: [{ limiter }] });
    expect((await get(url, { 'x-forwarded-for': '1.1.1.1' })).status).toBe(200);
    expect((await get(url, { 'x-forwarded-for': '2.2.2.2' })).status).toBe(200);
    expect((await get(url, { 'x-forwarded-for': '3.3.3.3' })).status).toBe(429); // all are 127.0.0.1
  });

  test('skip: skipped requests are never limited and get no fields', async () => {
    const time = new ScenarioTime(storeCase.realTime);
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.001, clock: time.clock, store: store() });
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
    const time = new ScenarioTime(storeCase.realTime);
    const global = tokenBucket({ capacity: 100, refillPerSecond: 10, clock: time.clock, store: store() });
    const strict = slidingWindow({ limit: 1, windowMs: 60_000, clock: time.clock, store: store() });
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
    // Each limiter's first take: exact on either clock.
    expect(members(first.headers.get('ratelimit'))).toEqual([
      ['global', { r: 99, t: 1 }],
      ['strict', { r: 0, t: 60 }],
    ]);
    const send = () => get(`${url}/strict`);
    const refused = await (redis === undefined ? send() : redis.expectExactRetryAfter(strict, 'ip:127.0.0.1', send));
    expect(refused.status).toBe(429);
    time.expectSeconds(Number(refused.headers.get('retry-after')), 60);
    expect(JSON.parse(refused.body)['violated-policies']).toEqual(['strict']);
    const other = await get(`${url}/a`);
    expect(other.status).toBe(200);
    expect(members(other.headers.get('ratelimit')).map(([name]) => name)).toEqual(['global']);
    const health = await get(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('ratelimit')).toBeNull();
  });

  test('bad key, cost and enormous costs: a 500 or a documented 429, never a bypass', async () => {
    const time = new ScenarioTime(storeCase.realTime);
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1, clock: time.clock, store: store() });
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
    // The refusals above took nothing: this is the key's first take, exact on either clock.
    const ok = await get(url, { 'x-cost': '5' });
    expect(ok.status).toBe(200);
    expect(members(ok.headers.get('ratelimit'))).toEqual([['5-in-5s', { r: 0, t: 5 }]]);
  });

  test('older header styles and none', async () => {
    const wallStart = 1_700_000_000_000;
    const time = new ScenarioTime(storeCase.realTime, wallStart);
    // Seconds per token (one per hour in real time, as above); a key is full after 2 of them.
    const unit = storeCase.realTime ? 3600 : 10;
    const styles = ['draft-7', 'draft-6', 'legacy', 'none'] as const;
    const expected = (style: (typeof styles)[number]): Record<string, string | null> =>
      ({
        'draft-7': { 'ratelimit-policy': `2;w=${2 * unit}`, ratelimit: `limit=2, remaining=1, reset=${unit}` },
        'draft-6': {
          'ratelimit-policy': `2;w=${2 * unit}`,
          'ratelimit-limit': '2',
          'ratelimit-remaining': '1',
          'ratelimit-reset': String(unit),
        },
        legacy: { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', ratelimit: null },
        none: { ratelimit: null, 'ratelimit-policy': null, 'x-ratelimit-limit': null },
      })[style];
    for (const style of styles) {
      const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1 / unit, clock: time.clock, store: store() });
      const url = await start({ global: [{ limiter }], response: { headers: style } });
      time.restart();
      const wallBefore = time.clock.wallNow();
      const reply = await get(url);
      const wallAfter = time.clock.wallNow();
      for (const [name, value] of Object.entries(expected(style)))
        expect([style, name, reply.headers.get(name)]).toEqual([style, name, value]);
      if (style === 'legacy') {
        // Unix seconds of the reset: the wall clock when the response was made, rounded up, plus t.
        const reset = Number(reply.headers.get('x-ratelimit-reset'));
        if (time.virtual !== undefined) expect(reset).toBe(wallStart / 1000 + unit);
        expect(reset).toBeGreaterThanOrEqual(Math.ceil(wallBefore / 1000) + unit);
        expect(reset).toBeLessThanOrEqual(Math.ceil(wallAfter / 1000) + unit);
      }
      await get(url);
      const refused = await get(url);
      expect(refused.status).toBe(429);
      time.expectSeconds(Number(refused.headers.get('retry-after')), unit);
      await stop();
    }
  });

  if (redis !== undefined) redisFailureScenarios(redis, start);
}

/**
 * Redis really failing: the server is paused (SIGSTOP: connections stay open and nothing answers, the
 * hardest failure to notice). Each `onError` mode of the store must answer within the store's `timeoutMs`
 * (the adapter's own backstop, `storeTimeoutMs`, is set far higher and to 'reject', so reaching it would
 * show as a late 503 and an `onStoreError` call), and after `resume()` decisions come from Redis again.
 */
function redisFailureScenarios(redis: RedisStoreCase, start: (setup: Setup) => Promise<string>): void {
  const TIMEOUT_MS = 100;
  /** Scheduling slack on a loaded machine; a request waiting for Redis to come back would exceed it. */
  const SLACK_MS = 900;
  const modes = ['allow', 'deny', 'limiter'] as const;

  test.each(modes)('Redis paused, onError %s: the documented answer within timeoutMs, then Redis again', async (mode) => {
    const time = new ScenarioTime(true);
    const local = tokenBucket({ capacity: 2, refillPerSecond: 1 / 3600 }); // memory store: this process only
    // Three timeouts in a row would suspend the store for a while (the subject of test/redis/suspend.test.ts);
    // here the next decision after the resume must be Redis's.
    const store = redis.failingStore(mode === 'limiter' ? local : mode, TIMEOUT_MS, { suspendAfter: 4 });
    const fallbacks: string[] = [];
    const recovered: number[] = [];
    store.on('fallback', (event) => fallbacks.push(`${event.cause}:${event.action}`));
    store.on('recovered', (event) => recovered.push(event.fallbacks));
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 / 3600, store });
    const storeErrors: unknown[] = [];
    const url = await start({
      global: [{ limiter, name: 'api' }],
      response: { storeFailure: 'reject', storeTimeoutMs: 10_000, onStoreError: (error) => storeErrors.push(error) },
    });
    time.expectQuota(await get(url), [['api', 4, 3600]]); // Redis answers (and has the script loaded)

    const timedGet = async () => {
      const sent = performance.now();
      const reply = await get(url);
      return { reply, ms: performance.now() - sent };
    };
    time.restart();
    redis.redis.pause();
    let during: { reply: Reply; ms: number }[];
    try {
      during = await Promise.all([timedGet(), timedGet(), timedGet()]);
    } finally {
      redis.redis.resume();
    }
    for (const { ms } of during) expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    const replies = during.map(({ reply }) => reply);
    const action = mode === 'limiter' ? 'limiter' : mode;
    expect(fallbacks).toEqual([`timeout:${action}`, `timeout:${action}`, `timeout:${action}`]);
    expect(storeErrors).toEqual([]); // the store decided; the adapter never saw a failure
    if (mode === 'allow') {
      // Fail open: allowed, remaining = limit − cost, and no `t` (the store knows no time to report).
      for (const reply of replies) {
        expect(reply.status).toBe(200);
        expect(members(reply.headers.get('ratelimit'))).toEqual([['api', { r: 4 }]]);
      }
    } else if (mode === 'deny') {
      // Fail closed: refused, Retry-After 1 s (Redis's recovery time is unknown).
      for (const reply of replies) {
        expect(reply.status).toBe(429);
        expect(reply.headers.get('retry-after')).toBe('1');
        expect(members(reply.headers.get('ratelimit'))).toEqual([['api', { r: 0, t: 1 }]]);
        expect(JSON.parse(reply.body)).toMatchObject({ status: 429, detail: 'Rate limit "api" exceeded; retry after 1 s.' });
      }
    } else {
      // The local limiter decides (2 per hour in this process): the order of concurrent requests is not fixed.
      const allowed = replies.filter((r) => r.status === 200);
      const refused = replies.filter((r) => r.status === 429);
      expect(allowed.map((r) => members(r.headers.get('ratelimit'))[0]?.[1].r).sort()).toEqual([0, 1]);
      expect(refused).toHaveLength(1);
      time.expectSeconds(Number(refused[0]?.headers.get('retry-after')), 3600);
    }

    // Resumed: the next decision is Redis's again. The three timed-out takes reached Redis after all (they
    // were on the socket) and counted there before it: 5 − 1 − 3 − 1 = 0 left, and then a real refusal.
    const back = await get(url);
    expect(back.status).toBe(200);
    expect(members(back.headers.get('ratelimit'))[0]?.[1].r).toBe(0);
    expect(recovered).toEqual([3]);
    const refusedAgain = await redis.expectExactRetryAfter(limiter, 'ip:127.0.0.1', () => get(url));
    expect(Number(refusedAgain.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(fallbacks).toHaveLength(3);
  });

  test("a fail-closed store slower than the default backstop stays closed: its onError decides, not storeFailure 'allow'", async () => {
    // timeoutMs 1200 > the default storeTimeoutMs (1000): the backstop waits for the store (+ 100 ms).
    const store = redis.failingStore('deny', 1200);
    const fallbacks: string[] = [];
    store.on('fallback', (event) => fallbacks.push(`${event.cause}:${event.action}`));
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 / 3600, store });
    const storeErrors: unknown[] = [];
    const url = await start({
      global: [{ limiter, name: 'api' }],
      response: { onStoreError: (error) => storeErrors.push(error) },
    });
    expect((await get(url)).status).toBe(200);
    redis.redis.pause();
    let reply: Reply;
    try {
      reply = await get(url);
    } finally {
      redis.redis.resume();
    }
    expect([reply.status, reply.headers.get('retry-after')]).toEqual([429, '1']);
    expect(fallbacks).toEqual(['timeout:deny']);
    expect(storeErrors).toEqual([]);
  });

  test("an explicit storeTimeoutMs shorter than the store's own timeoutMs (+ 100 ms) is refused at construction", async () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1, store: redis.failingStore('deny', 1200) });
    await expect(start({ global: [{ limiter, name: 'api' }], response: { storeTimeoutMs: 1000 } })).rejects.toThrow(
      /option "storeTimeoutMs" \(1000\) must be at least the store's own timeoutMs \(1200\) \+ 100 for limit "api"/,
    );
    const ok = tokenBucket({ capacity: 5, refillPerSecond: 1, store: redis.failingStore('deny', 1200) });
    const url = await start({ global: [{ limiter: ok, name: 'api' }], response: { storeTimeoutMs: 1300 } });
    expect((await get(url)).status).toBe(200);
  });
}
