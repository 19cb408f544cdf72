// docs/fetch.md, runnable: `node --import tsx docs/examples/fetch.ts`.
// It starts a local "partner API" with three endpoints and calls it the three ways docs/fetch.md describes.
// A test (test/fetch/example.test.ts) runs it; the delays are short so that it runs in real time.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isFetchNetworkError, resilientFetch } from '../../adapters/fetch/index.js';
import { exponentialBackoff, isRateLimitedError, isTimeoutError, tokenBucket } from '../../src/index.js';

/** /flaky: 503 (Retry-After: 1) twice, then 200. /slow: the first call hangs. /quota: 429 with a RateLimit field once. */
async function partnerApi() {
  const calls = { flaky: 0, slow: 0, quota: 0 };
  const server = createServer((req, res) => {
    if (req.url === '/flaky' && ++calls.flaky <= 2) {
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
  return { base, calls, close };
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

if (import.meta.url === `file://${process.argv[1]}`) {
  fetchExample().then((log) => console.log(log.join('\n')));
}
