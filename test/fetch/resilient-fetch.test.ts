import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { FetchNetworkError, isFetchNetworkError, resilientFetch } from '../../adapters/fetch/index.js';
import {
  isBulkheadFullError,
  isCircuitOpenError,
  isRateLimitedError,
  isTimeoutError,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';
import { drive, rejectionOf } from './helpers.js';
import { startServer, type TestServer } from './server.js';

let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  a = await startServer();
  b = await startServer();
});

afterAll(async () => {
  await a.close();
  await b.close();
});

afterEach(() => {
  // Every test consumes what it scripts; a leftover would leak into the next test.
  expect([a.unused, b.unused]).toEqual([0, 0]);
});

/** Requests `server` got since `from`. */
function since(server: TestServer, from: number) {
  return server.requests.slice(from);
}

/** A one-shot body: a stream of these chunks. */
function chunks(...parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
      controller.close();
    },
  });
}

/** A fetch on a virtual clock with immediate backoff (delays then come from the server's hints only). */
function clocked(options: Parameters<typeof resilientFetch>[0] = {}) {
  const clock = new VirtualClock({ wallStart: Date.UTC(2025, 0, 15, 12, 0, 0) });
  const delays: number[] = [];
  const fetch = resilientFetch({ clock, retry: { backoff: 0 }, circuitBreaker: false, ...options });
  fetch.retry?.on('retry', ({ delayMs }) => delays.push(delayMs));
  return { clock, fetch, delays };
}

describe('retries and their delays', () => {
  test('503 with Retry-After (delta-seconds): waits exactly the hint, then returns the final response untouched', async () => {
    const { clock, fetch, delays } = clocked();
    const from = a.requests.length;
    a.script({ status: 503, headers: { 'retry-after': '2' }, body: 'busy' }, { status: 200, body: 'hello' });
    const response = await drive(clock, fetch(a.url('/r1')));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello');
    expect(delays).toEqual([2000]);
    expect(clock.now()).toBe(2000);
    expect(since(a, from).map((r) => r.path)).toEqual(['/r1', '/r1']);
    expect(clock.pendingTimers).toBe(0);
  });

  test('Retry-After as an HTTP-date is read against the clock', async () => {
    const { clock, fetch, delays } = clocked();
    const at = new Date(clock.wallNow() + 3000).toUTCString();
    a.script({ status: 503, headers: { 'retry-after': at } }, { status: 200 });
    expect((await drive(clock, fetch(a.url('/date')))).status).toBe(200);
    expect(delays).toEqual([3000]);
  });

  test('429 with the RateLimit field: waits t seconds; Retry-After takes precedence; maxDelayMs caps both', async () => {
    const { clock, fetch, delays } = clocked({ retry: { backoff: 0, maxDelayMs: 10_000 } });
    a.script(
      { status: 429, headers: { ratelimit: '"burst";r=0;t=4, "daily";r=50;t=3600' } },
      { status: 429, headers: { ratelimit: '"burst";r=0;t=4', 'retry-after': '1' } },
      { status: 503, headers: { ratelimit: '"default";r=0;t=60' } },
      { status: 200 },
    );
    const response = await drive(clock, fetch(a.url('/limited'), { headers: { accept: 'text/plain' } }));
    expect(response.status).toBe(503); // 3 attempts: the last response is returned
    expect(delays).toEqual([4000, 1000]);
    a.script(); // the 200 is still queued: consume it
    await (await fetch(a.url('/drain'))).text();
    const capped = clocked({ retry: { backoff: 0, maxDelayMs: 5_000 } });
    a.script({ status: 429, headers: { ratelimit: '"default";r=0;t=60' } }, { status: 200 });
    expect((await drive(capped.clock, capped.fetch(a.url('/cap')))).status).toBe(200);
    expect(capped.delays).toEqual([5000]);
  });

  test('a RateLimit field on other statuses, or a malformed one, adds no wait', async () => {
    const { clock, fetch, delays } = clocked({ retry: { backoff: 0, statuses: [500, 429] } });
    a.script(
      { status: 500, headers: { ratelimit: '"default";r=0;t=60' } },
      { status: 429, headers: { ratelimit: 'limit=10, remaining=0, reset=60' } },
      { status: 200 },
    );
    expect((await drive(clock, fetch(a.url('/x')))).status).toBe(200);
    expect(delays).toEqual([0, 0]);
  });

  test('retries run out: the last response is returned as it came, body intact', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ status: 502, body: 'one' }, { status: 503, body: 'two' }, { status: 504, body: 'three' });
    const response = await drive(clock, fetch(a.url('/down')));
    expect(response.status).toBe(504);
    expect(await response.text()).toBe('three');
    expect(since(a, from)).toHaveLength(3);
  });

  test('only the configured statuses are retried: 404 is final by default', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ status: 404, body: 'no' });
    expect((await drive(clock, fetch(a.url('/missing')))).status).toBe(404);
    expect(since(a, from)).toHaveLength(1);
    const custom = clocked({ retry: { backoff: 0, statuses: [404] } });
    a.script({ status: 404 }, { status: 200 });
    expect((await drive(custom.clock, custom.fetch(a.url('/missing')))).status).toBe(200);
  });

  test('dropped connections are retried; when they keep failing, a FetchNetworkError names the request', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ drop: true }, { drop: true }, { status: 200, body: 'finally' });
    const ok = await drive(clock, fetch(a.url('/flaky')));
    expect(await ok.text()).toBe('finally');
    expect(since(a, from)).toHaveLength(3);

    a.script({ drop: true }, { drop: true }, { drop: true });
    const error = await rejectionOf(drive(clock, fetch(a.url('/flaky?token=secret'), { method: 'DELETE' })));
    expect(error).toBeInstanceOf(FetchNetworkError);
    expect(error).toBeInstanceOf(TypeError);
    expect(isFetchNetworkError(error)).toBe(true);
    expect(error.attempts).toBe(3);
    expect(error.message).toContain(`DELETE ${a.origin}/flaky?…`);
    expect(error.message).not.toContain('secret');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  test('connection refused: the cause is kept', async () => {
    const closed = await startServer();
    const url = closed.url('/gone');
    await closed.close();
    const { clock, fetch } = clocked({ retry: { backoff: 0, maxAttempts: 2 } });
    const error = await rejectionOf(drive(clock, fetch(url)));
    expect(error).toBeInstanceOf(FetchNetworkError);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.attempts).toBe(2);
  });
});

describe('what may be sent twice', () => {
  test('POST is not retried, on a 503 or on a dropped connection', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ status: 503, body: 'busy' });
    const response = await drive(clock, fetch(a.url('/orders'), { method: 'POST', body: 'order' }));
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('busy');
    a.script({ drop: true });
    const error = await rejectionOf(drive(clock, fetch(a.url('/orders'), { method: 'POST', body: 'order' })));
    expect(error).toBeInstanceOf(FetchNetworkError);
    expect(error.notRetried).toBe('method');
    expect(error.message).toMatch(/not retried: POST is not idempotent/);
    expect(since(a, from)).toHaveLength(2);
  });

  test('POST with an Idempotency-Key is retried, with the same body and key each time', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ status: 503 }, { drop: true }, { status: 201 });
    const response = await drive(
      clock,
      fetch(a.url('/orders'), { method: 'POST', body: '{"id":7}', headers: { 'Idempotency-Key': 'k-7' } }),
    );
    expect(response.status).toBe(201);
    const seen = since(a, from);
    expect(seen.map((r) => [r.method, r.body, r.headers['idempotency-key']])).toEqual([
      ['POST', '{"id":7}', 'k-7'],
      ['POST', '{"id":7}', 'k-7'],
      ['POST', '{"id":7}', 'k-7'],
    ]);
  });

  test('a stream body is sent once, even with an idempotent method', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('chunk'));
          controller.close();
        },
      });
    a.script({ status: 503 });
    const init = { method: 'PUT', body: stream(), duplex: 'half' } as RequestInit;
    expect((await drive(clock, fetch(a.url('/upload'), init))).status).toBe(503);
    a.script({ drop: true });
    const error = await rejectionOf(
      drive(clock, fetch(a.url('/upload'), { method: 'PUT', body: stream(), duplex: 'half' } as RequestInit)),
    );
    expect(error.notRetried).toBe('stream');
    expect(error.message).toMatch(/one-shot stream/);
    expect(since(a, from).map((r) => r.body)).toEqual(['chunk', 'chunk']);
  });

  test('a Request with a stream body is sent once, as it is: the server sees the stream once', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ status: 503 }, { drop: true });
    const request = new Request(a.url('/upload'), {
      method: 'PUT',
      body: chunks('part1', 'part2'),
      duplex: 'half',
    } as RequestInit);
    const response = await drive(clock, fetch(request));
    expect(response.status).toBe(503);
    const dropped = new Request(a.url('/upload'), { method: 'PUT', body: chunks('again'), duplex: 'half' } as RequestInit);
    const error = await rejectionOf(drive(clock, fetch(dropped)));
    expect(error).toBeInstanceOf(FetchNetworkError);
    expect(error.attempts).toBe(1);
    expect(error.notRetried).toBe('request-body');
    expect(error.message).toMatch(/not retried: a Request's body is a stream .* retry\.replayRequestBodies/);
    expect(since(a, from).map((r) => r.body)).toEqual(['part1part2', 'again']);
  });

  test('a Request with any body is not cloned and not retried by default (its source is not observable)', async () => {
    const inputs: unknown[] = [];
    const fetch = resilientFetch({
      retry: { backoff: 0 },
      fetch: async (input) => {
        inputs.push(input);
        return new Response('busy', { status: 503 });
      },
    });
    const request = new Request('http://example.test/doc', { method: 'PUT', body: 'version 2' });
    expect((await fetch(request)).status).toBe(503);
    expect(inputs).toEqual([request]);
    expect(inputs[0]).toBe(request); // the very object: no clone, no tee, nothing buffered
    // A Request without a body is retried as usual.
    inputs.length = 0;
    await fetch(new Request('http://example.test/doc', { method: 'DELETE' }));
    expect(inputs).toHaveLength(3);
  });

  test('retry.replayRequestBodies: a Request with a body is replayed from a clone at each attempt', async () => {
    const { clock, fetch } = clocked({ retry: { backoff: 0, replayRequestBodies: true } });
    const from = a.requests.length;
    a.script({ status: 503 }, { status: 200 });
    const request = new Request(a.url('/doc'), { method: 'PUT', body: 'version 2' });
    expect((await drive(clock, fetch(request))).status).toBe(200);
    a.script({ status: 503 }, { drop: true }, { status: 201 });
    const streamed = new Request(a.url('/upload'), { method: 'PUT', body: chunks('a', 'b'), duplex: 'half' } as RequestInit);
    expect((await drive(clock, fetch(streamed))).status).toBe(201);
    expect(since(a, from).map((r) => r.body)).toEqual(['version 2', 'version 2', 'ab', 'ab', 'ab']);
    // The opt-in does not make a POST retryable.
    a.script({ status: 503 });
    const post = new Request(a.url('/orders'), { method: 'POST', body: 'order' });
    expect((await drive(clock, fetch(post))).status).toBe(503);
    expect(since(a, from)).toHaveLength(6);
  });

  test("a body in init replaces the Request's own and is replayed by its type, without the opt-in", async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    const bodies: Array<() => BodyInit> = [
      () => 'text',
      () => new Blob(['blob']),
      () => new TextEncoder().encode('bytes').buffer as ArrayBuffer,
      () => new URLSearchParams('a=1'),
    ];
    for (const body of bodies) {
      a.script({ status: 503 }, { status: 200 });
      const request = new Request(a.url('/doc'), { method: 'PUT', body: chunks('ignored'), duplex: 'half' } as RequestInit);
      expect((await drive(clock, fetch(request, { body: body() }))).status).toBe(200);
    }
    a.script({ status: 503 }, { status: 200 });
    const form = new FormData();
    form.set('field', 'value');
    expect((await drive(clock, fetch(a.url('/form'), { method: 'PUT', body: form }))).status).toBe(200);
    const seen = since(a, from).map((r) => r.body);
    expect(seen.slice(0, 8)).toEqual(['text', 'text', 'blob', 'blob', 'bytes', 'bytes', 'a=1', 'a=1']);
    // Each send encodes the form anew, with its own boundary.
    const fields = (body: string | undefined) => body?.replace(/-+formdata-undici-\d+/g, '--boundary');
    expect(fields(seen[8])).toContain('name="field"\r\n\r\nvalue');
    expect(fields(seen[9])).toBe(fields(seen[8]));
  });

  test('a Request whose body was already read: a clear error, nothing sent', async () => {
    const { fetch } = clocked();
    const from = a.requests.length;
    const request = new Request(a.url('/doc'), { method: 'PUT', body: 'x' });
    await request.text();
    const error = await rejectionOf(fetch(request));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/body has already been read/);
    expect(since(a, from)).toHaveLength(0);
  });

  test('a request fetch refuses (GET with a body) is not retried', async () => {
    let calls = 0;
    const fetch = resilientFetch({
      retry: { backoff: 0 },
      fetch: (input, init) => {
        calls++;
        return globalThis.fetch(input, init);
      },
    });
    const error = await rejectionOf(fetch(a.url('/'), { method: 'GET', body: 'nope' }));
    expect(error).toBeInstanceOf(TypeError);
    expect(isFetchNetworkError(error)).toBe(false);
    expect(calls).toBe(1);
  });
});

describe('discarded responses', () => {
  test("a retried response's body is cancelled: an unfinished body's connection is closed at once", async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ partial: true, status: 503 }, { status: 200, body: 'ok' });
    const response = await drive(clock, fetch(a.url('/partial')));
    expect(await response.text()).toBe('ok');
    const [first, second] = since(a, from);
    await first?.settled; // without the cancel, this connection would stay open (until GC)
    expect(first?.clientClosed).toBe(true);
    expect(second?.socket).not.toBe(first?.socket);
  });

  test('a complete retried body leaves its connection reusable', async () => {
    const { clock, fetch } = clocked();
    const from = a.requests.length;
    a.script({ status: 503, body: 'busy' }, { status: 200, body: 'ok' });
    await (await drive(clock, fetch(a.url('/reuse')))).text();
    const [first] = since(a, from);
    await first?.settled;
    expect(first?.clientClosed).toBe(false); // read to its end, not cancelled in transit
    // Both connections stay open for reuse (a retry that starts at once may take a second one).
    await (await fetch(a.url('/again'))).text();
    const sockets = since(a, from).map((r) => r.socket);
    expect(sockets[2]).toBeOneOf(sockets.slice(0, 2));
    expect(a.closedSockets.has(first?.socket as number)).toBe(false);
  });
});

describe('timeouts and aborts', () => {
  test('the per-attempt timeout aborts the request: the server sees the connection close', async () => {
    const clock = new VirtualClock();
    const fetch = resilientFetch({ clock, timeoutMs: 1000, retry: { backoff: 0, maxAttempts: 2 }, circuitBreaker: false });
    const from = a.requests.length;
    a.script({ hang: true }, { hang: true });
    const pending = rejectionOf(fetch(a.url('/slow')));
    await a.received(from + 1);
    await clock.advanceAsync(1000);
    await a.received(from + 2);
    await clock.advanceAsync(1000);
    const error = await pending;
    expect(isTimeoutError(error)).toBe(true);
    expect(error.message).toBe(`Operation timed out after 1000 ms (GET ${a.origin}/slow)`);
    const seen = since(a, from);
    await Promise.all(seen.map((r) => r.settled));
    expect(seen.map((r) => r.clientClosed)).toEqual([true, true]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a slow first attempt is cut and the second succeeds', async () => {
    const clock = new VirtualClock();
    const fetch = resilientFetch({ clock, timeoutMs: 500, retry: { backoff: 0 }, circuitBreaker: false });
    const from = a.requests.length;
    a.script({ hang: true }, { status: 200, body: 'fast' });
    const pending = fetch(a.url('/slow-then-fast'));
    await a.received(from + 1);
    await clock.advanceAsync(500);
    expect(await (await pending).text()).toBe('fast');
    await clock.runAllAsync(); // the timeout's armed timer (one per policy) fires and re-arms nothing
    expect(clock.pendingTimers).toBe(0);
  });

  test('the deadline cuts the whole call, and a wait that cannot fit returns the response at once', async () => {
    const clock = new VirtualClock();
    const fetch = resilientFetch({ clock, deadlineMs: 3000, retry: { backoff: 0 }, circuitBreaker: false });
    const from = a.requests.length;
    a.script({ hang: true });
    const pending = rejectionOf(fetch(a.url('/deadline')));
    await a.received(from + 1);
    await clock.advanceAsync(3000);
    const error = await pending;
    expect(isTimeoutError(error)).toBe(true);
    expect(error.timeoutMs).toBe(3000);
    await a.requests[from]?.settled;
    expect(a.requests[from]?.clientClosed).toBe(true);

    a.script({ status: 503, headers: { 'retry-after': '10' }, body: 'later' });
    const response = await fetch(a.url('/deadline'));
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('later');
    await clock.runAllAsync();
    expect(clock.pendingTimers).toBe(0);
  });

  test("the caller's abort wins at once, during a request and during a wait", async () => {
    const clock = new VirtualClock();
    const fetch = resilientFetch({ clock, timeoutMs: 60_000, deadlineMs: 120_000, retry: { backoff: 0 } });
    const from = a.requests.length;
    a.script({ hang: true });
    const controller = new AbortController();
    const pending = fetch(a.url('/abort'), { signal: controller.signal });
    await a.received(from + 1);
    const reason = new Error('user left');
    controller.abort(reason);
    expect(await rejectionOf(pending)).toBe(reason);
    await a.requests[from]?.settled;
    expect(a.requests[from]?.clientClosed).toBe(true);

    a.script({ status: 503, headers: { 'retry-after': '30' } });
    const second = new AbortController();
    let retried!: () => void;
    const waiting = new Promise<void>((resolve) => {
      retried = resolve;
    });
    const off = fetch.retry?.on('retry', () => retried());
    const during = fetch(a.url('/abort-wait'), { signal: second.signal });
    await waiting;
    second.abort();
    const error = await rejectionOf(during);
    expect(error.name).toBe('AbortError');
    expect(since(a, from)).toHaveLength(2);
    await clock.runAllAsync();
    expect(clock.pendingTimers).toBe(0);
    off?.();
  });

  test("with timeouts, the caller's abort still cuts the body being read after the response is returned", async () => {
    const fetch = resilientFetch({ timeoutMs: 10_000, retry: false });
    const from = a.requests.length;
    a.script({ partial: true, status: 200 });
    const controller = new AbortController();
    const response = await fetch(a.url('/stream'), { signal: controller.signal });
    const reading = rejectionOf(response.text());
    controller.abort(new Error('enough'));
    expect((await reading).message).toBe('enough');
    await a.requests[from]?.settled;
    expect(a.requests[from]?.clientClosed).toBe(true);
  });

  test('an already aborted signal sends nothing', async () => {
    const fetch = resilientFetch();
    const from = a.requests.length;
    const error = await rejectionOf(fetch(a.url('/'), { signal: AbortSignal.abort() }));
    expect(error.name).toBe('AbortError');
    expect(since(a, from)).toHaveLength(0);
  });
});

describe('per-origin policies', () => {
  test('one failing origin opens its own breaker, not the other origin', async () => {
    const clock = new VirtualClock();
    const fetch = resilientFetch({
      clock,
      retry: false,
      circuitBreaker: { window: { type: 'count', size: 4 }, minimumCalls: 4, openDurationMs: 5000 },
    });
    const fromA = a.requests.length;
    a.script({ status: 500 }, { status: 502 }, { status: 503 }, { status: 500 });
    for (let i = 0; i < 4; i++) await (await fetch(a.url('/api'))).text();
    expect(fetch.policies(a.origin)?.circuitBreaker?.state).toBe('open');
    const error = await rejectionOf(fetch(a.url('/api/users')));
    expect(isCircuitOpenError(error)).toBe(true);
    expect(error.message).toContain(`(GET ${a.origin}/api/users)`);
    expect(since(a, fromA)).toHaveLength(4);

    const response = await fetch(b.url('/api'));
    expect(response.status).toBe(200);
    expect(fetch.policies(b.origin)?.circuitBreaker?.state).toBe('closed');
    expect(fetch.origins).toEqual([a.origin, b.origin]);

    await clock.advanceAsync(5000);
    expect((await fetch(a.url('/api'))).status).toBe(200);
    expect(fetch.policies(a.origin)?.circuitBreaker?.state).toBe('closed');
  });

  test('4xx responses are not breaker failures; network errors are', async () => {
    const fetch = resilientFetch({
      retry: false,
      circuitBreaker: { window: { type: 'count', size: 3 }, minimumCalls: 3 },
    });
    a.script({ status: 404 }, { status: 429 }, { status: 400 }, { status: 404 });
    for (let i = 0; i < 4; i++) await (await fetch(a.url('/4xx'))).text();
    expect(fetch.policies(a.origin)?.circuitBreaker?.metrics.failures).toBe(0);
    // The window of 3 now holds 3 successes: two network errors make 2 of 3 failures.
    a.script({ drop: true }, { drop: true });
    for (let i = 0; i < 2; i++) expect(await rejectionOf(fetch(a.url('/drop')))).toBeInstanceOf(FetchNetworkError);
    expect(fetch.policies(a.origin)?.circuitBreaker?.state).toBe('open');
    expect(isCircuitOpenError(await rejectionOf(fetch(a.url('/drop'))))).toBe(true);
  });

  test('the rate limit is per origin; it rejects, or waits when told to', async () => {
    const clock = new VirtualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1, clock });
    const fetch = resilientFetch({ clock, rateLimit: limiter, retry: false });
    for (let i = 0; i < 2; i++) await (await fetch(a.url('/q'))).text();
    const error = await rejectionOf(fetch(a.url('/q')));
    expect(isRateLimitedError(error)).toBe(true);
    expect(error.retryAfterMs).toBe(1000);
    expect(error.message).toContain(`(GET ${a.origin}/q)`);
    expect((await fetch(b.url('/q'))).status).toBe(200);

    const waitClock = new VirtualClock();
    const waiting = resilientFetch({
      clock: waitClock,
      retry: false,
      rateLimit: { limiter: tokenBucket({ capacity: 1, refillPerSecond: 1, clock: waitClock }), wait: { maxWaitMs: 2000 } },
    });
    await (await waiting(a.url('/w'))).text();
    const response = await drive(waitClock, waiting(a.url('/w')));
    expect(response.status).toBe(200);
    expect(waitClock.now()).toBe(1000);
  });

  test('the bulkhead bounds requests in flight per origin', async () => {
    const fetch = resilientFetch({ bulkhead: 1, retry: false });
    const from = a.requests.length;
    a.script({ hang: true });
    const controller = new AbortController();
    const first = fetch(a.url('/one'), { signal: controller.signal });
    await a.received(from + 1);
    const error = await rejectionOf(fetch(a.url('/two')));
    expect(isBulkheadFullError(error)).toBe(true);
    expect(error.message).toContain(`(GET ${a.origin}/two)`);
    expect((await fetch(b.url('/other'))).status).toBe(200);
    controller.abort();
    await rejectionOf(first);
    expect(fetch.policies(a.origin)?.bulkhead?.running).toBe(0);
    expect((await fetch(a.url('/three'))).status).toBe(200);
  });

  test('per-origin policies are bounded in number; an origin with requests in flight is kept', async () => {
    const created: string[] = [];
    const pending = new Map<string, (r: Response) => void>();
    const fetch = resilientFetch({
      maxOrigins: 3,
      bulkhead: 5,
      onOrigin: (origin) => created.push(origin),
      fetch: (input) => {
        const url = String(input);
        if (url.includes('/hold')) return new Promise((resolve) => pending.set(url, resolve));
        return Promise.resolve(new Response('ok'));
      },
    });
    const held = fetch('http://busy.test/hold');
    for (let i = 0; i < 20; i++) await fetch(`http://host${i}.test/`);
    expect(fetch.origins.length).toBe(3);
    expect(fetch.origins).toContain('http://busy.test');
    expect(fetch.origins).toEqual(['http://busy.test', 'http://host18.test', 'http://host19.test']);
    expect(created).toHaveLength(21);
    pending.get('http://busy.test/hold')?.(new Response('done'));
    expect(await (await held).text()).toBe('done');
    await fetch('http://host0.test/');
    // busy.test is idle now: the least recently used, so the next new origin takes its place.
    expect(fetch.origins).toEqual(['http://host18.test', 'http://host19.test', 'http://host0.test']);
    // Same host, another port or scheme: another origin.
    await fetch('https://host0.test/');
    await fetch('http://host0.test:8080/');
    expect(fetch.origins).toEqual(['http://host0.test', 'https://host0.test', 'http://host0.test:8080']);
  });

  test('an origin whose breaker is open is evicted last: its breaker stays open through any churn', async () => {
    const clock = new VirtualClock();
    const sent: string[] = [];
    const fetch = resilientFetch({
      clock,
      maxOrigins: 3,
      retry: false,
      circuitBreaker: { window: { type: 'count', size: 2 }, minimumCalls: 2, openDurationMs: 60_000 },
      fetch: async (input) => {
        sent.push(new URL(String(input)).host);
        return new Response('', { status: String(input).includes('failing') ? 500 : 200 });
      },
    });
    for (let i = 0; i < 2; i++) await fetch('http://failing.test/');
    expect(fetch.policies('http://failing.test')?.circuitBreaker?.state).toBe('open');
    for (let i = 0; i < 10; i++) await fetch(`http://host${i}.test/`);
    // failing.test is the least recently used, yet the closed, idle origins went instead.
    expect(fetch.origins).toEqual(['http://failing.test', 'http://host8.test', 'http://host9.test']);
    expect(isCircuitOpenError(await rejectionOf(fetch('http://failing.test/again')))).toBe(true);
    expect(sent.filter((host) => host === 'failing.test')).toHaveLength(2);

    // When every origin is tripped, the least recently used open one goes (the bound holds).
    for (const host of ['bad1.test', 'bad2.test']) for (let i = 0; i < 2; i++) await fetch(`http://${host}/failing`);
    expect(fetch.origins).toEqual(['http://failing.test', 'http://bad1.test', 'http://bad2.test']);
    await fetch('http://fresh.test/');
    expect(fetch.origins).toEqual(['http://bad1.test', 'http://bad2.test', 'http://fresh.test']);
  });
});

describe('drop-in behaviour', () => {
  test('the response is the very object the underlying fetch returned', async () => {
    const original = new Response('x', { status: 201, headers: { 'x-a': '1' } });
    const fetch = resilientFetch({ fetch: async () => original });
    expect(await fetch('http://example.test/')).toBe(original);
  });

  test('the underlying fetch gets the input and init as given when there is no timeout', async () => {
    const calls: Array<[unknown, unknown]> = [];
    const fetch = resilientFetch({
      fetch: async (input, init) => {
        calls.push([input, init]);
        return new Response('');
      },
    });
    const init = { method: 'GET', headers: { a: 'b' } };
    const url = new URL('http://example.test/p');
    await fetch(url, init);
    expect(calls[0]?.[0]).toBe(url);
    expect(calls[0]?.[1]).toBe(init);
  });

  test('with timeouts, each attempt gets a signal that follows the caller', async () => {
    const signals: AbortSignal[] = [];
    const fetch = resilientFetch({
      timeoutMs: 10_000,
      fetch: async (_input, init) => {
        signals.push(init?.signal as AbortSignal);
        return new Response('');
      },
    });
    const controller = new AbortController();
    await fetch('http://example.test/', { signal: controller.signal });
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]).not.toBe(controller.signal);
  });

  test('invalid URLs reject with a clear TypeError, like fetch (no throw)', async () => {
    const fetch = resilientFetch();
    const error = await rejectionOf(fetch('/relative/path'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('resilientFetch: invalid URL "/relative/path": an absolute http(s) URL is expected');
    expect(await rejectionOf(fetch('http://'))).toBeInstanceOf(TypeError);
  });

  test('data: URLs are handed to fetch as they are', async () => {
    const fetch = resilientFetch();
    expect(await (await fetch('data:text/plain,hello')).text()).toBe('hello');
    expect(fetch.origins).toEqual([]);
  });
});
