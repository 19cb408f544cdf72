/**
 * HTTP cost of a hello-world route: the bare framework, a **floor** middleware, weir and the usual peer, for
 * Express 5 and Fastify 5, in one run. The floor is the least any rate-limit middleware must do: read the
 * client address and set the two `RateLimit` fields (to constants); its "headers off" twin only reads the
 * address. weir's goal is to add at most 1.2x what the floor adds, headers on and off. Two measurements:
 *
 * 1. **Server CPU per request under wrk.** Every server runs in its own child process pinned to core 0
 *    (`taskset`), all started at once and warmed up (so JIT compilation, which runs on other threads of the
 *    same process, is over before anything is counted); `wrk` drives them from core 1. A server's figure
 *    for one run is its `process.cpuUsage()` delta divided by the requests served. In each round, every
 *    middleware runs between two runs of its framework's bare server (bare, a, bare, b, bare, ...; the order
 *    rotates from round to round), and what it *adds* is its figure minus the mean of those two: a noisy
 *    neighbour that comes and goes moves both sides of the difference. Every measured run follows an
 *    unmeasured second of the same load, so that a server that waited longer since its last run (every
 *    middleware waits longer than the bare server) starts from the same warm state. The table shows the median over
 *    rounds and the interquartile range. The bare framework costs 20-150 µs per request, so on a shared
 *    machine an addition below a microsecond or two is within this measurement's noise: hence the second.
 * 2. **The middleware alone, in process.** Each middleware (the real Fastify hook or Express middleware,
 *    as installed) is called in a loop on a real request and reply captured from a served request, with
 *    the reply's fields cleared between calls; a child process per middleware, so that no two share the
 *    framework's inline caches, and the time per call minus an empty hook's, the least of many short
 *    rounds (interference only ever adds time). It leaves out what the fields cost later, when the
 *    response is written; the first measurement includes it.
 *
 * Limits are far above the load so every request is allowed: this measures the check and its headers.
 *
 *     node --import tsx bench/http.ts                                            # ~13 minutes
 *     BENCH_HTTP_ROUNDS=3 BENCH_HTTP_HOOK_PASSES=1 node --import tsx bench/http.ts  # quick look
 *     BENCH_HTTP_ONLY=hooks node --import tsx bench/http.ts                      # the second table only
 *     BENCH_HTTP_FRAMEWORKS=fastify node --import tsx bench/http.ts
 *
 * Needs `wrk` and `taskset` (Debian: apt-get install wrk util-linux); without taskset both share the cores.
 * Prints markdown tables to stdout (it does not write docs/benchmarks.md).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MinimalTokenBucket } from './lib.js';

type Framework = 'express' | 'fastify';
type Middleware =
  | 'bare'
  | 'floor'
  | 'floor, names as spelled'
  | 'floor, headers off'
  | 'floor + decision'
  | 'floor + decision, headers off'
  | 'weir'
  | 'weir, headers off'
  | 'weir+shedding'
  | 'peer';
type Variant = `${Framework}: ${Middleware}`;

const MIDDLEWARES: Middleware[] = ['bare', 'floor', 'floor, headers off', 'weir', 'weir, headers off', 'weir+shedding', 'peer'];
const FRAMEWORKS = (process.env.BENCH_HTTP_FRAMEWORKS?.split(',') ?? ['express', 'fastify']) as Framework[];
const VARIANTS: Variant[] = FRAMEWORKS.flatMap((f) => MIDDLEWARES.map((m): Variant => `${f}: ${m}`));
/**
 * The in-process measurement also shows the floor with the field names spelled as the draft spells them
 * (`RateLimit-Policy`): what a hand-written middleware usually does, and what the floor costs then.
 */
const SPELLED: Variant[] = FRAMEWORKS.map((f): Variant => `${f}: floor, names as spelled`);
/**
 * And the floor of a middleware that decides: the floor plus a hand-written keyed token bucket on the client
 * address (a clock read, a map lookup, the refill, the take), the least any rate limiter does per request.
 */
const DECIDING: Variant[] = FRAMEWORKS.flatMap((f): Variant[] => [
  `${f}: floor + decision`,
  `${f}: floor + decision, headers off`,
]);
const PEER: Record<Framework, string> = { express: 'express-rate-limit', fastify: '@fastify/rate-limit' };

const HUGE = 1_000_000_000;
// Refilled faster than even the in-process loop takes, so the bucket stays full and every response
// reports the same remaining count, as under wrk (tens of thousands of requests per second).
const CAPACITY = 10_000_000;
const REFILL_PER_SECOND = 30_000_000;
// The floor's constant fields are the bytes weir sends for this bench's limiter (its default policy name,
// a full bucket), so that both put the same fields on the wire and Node checks values of the same length;
// and like weir it names them in lower case (Node lower-cases a name to store it: a name that is lower case
// already costs no new string).
const POLICY = '"10000000-in-1s";q=10000000;w=1';
const REMAINING = '"10000000-in-1s";r=9999999;t=1';

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const floorOf = (middleware: Middleware): Middleware => (middleware.includes('headers off') ? 'floor, headers off' : 'floor');
const decidingFloorOf = (middleware: Middleware): Middleware =>
  middleware.includes('headers off') ? 'floor + decision, headers off' : 'floor + decision';
const nameOf = (framework: Framework, middleware: Middleware): string =>
  middleware === 'peer' ? `${framework}: ${PEER[framework]}` : `${framework}: ${middleware}`;
/** `mine / floor`, or a dash where the floor adds nothing measurable (a ratio to noise means nothing). */
const ratioOf = (middleware: Middleware, mine: number, floor: number): string => {
  if (middleware === 'bare' || middleware.startsWith('floor')) return '';
  return floor > 0.02 * Math.abs(mine) && floor > 0 ? (mine / floor).toFixed(2) : '— (the floor adds ≈ 0)';
};

type Route = (request: unknown, reply: unknown) => void;

/**
 * Builds the application of `variant`; `route` is the hello-world handler (the in-process measurement
 * passes one that keeps the request and reply instead of answering). Returns it unstarted.
 */
async function app(variant: Variant, route?: Route) {
  const { tokenBucket, bulkhead } = await import('../src/index.js');
  const limiter = () => tokenBucket({ capacity: CAPACITY, refillPerSecond: REFILL_PER_SECOND });
  const [framework, middleware] = variant.split(': ') as [Framework, Middleware];
  if (framework === 'express') {
    const { default: express } = await import('express');
    const app = express();
    if (middleware === 'floor' || middleware === 'floor, headers off') {
      const headers = middleware === 'floor';
      app.use((req, res, next) => {
        // What any limiter reads, kept alive so the JIT cannot drop it.
        if (req.ip === undefined) res.setHeader('X-Unknown', '1');
        if (headers) {
          res.setHeader('ratelimit-policy', POLICY);
          res.setHeader('ratelimit', REMAINING);
        }
        next();
      });
    } else if (middleware === 'floor + decision' || middleware === 'floor + decision, headers off') {
      const headers = middleware === 'floor + decision';
      const bucket = new MinimalTokenBucket(CAPACITY, REFILL_PER_SECOND);
      app.use((req, res, next) => {
        if (!bucket.take(req.ip ?? '')) res.setHeader('X-Limited', '1');
        if (headers) {
          res.setHeader('ratelimit-policy', POLICY);
          res.setHeader('ratelimit', REMAINING);
        }
        next();
      });
    } else if (middleware === 'floor, names as spelled') {
      app.use((req, res, next) => {
        if (req.ip === undefined) res.setHeader('X-Unknown', '1');
        res.setHeader('RateLimit-Policy', POLICY);
        res.setHeader('RateLimit', REMAINING);
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
    app.get('/', (req, res) => {
      if (route === undefined) res.send('hello world');
      else route(req, res);
    });
    return { framework, express: app } as const;
  }
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (middleware === 'floor' || middleware === 'floor, headers off') {
    const headers = middleware === 'floor';
    app.addHook('onRequest', (request, reply, done) => {
      if (request.ip === undefined) reply.header('X-Unknown', '1');
      if (headers) {
        reply.header('ratelimit-policy', POLICY);
        reply.header('ratelimit', REMAINING);
      }
      done();
    });
  } else if (middleware === 'floor + decision' || middleware === 'floor + decision, headers off') {
    const headers = middleware === 'floor + decision';
    const bucket = new MinimalTokenBucket(CAPACITY, REFILL_PER_SECOND);
    app.addHook('onRequest', (request, reply, done) => {
      if (!bucket.take(request.ip)) reply.header('X-Limited', '1');
      if (headers) {
        reply.header('ratelimit-policy', POLICY);
        reply.header('ratelimit', REMAINING);
      }
      done();
    });
  } else if (middleware === 'floor, names as spelled') {
    app.addHook('onRequest', (request, reply, done) => {
      if (request.ip === undefined) reply.header('X-Unknown', '1');
      reply.header('RateLimit-Policy', POLICY);
      reply.header('RateLimit', REMAINING);
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
  app.get('/', async (request, reply) => {
    if (route === undefined) return 'hello world';
    route(request, reply);
    return reply;
  });
  return { framework, fastify: app } as const;
}

// ------------------------------------------------------------------------------------------------------
// 1. Server CPU per request under wrk.

async function serve(variant: Variant): Promise<void> {
  const built = await app(variant);
  let port: number;
  if (built.express !== undefined) {
    const server = built.express.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  } else {
    await built.fastify.listen({ port: 0, host: '127.0.0.1' });
    port = (built.fastify.server.address() as AddressInfo).port;
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

interface Server {
  variant: Variant;
  child: ChildProcess;
  url: string;
}

async function startChild(variant: Variant): Promise<Server> {
  const [command, args] = onCore(0, process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', variant]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)));
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /PORT (\d+)/.exec(buffered);
      if (match) {
        child.stdout?.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
  });
  return { variant, child, url: `http://127.0.0.1:${port}/` };
}

/** The child's CPU time so far, in µs. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /CPU (\d+)/.exec(buffered);
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

interface Sample {
  rps: number;
  p99: number;
  non2xx: number;
  cpuUs: number;
}

async function underLoad(): Promise<string> {
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 1);
  const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 9);
  const warmup = Number(process.env.BENCH_HTTP_WARMUP ?? 4);
  const prime = Number(process.env.BENCH_HTTP_PRIME ?? 1);
  const servers = new Map<Variant, Server>();
  try {
    for (const variant of VARIANTS) servers.set(variant, await startChild(variant));
    // JIT compilation runs on the server's other threads and counts in its CPU time: let it finish first.
    for (const server of servers.values()) await measure(server.url, warmup);
    const run = async (variant: Variant, round: number): Promise<Sample> => {
      const server = servers.get(variant) as Server;
      // Primed first: a server idle for a while (the middlewares wait longer between their runs than the
      // bare server does) shrinks its heap and loses its caches, which its next run would pay for.
      await measure(server.url, prime);
      const cpuBefore = await cpuOf(server.child);
      const result = await measure(server.url, seconds);
      const cpuUs = ((await cpuOf(server.child)) - cpuBefore) / Math.max(1, result.requests);
      console.error(
        `round ${round + 1}/${rounds} ${variant}: ${Math.round(result.rps)} req/s, ${cpuUs.toFixed(1)} µs CPU/request`,
      );
      return { ...result, cpuUs };
    };
    const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
    /** Per variant, per round: its CPU per request minus the mean of the bare runs just before and after it. */
    const diffs = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
    for (let round = 0; round < rounds; round++) {
      for (const framework of FRAMEWORKS) {
        // bare, v1, bare, v2, ..., bare: each middleware sits between two runs of the bare server, so a
        // neighbour's load that comes and goes within a round moves both sides of its difference.
        const others = MIDDLEWARES.filter((m) => m !== 'bare');
        const order = others.map((_, i) => others[(i + round) % others.length] as Middleware);
        const bareVariant: Variant = `${framework}: bare`;
        let before = await run(bareVariant, round);
        samples.get(bareVariant)?.push(before);
        for (const middleware of order) {
          const variant: Variant = `${framework}: ${middleware}`;
          const sample = await run(variant, round);
          const after = await run(bareVariant, round);
          samples.get(variant)?.push(sample);
          samples.get(bareVariant)?.push(after);
          diffs.get(variant)?.push(sample.cpuUs - (before.cpuUs + after.cpuUs) / 2);
          before = after;
        }
      }
    }
    const of = (variant: Variant): Sample[] => samples.get(variant) ?? [];
    const added = (framework: Framework, middleware: Middleware): number =>
      median(diffs.get(`${framework}: ${middleware}`) ?? []);
    const spread = (framework: Framework, middleware: Middleware): string => {
      const sorted = [...(diffs.get(`${framework}: ${middleware}`) ?? [])].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
      return `${q(0.25).toFixed(1)} to ${q(0.75).toFixed(1)}`;
    };
    const lines = [
      `### HTTP: server CPU per request under wrk (1 thread × 50 connections, ${rounds} rounds × ${seconds} s per server, each between two runs of the bare server and each run after ${prime} s unmeasured, after ${warmup} s of warm-up; server on core 0, wrk on core 1; ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} vCPU, Node ${process.version})`,
      '',
      "| server | req/s | server CPU per request | added to bare (median of rounds) | interquartile range of the added | ÷ the floor's added | p99 latency | non-2xx |",
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...VARIANTS.map((variant) => {
        const [framework, middleware] = variant.split(': ') as [Framework, Middleware];
        const list = of(variant);
        const cpuUs = median(list.map((s) => s.cpuUs));
        const mine = added(framework, middleware);
        const floor = added(framework, floorOf(middleware));
        const addedCell = middleware === 'bare' ? '' : `${mine.toFixed(2)} µs`;
        const spreadCell = middleware === 'bare' ? '' : `${spread(framework, middleware)} µs`;
        return `| ${nameOf(framework, middleware)} | ${Math.round(median(list.map((s) => s.rps)))} | ${cpuUs.toFixed(2)} µs | ${addedCell} | ${spreadCell} | ${ratioOf(middleware, mine, floor)} | ${median(list.map((s) => s.p99)).toFixed(2)} ms | ${list.reduce((sum, s) => sum + s.non2xx, 0)} |`;
      }),
      '',
      pinned ? '' : 'Fewer than 2 cores: server and load generator share them, the CPU figures are still per request.',
    ];
    return lines.join('\n');
  } finally {
    for (const server of servers.values()) {
      server.child.kill();
      await once(server.child, 'exit');
    }
  }
}

// ------------------------------------------------------------------------------------------------------
// 2. The middleware alone, in process.

/** The property of `target` keyed by the symbol described as `description` (a framework's private field). */
function privateKey(target: object, description: string): symbol {
  const key = Object.getOwnPropertySymbols(target).find((s) => s.description === description);
  if (key === undefined) throw new Error(`bench/http.ts: no ${description} field (a framework version this bench does not know)`);
  return key;
}

type Call = () => void;

/**
 * One call of `variant`'s middleware on a real request and reply, and the same call of an empty one; the
 * reply's fields are cleared before each (the empty one clears them too, so the clearing cancels out).
 */
async function callsOf(variant: Variant): Promise<{ call: Call; empty: Call; continued: () => number }> {
  let kept: [unknown, unknown] | undefined;
  const built = await app(variant, (request, reply) => {
    kept = [request, reply];
  });
  let continued = 0;
  const next = (): void => {
    continued++;
  };
  if (built.fastify !== undefined) {
    const fastify = built.fastify;
    await fastify.ready();
    // The handler keeps the request and replies later: inject resolves once we end it below.
    const answered = fastify.inject('/');
    while (kept === undefined) await new Promise((resolve) => setImmediate(resolve));
    const [request, reply] = kept as [Record<symbol, unknown>, Record<symbol, unknown> & { raw: object }];
    const hooks = (request[privateKey(request, 'fastify.context')] as { onRequest: unknown[] | null }).onRequest ?? [];
    const hook = (hooks[0] ?? ((_q: unknown, _r: unknown, done: () => void) => done())) as (
      q: unknown,
      r: unknown,
      done: () => void,
    ) => void;
    const fields = privateKey(reply, 'fastify.reply.headers');
    const sent = reply as unknown as { send(body: string): void };
    sent.send('hello world');
    await answered;
    // Sent: clear the node response's fields too, so a field read falls through to an empty response.
    const raw = reply.raw as Record<symbol, unknown>;
    const rawFields = privateKey(raw, 'kOutHeaders');
    const empty = (_q: unknown, _r: unknown, done: () => void): void => done();
    return {
      continued: () => continued,
      call: () => {
        reply[fields] = {};
        raw[rawFields] = null;
        hook(request, reply, next);
      },
      empty: () => {
        reply[fields] = {};
        raw[rawFields] = null;
        empty(request, reply, next);
      },
    };
  }
  const server = built.express.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // The route keeps the request open; fetch is never awaited (the server is closed under it).
  fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).catch(() => undefined);
  while (kept === undefined) await new Promise((resolve) => setImmediate(resolve));
  const [req, res] = kept as [unknown, Record<symbol, unknown>];
  const stack = (built.express as unknown as { router: { stack: { route?: unknown; handle: unknown }[] } }).router.stack;
  // The middleware under test is the one layer that is not a route (Express 5 adds none of its own).
  const layers = stack.filter((layer) => layer.route === undefined);
  if (layers.length > 1)
    throw new Error(`bench/http.ts: ${variant} has ${layers.length} middleware layers, expected at most one`);
  const middleware = (layers[0]?.handle ?? ((_q: unknown, _r: unknown, n: () => void) => n())) as (
    q: unknown,
    r: unknown,
    n: () => void,
  ) => void;
  const fields = privateKey(res, 'kOutHeaders');
  // Express's own fields (X-Powered-By) without those the middleware wrote on the captured request.
  const initial = Object.entries(res[fields] as Record<string, unknown>).filter(([name]) => !/^(ratelimit|x-unknown)/.test(name));
  // Node keeps them in an object without a prototype, in dictionary mode: so does the copy.
  const fresh = (): Record<string, unknown> => {
    const copy = Object.create(null) as Record<string, unknown>;
    for (const [name, value] of initial) copy[name] = value;
    return copy;
  };
  const empty = (_q: unknown, _r: unknown, n: () => void): void => n();
  server.closeAllConnections();
  server.close();
  return {
    continued: () => continued,
    call: () => {
      res[fields] = fresh();
      middleware(req, res, next);
    },
    empty: () => {
      res[fields] = fresh();
      empty(req, res, next);
    },
  };
}

/** Child side: ns per call of the middleware minus the empty hook's, the least of `rounds` short rounds. */
async function hookCost(variant: Variant, rounds: number): Promise<void> {
  const { call, empty, continued } = await callsOf(variant);
  const batch = 2000;
  const time = (fn: Call): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    return Number(process.hrtime.bigint() - start) / batch;
  };
  for (let i = 0; i < 50; i++) {
    time(call);
    time(empty);
  }
  const calls: number[] = [];
  const empties: number[] = [];
  for (let round = 0; round < rounds; round++) {
    calls.push(time(call));
    empties.push(time(empty));
  }
  // Every call must have let the request through (a refusal would measure something else).
  const expected = (50 + rounds) * 2 * batch;
  if (continued() !== expected) throw new Error(`${variant}: ${continued()} calls went on, expected ${expected}`);
  const least = (xs: number[]) => Math.min(...xs);
  process.stdout.write(`NS ${least(calls) - least(empties)}\n`);
}

async function inProcess(): Promise<string> {
  const rounds = Number(process.env.BENCH_HTTP_HOOK_ROUNDS ?? 300);
  const passes = Number(process.env.BENCH_HTTP_HOOK_PASSES ?? 5);
  // Load shedding holds a slot until a response that never ends here; the peers finish their work in
  // promises after the call returns: neither fits this loop.
  const variants = [...VARIANTS.filter((v) => /: (floor|weir)(, headers off)?$/.test(v)), ...SPELLED, ...DECIDING].sort(
    (x, y) => FRAMEWORKS.indexOf(x.split(':')[0] as Framework) - FRAMEWORKS.indexOf(y.split(':')[0] as Framework),
  );
  const results = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (let pass = 0; pass < passes; pass++) {
    for (const variant of variants) {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url), 'hook', variant, String(rounds)],
          { maxBuffer: 1 << 20 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        );
      });
      const ns = Number(/NS (-?[\d.]+)/.exec(out)?.[1] ?? Number.NaN);
      results.get(variant)?.push(ns);
      console.error(`pass ${pass + 1}/${passes} ${variant}: ${ns.toFixed(0)} ns per call`);
    }
  }
  const ns = (framework: Framework, middleware: Middleware) => median(results.get(`${framework}: ${middleware}`) ?? []);
  const lines = [
    `### HTTP: the middleware alone, in process (ns per call on a real request and reply, minus an empty hook's; least of ${rounds} rounds, median of ${passes} processes)`,
    '',
    "| middleware | ns per call | ÷ the floor's | ÷ the deciding floor's |",
    '|---|---:|---:|---:|',
    ...variants.map((variant) => {
      const [framework, middleware] = variant.split(': ') as [Framework, Middleware];
      const mine = ns(framework, middleware);
      const floor = ratioOf(middleware, mine, ns(framework, floorOf(middleware)));
      const deciding = ratioOf(middleware, mine, ns(framework, decidingFloorOf(middleware)));
      return `| ${nameOf(framework, middleware)} | ${mine.toFixed(0)} | ${floor} | ${deciding} |`;
    }),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const only = process.env.BENCH_HTTP_ONLY;
  const parts: string[] = [];
  if (only === undefined || only === 'wrk') parts.push(await underLoad());
  if (only === undefined || only === 'hooks') parts.push(await inProcess());
  parts.push(
    [
      'The floor reads the client address and sets `RateLimit-Policy` and `RateLimit` to constants, the bytes weir sends here,',
      'named in lower case as weir names them ("headers off": only the address; "names as spelled": the same fields named',
      '`RateLimit-Policy` and `RateLimit`, shown for reference, since Node and Fastify lower-case a name to store it).',
      '"÷ the floor\'s" compares what each middleware adds with what the floor of the same header mode adds (a rate limiter',
      'also decides, which the floor does not: a clock read and a state update per request);',
      '"floor + decision" (in process only) adds to the floor a hand-written keyed token bucket on the client address, the',
      'least a rate limiter does per request, and "÷ the deciding floor\'s" compares with it.',
      "weir's goal is <= 1.2. weir sends draft-10 fields; express-rate-limit its defaults (draft-6 + `X-RateLimit-*`);",
      '@fastify/rate-limit its defaults (`x-ratelimit-*`).',
    ].join('\n'),
  );
  console.log(parts.join('\n\n'));
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3] as Variant).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (process.argv[2] === 'hook') {
  hookCost(process.argv[3] as Variant, Number(process.argv[4])).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
