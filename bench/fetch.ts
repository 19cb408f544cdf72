/**
 * Overhead per request of `resilientFetch` over plain `fetch`, against a local keep-alive HTTP server:
 * `node --import tsx bench/fetch.ts` (env: FETCH_BENCH_REQUESTS, default 4000; FETCH_BENCH_ROUNDS, default 5).
 *
 * Requests run sequentially (one in flight), so the difference is the adapter's CPU cost per request, not
 * the server's. Each round runs every case once, in a rotating order; the table shows the median over rounds.
 *
 * Peer: ky 1.x's built-in retry, against the same server with the same request count, in two set-ups that
 * match a resilientFetch case each: ky's defaults (retry limit 2 = 3 attempts, a 10 s timeout per attempt)
 * beside resilientFetch with retry + breaker + `timeoutMs: 10_000`, and ky with `timeout: false` beside
 * resilientFetch's defaults (retry + breaker, no timeout). Every response is a 200, so this is the cost of
 * the retry path when nothing fails, which is what a client pays on almost every request. got is measured
 * too when installed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ky from 'ky';
import { resilientFetch } from '../adapters/fetch/index.js';
import { tokenBucket } from '../src/index.js';

const REQUESTS = Number(process.env.FETCH_BENCH_REQUESTS ?? 4000);
const ROUNDS = Number(process.env.FETCH_BENCH_ROUNDS ?? 5);

type Get = (url: string) => Promise<void>;

const DEFAULTS = 'resilientFetch, defaults (retry + breaker)';
const TIMED = 'resilientFetch, retry + breaker + timeoutMs 10 s';
const KY_DEFAULTS = 'ky, defaults (retry 2 + timeout 10 s)';
const KY_NO_TIMEOUT = 'ky, retry 2, timeout: false';
/** Like for like: each resilientFetch case beside the ky set-up that does the same. */
const PAIRS: ReadonlyArray<[string, string]> = [
  [DEFAULTS, KY_NO_TIMEOUT],
  [TIMED, KY_DEFAULTS],
];

async function tryImport(name: string): Promise<any> {
  try {
    return await import(name);
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const server = createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const defaults = resilientFetch();
  const timed = resilientFetch({ timeoutMs: 10_000 });
  const full = resilientFetch({
    timeoutMs: 5_000,
    deadlineMs: 10_000,
    bulkhead: 64,
    rateLimit: tokenBucket({ capacity: 1_000_000, refillPerSecond: 1_000_000 }),
  });
  const bare = resilientFetch({ retry: false, circuitBreaker: false });
  const cases: Array<[string, Get]> = [
    ['plain fetch', async (u) => void (await (await fetch(u)).text())],
    ['resilientFetch, no policies', async (u) => void (await (await bare(u)).text())],
    [DEFAULTS, async (u) => void (await (await defaults(u)).text())],
    [TIMED, async (u) => void (await (await timed(u)).text())],
    ['resilientFetch, all (+ timeouts, limiter, bulkhead)', async (u) => void (await (await full(u)).text())],
  ];
  const notes: string[] = [];
  // ky's defaults: retry limit 2 (GET among its methods, 408/413/429/500/502/503/504), timeout 10 s.
  const kyDefaults = ky.create({ retry: { limit: 2 } });
  const kyNoTimeout = ky.create({ retry: { limit: 2 }, timeout: false });
  cases.push([KY_DEFAULTS, async (u) => void (await kyDefaults.get(u).text())]);
  cases.push([KY_NO_TIMEOUT, async (u) => void (await kyNoTimeout.get(u).text())]);
  const got = await tryImport('got');
  if (got !== undefined) {
    cases.push(['got (retry: 2)', async (u) => void (await got.default(u, { retry: { limit: 2 } }).text())]);
  } else notes.push('got: not installed (not measured)');

  // Warm-up: JIT, connection pool.
  for (const [, get] of cases) for (let i = 0; i < Math.min(500, REQUESTS); i++) await get(url);

  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const [name, get] = cases[(k + round) % cases.length] as [string, Get];
      const start = process.hrtime.bigint();
      for (let i = 0; i < REQUESTS; i++) await get(url);
      samples.get(name)?.push(Number(process.hrtime.bigint() - start) / REQUESTS / 1000);
    }
  }
  server.close();
  server.closeAllConnections();

  const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1] as number;
  const base = median(samples.get('plain fetch') as number[]);
  console.log(`Node ${process.version}, ${REQUESTS} sequential requests × ${ROUNDS} rounds, median µs/request`);
  console.log('| case | µs/request | overhead vs fetch | ratio to fetch |');
  console.log('|---|---:|---:|---:|');
  for (const [name] of cases) {
    const us = median(samples.get(name) as number[]);
    const overhead = name === 'plain fetch' ? '—' : `${(us - base).toFixed(1)} µs (${((us / base - 1) * 100).toFixed(1)} %)`;
    console.log(`| ${name} | ${us.toFixed(1)} | ${overhead} | ${(us / base).toFixed(2)}× |`);
  }
  console.log('');
  console.log('| resilientFetch | ky (built-in retry) | ratio resilientFetch / ky |');
  console.log('|---|---|---:|');
  for (const [ours, theirs] of PAIRS) {
    const ratio = median(samples.get(ours) as number[]) / median(samples.get(theirs) as number[]);
    console.log(`| ${ours} | ${theirs} | ${ratio.toFixed(2)}× |`);
  }
  for (const note of notes) console.log(note);
}

await main();
