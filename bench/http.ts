/**
 * HTTP cost of a hello-world route: the bare framework, a **floor** middleware, weir and the usual peer, for
 * Express 5 and Fastify 5, in one run. The floor is the least any rate-limit middleware must do: read the
 * client address and set the two `RateLimit` fields (to constants); its "headers off" twin only reads the
 * address. Each server runs in its own child process pinned to core 0 (`taskset`), and `wrk` drives it from
 * core 1, so the load generator does not steal the server's CPU. The figure that matters is the server's
 * CPU time per request (`process.cpuUsage()` deltas over the measured run), and what each middleware
 * **adds** to the bare framework's: weir's goal is <= 1.2x the floor's, headers on and off.
 *
 * Limits are far above the load so every request is allowed: this measures the check and its headers.
 *
 *     node --import tsx bench/http.ts                                      # ~3 minutes
 *     BENCH_HTTP_ROUNDS=1 BENCH_HTTP_SECONDS=2 node --import tsx bench/http.ts   # quick look
 *
 * Needs `wrk` and `taskset` (Debian: apt-get install wrk util-linux); without taskset both share the cores.
 * Prints a markdown table to stdout (it does not write docs/benchmarks.md).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

type Framework = 'express' | 'fastify';
type Middleware = 'bare' | 'floor' | 'floor, headers off' | 'weir' | 'weir, headers off' | 'weir+shedding' | 'peer';
type Variant = `${Framework}: ${Middleware}`;

const MIDDLEWARES: Middleware[] = ['bare', 'floor', 'floor, headers off', 'weir', 'weir, headers off', 'weir+shedding', 'peer'];
const VARIANTS: Variant[] = (['express', 'fastify'] as const).flatMap((f) => MIDDLEWARES.map((m): Variant => `${f}: ${m}`));
const PEER: Record<Framework, string> = { express: 'express-rate-limit', fastify: '@fastify/rate-limit' };

const HUGE = 1_000_000_000;
const POLICY = '"floor";q=10000000;w=10';
const REMAINING = '"floor";r=9999999';

async function serve(variant: Variant): Promise<void> {
  const { tokenBucket, bulkhead } = await import('../src/index.js');
  const limiter = () => tokenBucket({ capacity: 10_000_000, refillPerSecond: 1_000_000 });
  const [framework, middleware] = variant.split(': ') as [Framework, Middleware];
  let port: number;
  if (framework === 'express') {
    const { default: express } = await import('express');
    const app = express();
    if (middleware === 'floor' || middleware === 'floor, headers off') {
      const headers = middleware === 'floor';
      app.use((req, res, next) => {
        // What any limiter reads, kept alive so the JIT cannot drop it.
        if (req.ip === undefined) res.setHeader('X-Unknown', '1');
        if (headers) {
          res.setHeader('RateLimit-Policy', POLICY);
          res.setHeader('RateLimit', REMAINING);
        }
        next();
      });
    } else if (middleware.startsWith('weir')) {
      const { rateLimit, loadShedding } = await import('../adapters/express/index.js');
      if (middleware === 'weir+shedding') app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 10_000 }) }));
      app.use(rateLimit({ limiter: limiter(), headers: middleware === 'weir, headers off' ? 'none' : 'draft-10' }));
    } else if (middleware === 'peer') {
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
    if (middleware === 'floor' || middleware === 'floor, headers off') {
      const headers = middleware === 'floor';
      app.addHook('onRequest', (request, reply, done) => {
        if (request.ip === undefined) reply.header('X-Unknown', '1');
        if (headers) {
          reply.header('RateLimit-Policy', POLICY);
          reply.header('RateLimit', REMAINING);
        }
        done();
      });
    } else if (middleware.startsWith('weir')) {
      const { default: weir } = await import('../adapters/fastify/index.js');
      await app.register(weir, {
        rateLimit: { limiter: limiter() },
        headers: middleware === 'weir, headers off' ? 'none' : 'draft-10',
        ...(middleware === 'weir+shedding' ? { loadShedding: { bulkhead: bulkhead({ maxConcurrent: 10_000 }) } } : {}),
      });
    } else if (middleware === 'peer') {
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

/** `taskset -c <core>` when there are two cores or more and taskset exists, else nothing. */
const pinned = cpus().length >= 2;
function onCore(core: number, command: string, args: string[]): [string, string[]] {
  return pinned ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

async function startChild(variant: Variant): Promise<{ child: ChildProcess; url: string }> {
  const [command, args] = onCore(0, process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', variant]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
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

/** Runs wrk (one thread, 50 connections) on core 1 against `url`. */
async function measure(url: string, seconds: number): Promise<{ rps: number; p99: number; non2xx: number; requests: number }> {
  const [command, args] = onCore(1, 'wrk', ['-t1', '-c50', `-d${seconds}s`, '--latency', url]);
  const out = await new Promise<string>((resolve, reject) => {
    execFile(command, args, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p99Match = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const scale = { us: 0.001, ms: 1, s: 1000 } as const;
  const p99 = p99Match === null ? 0 : Number(p99Match[1]) * scale[p99Match[2] as keyof typeof scale];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p99, non2xx, requests };
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
  const row = (variant: Variant) => rows.find((r) => r.variant === variant);
  const added = (framework: Framework, middleware: Middleware) =>
    (row(`${framework}: ${middleware}`)?.cpuUs ?? 0) - (row(`${framework}: bare`)?.cpuUs ?? 0);
  const floorOf = (middleware: Middleware): Middleware => (middleware.includes('headers off') ? 'floor, headers off' : 'floor');
  const lines = [
    `### HTTP: hello world, wrk 1 thread × 50 connections, median of ${rounds} × ${seconds} s per case, server on core 0 and wrk on core 1 (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} vCPU, Node ${process.version})`,
    '',
    "| server | req/s | server CPU per request | added to bare | ÷ the floor's added | p99 latency | non-2xx |",
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const [framework, middleware] = r.variant.split(': ') as [Framework, Middleware];
      const mine = added(framework, middleware);
      const floor = added(framework, floorOf(middleware));
      const name = middleware === 'peer' ? `${framework}: ${PEER[framework]}` : r.variant;
      const ratio = middleware === 'bare' || middleware.startsWith('floor') ? '' : (mine / floor).toFixed(2);
      return `| ${name} | ${Math.round(r.rps)} | ${r.cpuUs.toFixed(2)} µs | ${middleware === 'bare' ? '' : `${mine.toFixed(2)} µs`} | ${ratio} | ${r.p99.toFixed(2)} ms | ${r.non2xx} |`;
    }),
    '',
    'The floor reads the client address and sets `RateLimit-Policy` and `RateLimit` to constants ("headers off": only the',
    'address). "÷ the floor\'s added" compares what each middleware adds to the bare server\'s CPU per request with what',
    "the floor of the same header mode adds; weir's goal is <= 1.2. weir sends draft-10 fields; express-rate-limit",
    'its defaults (draft-6 + `X-RateLimit-*`); @fastify/rate-limit its defaults (`x-ratelimit-*`).',
    pinned ? '' : 'Fewer than 2 cores: server and load generator share them, the CPU figures are still per request.',
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
