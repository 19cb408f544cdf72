// docs/fetch.md, runnable: `node --import tsx docs/examples/fetch.ts`.
// It starts a local "partner API" with three endpoints and calls it the three ways docs/fetch.md describes.
// A test (test/fetch/example.test.ts) runs it; the delays are short so that it runs in real time.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isFetchNetworkError, resilientFetch } from '../../adapters/fetch/index.js';
import { exponentialBackoff, isRateLimitedError, isTimeoutError, retryBudget, tokenBucket } from '../../src/index.js';

/**
 * /flaky: 503 (Retry-After: 1) twice, then 200. /slow: the first call hangs. /quota: 429 with a RateLimit
 * field once. /files/<name>: 503 to the first request for each name, and counts the requests per name.
 */
async function partnerApi() {
  const calls = { flaky: 0, slow: 0, quota: 0 };
  const files = new Map<string, number>();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/files/')) {
      const seen = (files.get(req.url) ?? 0) + 1;
      files.set(req.url, seen);
      req.resume();
      req.on('end', () => res.writeHead(seen === 1 ? 503 : 200).end());
    } else if (req.url === '/flaky' && ++calls.flaky <= 2) {
      res.writeHead(503, { 'retry-after': '1' }).end('busy');
    } else if (req.url === '/slow' && ++calls.slow === 1) {
      // Never answers: the per-attempt timeout must cut it.
    } else if (req.url === '/quota' && ++calls.quota === 1) {
      res.writeHead(429, { ratelimit: '"default";r=0;t=1' }).end('slow down');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.method} ${req.url}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { base, calls, files, close };
}

export async function fetchExample(): Promise<string[]> {
  const log: string[] = [];
  const api = await partnerApi();
  try {
    // 1. A flaky partner API: retry idempotent requests on 5xx/429 and network errors, honour Retry-After
    //    (capped: this demo waits at most 50 ms where the server asks for 1 s), and keep a breaker per origin.
    const partner = resilientFetch({
      retry: { maxAttempts: 4, backoff: exponentialBackoff({ initialMs: 10, maxMs: 200 }), maxDelayMs: 50 },
      circuitBreaker: { window: { type: 'count', size: 20 }, minimumCalls: 10, openDurationMs: 30_000 },
      timeoutMs: 2_000,
      deadlineMs: 5_000,
    });
    partner.retry?.on('retry', (event) => {
      if (event.ok) log.push(`flaky: attempt ${event.attempt} got ${(event.value as Response).status}`);
    });
    const flaky = await partner(`${api.base}/flaky`);
    log.push(`flaky: ${flaky.status} ${await flaky.text()} after ${api.calls.flaky} calls`);

    // A POST without an Idempotency-Key is sent once, whatever happens.
    const order = await partner(`${api.base}/orders`, { method: 'POST', body: '{"sku":1}' });
    log.push(`orders: ${order.status} ${await order.text()}`);

    // 2. A rate-limited API: stay under its quota on our side (2 requests at once, then 20 per second),
    //    waiting up to 1 s for a token; a 429 with a RateLimit field waits its `t` (capped by maxDelayMs).
    const quota = resilientFetch({
      rateLimit: { limiter: tokenBucket({ capacity: 2, refillPerSecond: 20 }), wait: { maxWaitMs: 1_000 } },
      retry: { maxDelayMs: 50 },
    });
    const statuses = await Promise.all([1, 2, 3].map(async () => (await quota(`${api.base}/quota`)).status));
    log.push(`quota: ${statuses.join(' ')} after ${api.calls.quota} calls`);
    const strict = resilientFetch({ rateLimit: tokenBucket({ capacity: 1, refillPerSecond: 1 }), retry: false });
    await (await strict(`${api.base}/quota`)).text();
    await strict(`${api.base}/quota`).catch((error) => log.push(`strict: rate limited: ${isRateLimitedError(error)}`));

    // 3. A slow API: 100 ms per attempt; the hung first attempt is aborted (the server sees the connection
    //    close) and the second answers.
    const slow = resilientFetch({ timeoutMs: 100, retry: { backoff: 0 }, bulkhead: { maxConcurrent: 4, maxQueue: 16 } });
    slow.retry?.on('retry', (event) => {
      if (!event.ok) log.push(`slow: attempt failed: ${isTimeoutError(event.error) ? 'timeout' : event.error}`);
    });
    const answer = await slow(`${api.base}/slow`);
    log.push(`slow: ${answer.status} after ${api.calls.slow} calls`);

    // A network failure names the request.
    await api.close();
    await partner(`${api.base}/flaky`, { method: 'POST' }).catch((error) => {
      // e.g. "fetch failed: POST http://127.0.0.1:PORT/flaky: connect ECONNREFUSED ... (not retried: POST is not idempotent; ...)"
      log.push(`down: ${isFetchNetworkError(error) ? 'FetchNetworkError' : error}, not retried (${error.notRetried})`);
    });
  } finally {
    await api.close();
  }
  return log;
}

/**
 * The samples of docs/fetch.md, against the local partner API (`origin` is its base URL, where the docs'
 * reader has e.g. https://api.example.com). test/fetch/example.test.ts runs them.
 */
export async function fetchSamples(): Promise<string[]> {
  const lines: string[] = [];
  const server = await partnerApi();
  const origin = server.base;
  try {
    {
      // #region intro
      const fetch = resilientFetch({ timeoutMs: 2_000, deadlineMs: 10_000 });
      const response = await fetch(`${origin}/users/42`, { headers: { accept: 'application/json' } });
      // #endregion intro
      lines.push(`intro: ${response.status} ${await response.text()}`);
    }
    {
      const warnings: string[] = [];
      const log = { warn: (entry: object) => warnings.push(JSON.stringify(entry)) };
      const body = JSON.stringify({ sku: 'sku-1', quantity: 2 });
      const id = 'order-2024-0001';
      // #region partner
      const partner = resilientFetch({
        retry: {
          maxAttempts: 4,
          backoff: exponentialBackoff({ initialMs: 200, maxMs: 2_000 }),
          maxDelayMs: 10_000,
          budget: retryBudget(),
        },
        circuitBreaker: { window: { type: 'count', size: 20 }, minimumCalls: 10, openDurationMs: 30_000 },
        timeoutMs: 2_000,
        deadlineMs: 10_000,
        onOrigin: (origin, { circuitBreaker }) =>
          circuitBreaker?.on('stateChange', ({ to }) => log.warn({ origin, breaker: to })),
      });
      await partner(`${origin}/orders/7`); // retried on 5xx/429/network errors
      await partner(`${origin}/orders`, { method: 'POST', body, headers: { 'Idempotency-Key': id } }); // retried: the key makes it safe
      // #endregion partner
      const breaker = partner.policies(origin)?.circuitBreaker;
      lines.push(`partner: breaker ${breaker?.state}, ${breaker?.metrics.calls} calls, ${warnings.length} warnings`);
    }
    {
      // #region rate-limited
      const api = resilientFetch({
        rateLimit: { limiter: tokenBucket({ capacity: 10, refillPerSecond: 5 }), wait: { maxWaitMs: 5_000 } },
        retry: { maxDelayMs: 30_000 }, // Retry-After / RateLimit t up to 30 s
        bulkhead: { maxConcurrent: 4, maxQueue: 100 },
      });
      // #endregion rate-limited
      const statuses = await Promise.all([1, 2, 3].map(async (n) => (await api(`${origin}/items/${n}`)).status));
      lines.push(`rate-limited: ${statuses.join(' ')}`);
    }
    {
      // #region slow
      const slow = resilientFetch({
        timeoutMs: 1_000, // each attempt; the aborted attempt's connection is closed
        deadlineMs: 3_000, // whole call
        retry: { maxAttempts: 3 },
        circuitBreaker: { slowCallDurationMs: 800, slowCallRateThreshold: 0.5 }, // open when half the calls are slow
        bulkhead: { maxConcurrent: 8, maxQueue: 32, maxQueueWaitMs: 500 },
      });
      // #endregion slow
      lines.push(`slow: ${(await slow(`${origin}/reports`)).status}`);
    }
    {
      const csv = 'id,total\n7,42\n';
      // #region bodies
      const client = resilientFetch();
      // Sent at most once: a Request's body is a stream, which can be read only once.
      const once = await client(new Request(`${origin}/files/a.csv`, { method: 'PUT', body: csv }));
      // Retried: a string, Blob, ArrayBuffer, URLSearchParams or FormData in init is sent again as it is.
      const retried = await client(`${origin}/files/b.csv`, { method: 'PUT', body: csv });
      // Retried from clones of the Request: its whole body is held in memory until the call ends.
      const uploads = resilientFetch({ retry: { replayRequestBodies: true } });
      const replayed = await uploads(new Request(`${origin}/files/c.csv`, { method: 'PUT', body: csv }));
      // #endregion bodies
      const sends = ['a', 'b', 'c'].map((name) => server.files.get(`/files/${name}.csv`));
      const statuses = [once, retried, replayed].map((response) => response.status);
      lines.push(`bodies: ${statuses.join(' ')} after ${sends.join(', ')} sends`);
    }
  } finally {
    await server.close();
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  Promise.all([fetchExample(), fetchSamples()]).then((logs) => console.log(logs.flat().join('\n')));
}
