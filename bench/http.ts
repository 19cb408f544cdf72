/**
 * HTTP throughput of a hello-world route: the bare framework vs weir vs the usual peer, for Express 5 and
 * Fastify 5, in one run. Each server runs in its own child process (one at a time); autocannon drives it
 * over loopback from this process. Limits are set far above the load so that every request is allowed:
 * this measures the cost of the check and its headers, not of 429s.
 *
 *     node --import tsx bench/http.ts                                  # ~2 minutes
 *     BENCH_HTTP_ROUNDS=1 BENCH_HTTP_SECONDS=2 node --import tsx bench/http.ts   # quick look
 *
 * Prints a markdown table to stdout (it does not write docs/benchmarks.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

type Variant =
  | 'express'
  | 'express+weir'
  | 'express+weir+shedding'
  | 'express+express-rate-limit'
  | 'fastify'
  | 'fastify+weir'
  | 'fastify+weir+shedding'
  | 'fastify+@fastify/rate-limit';

const VARIANTS: Variant[] = [
  'express',
  'express+weir',
  'express+weir+shedding',
  'express+express-rate-limit',
  'fastify',
  'fastify+weir',
  'fastify+weir+shedding',
  'fastify+@fastify/rate-limit',
];

const HUGE = 1_000_000_000;

async function serve(variant: Variant): Promise<void> {
  const { tokenBucket, bulkhead } = await import('../src/index.js');
  const limiter = () => tokenBucket({ capacity: 10_000_000, refillPerSecond: 1_000_000 });
  let port: number;
  if (variant.startsWith('express')) {
    const { default: express } = await import('express');
    const app = express();
    if (variant === 'express+weir' || variant === 'express+weir+shedding') {
      const { rateLimit, loadShedding } = await import('../adapters/express/index.js');
      if (variant === 'express+weir+shedding') app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 10_000 }) }));
      app.use(rateLimit({ limiter: limiter() }));
    } else if (variant === 'express+express-rate-limit') {
      const { rateLimit } = await import('express-rate-limit');
      app.use(rateLimit({ windowMs: 60_000, limit: HUGE }));
    }
    app.get('/', (_req, res) => {
      res.send('hello world');
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  } else {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    if (variant === 'fastify+weir' || variant === 'fastify+weir+shedding') {
      const { default: weir } = await import('../adapters/fastify/index.js');
      await app.register(weir, {
        rateLimit: { limiter: limiter() },
        ...(variant === 'fastify+weir+shedding' ? { loadShedding: { bulkhead: bulkhead({ maxConcurrent: 10_000 }) } } : {}),
      });
    } else if (variant === 'fastify+@fastify/rate-limit') {
      const { default: rateLimit } = await import('@fastify/rate-limit');
      await app.register(rateLimit, { max: HUGE, timeWindow: 60_000 });
    }
    app.get('/', async () => 'hello world');
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  }
  process.stdout.write(`PORT ${port}\n`);
  // On each line from the parent, report this process's CPU time so far (µs): the server's own cost per
  // request, which does not depend on whether the load generator or the server is the bottleneck.
  process.stdin.on('data', () => {
    const usage = process.cpuUsage();
    process.stdout.write(`CPU ${usage.user + usage.system}\n`);
  });
}

async function startChild(variant: Variant): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', variant], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /PORT (\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
  });
  return { child, url: `http://127.0.0.1:${port}/` };
}

/** The child's CPU time so far, in µs. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const match = /CPU (\d+)/.exec(chunk.toString());
      if (match) {
        child.stdout?.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stdin?.write('cpu\n');
  });
}

async function measure(url: string, seconds: number): Promise<{ rps: number; p99: number; non2xx: number; requests: number }> {
  // autocannon ships no types; this is the part of its result used here.
  type Result = { requests: { average: number; total: number }; latency: { p99: number }; non2xx: number };
  const specifier = 'autocannon';
  const { default: autocannon } = (await import(specifier)) as { default: (options: object) => Promise<Result> };
  const result = await autocannon({ url, connections: 50, pipelining: 1, duration: seconds });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx, requests: result.requests.total };
}

async function main(): Promise<void> {
  // Rounds interleave the variants so that a noisy neighbour slows all of them, not one; the median is kept.
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
  const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);
  const samples = new Map<Variant, { rps: number; p99: number; non2xx: number; cpuUs: number }[]>();
  for (let round = 0; round < rounds; round++) {
    for (const variant of VARIANTS) {
      const { child, url } = await startChild(variant);
      try {
        await measure(url, 1);
        const cpuBefore = await cpuOf(child);
        const result = await measure(url, seconds);
        const cpuUs = ((await cpuOf(child)) - cpuBefore) / Math.max(1, result.requests);
        samples.set(variant, [...(samples.get(variant) ?? []), { ...result, cpuUs }]);
        console.error(
          `round ${round + 1}/${rounds} ${variant}: ${Math.round(result.rps)} req/s, ${cpuUs.toFixed(1)} µs CPU/request`,
        );
      } finally {
        child.kill();
        await once(child, 'exit');
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const rows = VARIANTS.map((variant) => {
    const list = samples.get(variant) ?? [];
    return {
      variant,
      rps: median(list.map((r) => r.rps)),
      p99: median(list.map((r) => r.p99)),
      cpuUs: median(list.map((r) => r.cpuUs)),
      non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
    };
  });
  const bareRow = (variant: Variant) => rows.find((r) => r.variant === (variant.startsWith('express') ? 'express' : 'fastify'));
  const bare = (variant: Variant) => bareRow(variant)?.rps ?? 1;
  const bareCpu = (variant: Variant) => bareRow(variant)?.cpuUs ?? 1;
  const lines = [
    `### HTTP: hello world, 50 connections, median of ${rounds} × ${seconds} s per case (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} vCPU, Node ${process.version})`,
    '',
    '| server | req/s (mean) | × bare | server CPU per request | bare ÷ this (CPU) | p99 latency | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${Math.round(r.rps)} | ${(r.rps / bare(r.variant)).toFixed(2)} | ${r.cpuUs.toFixed(1)} µs | ${(bareCpu(r.variant) / r.cpuUs).toFixed(2)} | ${r.p99} ms | ${r.non2xx} |`,
    ),
    '',
    'weir sends draft-10 `RateLimit`/`RateLimit-Policy`; express-rate-limit 8 its defaults (draft-6 fields + `X-RateLimit-*`);',
    '@fastify/rate-limit 11 its defaults (`x-ratelimit-*`). All limits allow every request. "bare ÷ this (CPU)" is the share',
    "of the bare server's throughput this server would keep if the server's CPU were the bottleneck: on 2 cores the",
    'load generator often is, which makes req/s alone noisy.',
  ];
  console.log(lines.join('\n'));
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3] as Variant).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
