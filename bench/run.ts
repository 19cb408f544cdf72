/**
 * `npm run bench`: runs every suite in bench/suites (or those named in BENCH_FILTER, comma-separated), then
 * the standalone benchmarks that need servers (HTTP adapters, Redis, fetch, memory per key), prints
 * progress, and writes docs/benchmarks.md. BENCH_ROUNDS (default 5) and BENCH_TIME_MS (default 400) trade
 * accuracy for time; BENCH_STANDALONE=0 skips the standalone ones; BENCH_CASES (a regular expression) keeps
 * only the matching cases of each suite, and its floor: the same rows in a process that runs nothing else.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuite, SuiteResult } from './lib.js';
import { runSuite } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const timeMs = Number(process.env.BENCH_TIME_MS ?? 400);
const filter = process.env.BENCH_FILTER?.split(',').map((s) => s.trim());
const only = process.env.BENCH_CASES === undefined ? undefined : new RegExp(process.env.BENCH_CASES);
const output = process.env.BENCH_OUTPUT ?? join(here, '..', 'docs', 'benchmarks.md');

function fmt(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
}

function table(result: SuiteResult): string {
  // The ratio column divides by the suite's baseline: the floor row where a suite has one, else bare.
  const base = result.cases.find((c) => c.baseline)?.lib === 'floor' ? 'floor' : 'bare';
  const lines = [
    `### ${result.name}`,
    '',
    result.description,
    '',
    `| case | library | path | ns/op | × ${base} | spread |`,
    '|---|---|---|---:|---:|---:|',
  ];
  for (const c of result.cases) {
    lines.push(
      `| ${c.name} | ${c.lib} | ${c.path} | ${fmt(c.nsPerOp)} | ${c.baseline ? '1.00' : c.ratio.toFixed(2)} | ${(c.spread * 100).toFixed(0)} % |`,
    );
  }
  return lines.join('\n');
}

/** Standalone benchmarks: each prints its own Markdown table on stdout. */
const STANDALONE: { title: string; name: string; args: string[]; about: string }[] = [
  {
    title: 'Memory per key (1 M keys)',
    name: 'memory',
    args: ['--expose-gc', '--import', 'tsx', 'bench/suites/rate-limit.ts'],
    about: 'Heap (plus ArrayBuffers) per key after 1,000,000 distinct keys, after GC.',
  },
  {
    title: 'HTTP adapters (server CPU per request)',
    name: 'http',
    args: ['--import', 'tsx', 'bench/http.ts'],
    about:
      'Two measurements beside the floor middleware (reads the client address, sets the two RateLimit fields; "headers off": only reads the address). First, wrk against hello-world routes on loopback, each server pinned to core 0 and wrk to core 1: the server CPU each middleware adds per request, against the mean of two runs of its bare server around it (median and interquartile range over rounds; below a microsecond or two this is within the noise). Second, each middleware alone, in process, on a real request and reply: ns per call, which resolves differences of about 100 ns. See the header of bench/http.ts.',
  },
  {
    title: 'Instructions per call (core suite, one case per process)',
    name: 'instructions',
    args: ['--import', 'tsx', 'bench/instructions.ts'],
    about:
      'The rows of the call-forms table above, counted by Valgrind instead of timed: each case alone in its process, on a bundle of the suite, V8 single-threaded with fixed seeds, so that a case repeats to within a few instructions per call. The slow phases of this VM do not move it; cache misses, branch prediction and the collector\'s pauses are not in it. "× floor" divides by the floor row counted the same way. Method: the header of bench/instructions.ts.',
  },
  {
    title: 'Redis store (decisions per second)',
    name: 'redis',
    args: ['--import', 'tsx', 'bench/redis.ts'],
    about: 'One Node process against a local redis-server started by the script.',
  },
  {
    title: 'Resilient fetch (overhead per request)',
    name: 'fetch',
    args: ['--import', 'tsx', 'bench/fetch.ts'],
    about: 'Sequential requests to a local server.',
  },
];

function runStandalone(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

/** Runs one suite file's suites in this process (a child of `main`), reporting JSON on stdout. */
async function runChild(file: string): Promise<void> {
  const mod = (await import(pathToFileURL(join(here, 'suites', file)).href)) as { default: BenchSuite | BenchSuite[] };
  const all = Array.isArray(mod.default) ? mod.default : [mod.default];
  const suites = all
    .map((suite) =>
      only === undefined ? suite : { ...suite, cases: suite.cases.filter((c) => c.baseline || only.test(c.name)) },
    )
    .filter((suite) => suite.cases.some((c) => !c.baseline));
  const results: SuiteResult[] = [];
  for (const suite of suites) {
    console.error(`running ${suite.name} (${suite.cases.length} cases × ${rounds} rounds)`);
    const result = await runSuite(suite, { rounds, timeMs, log: (line) => console.error(line) });
    console.error(table(result));
    results.push(result);
  }
  console.log(`${RESULT_MARK}${JSON.stringify(results)}`);
}

const RESULT_MARK = '@@bench-result ';

/** Each suite file runs in a fresh process, so that one library's JIT state cannot slow down another's. */
function runFile(file: string): Promise<SuiteResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      cwd: join(here, '..'),
      env: { ...process.env, BENCH_CHILD: file },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (code !== 0 || line === undefined) reject(new Error(`bench suite ${file} exited with ${code}`));
      else resolve(JSON.parse(line.slice(RESULT_MARK.length)) as SuiteResult[]);
    });
  });
}

async function main(): Promise<void> {
  const files = readdirSync(join(here, 'suites'))
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const results: SuiteResult[] = [];
  for (const file of files) {
    const name = file.replace(/\.ts$/, '');
    if (filter !== undefined && !filter.includes(name)) continue;
    results.push(...(await runFile(file)));
  }
  const standalone: string[] = [];
  if (process.env.BENCH_STANDALONE !== '0') {
    for (const bench of STANDALONE) {
      if (filter !== undefined && !filter.includes(bench.name)) continue;
      console.log(`running ${bench.title}`);
      try {
        standalone.push(`### ${bench.title}`, '', bench.about, '', await runStandalone(bench.args), '');
      } catch (error) {
        standalone.push(`### ${bench.title}`, '', `Not measured: ${(error as Error).message}`, '');
      }
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const doc = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); do not edit by hand.',
    '',
    `- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`,
    `- Method: tinybench, each suite file in a fresh process, ${rounds} rounds of ${timeMs} ms per case; each sample awaits a batch of calls; ns/op is the least, over rounds, of each round's median (rounds are interleaved across cases; a slow phase of the machine only adds time). "× floor" divides by the floor row (an async wrapper that awaits the function in a try/finally: the least any policy costs), "× bare" by the bare awaited call, each measured in the same run. "spread" is (max − min) / min of the round medians: the noise of this machine.`,
    '',
    readFileSync(join(here, 'analysis.md'), 'utf8').trim(),
    '',
    '## Measurements',
    '',
    ...results.map(table).flatMap((t) => [t, '']),
    ...standalone,
  ].join('\n');
  writeFileSync(output, doc);
  console.log(`wrote ${output}`);
}

const child = process.env.BENCH_CHILD;
(child === undefined ? main() : runChild(child)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
