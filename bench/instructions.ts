/**
 * Instructions per call of each row of the core suite (bench/suites/core.ts), counted by Valgrind, each case
 * in a process of its own. Wall-clock rows on a shared VM move with its slow phases (the floor itself has
 * measured 76 and 116 ns in consecutive runs); an instruction count does not, so a ratio to the floor taken
 * this way says what the code costs, not what the machine was doing. It says nothing of cache misses, branch
 * prediction or the garbage collector's pauses: read it beside the wall-clock table, not instead of it.
 *
 * Method: the suite is bundled with esbuild, as the package is (one ESM file, weir's source and cockatiel
 * in it: a run under tsx spends billions of instructions transforming source, and not the same number twice).
 * For each case, two runs of `node` under `valgrind --tool=cachegrind --cache-sim=no`, each calling
 * the case WARM times and then N times (N = 10 000, then 30 000), awaiting each call; the difference of
 * their totals divided by 20 000 is the case's instructions per call, without the start-up and warm-up both
 * runs share. V8 runs with `--single-threaded` (compilation on the main thread, at the same call each time),
 * `--predictable-gc-schedule` and fixed hash and random seeds, so that a run repeats to within a few
 * instructions per call. The whole suite is loaded in each process (every policy is built) but only the
 * measured case runs: this is a policy alone in its process, as a service with one policy of each kind is,
 * not the mixed process of the wall-clock table (see bench/analysis.md, "One process, many policies").
 *
 *     node --import tsx bench/instructions.ts                    # every case, 8-15 minutes on 2 cores
 *     BENCH_CASES='bulkhead|floor' node --import tsx bench/instructions.ts
 *     BENCH_MIXED=1 BENCH_CASES='bulkhead|retry' node --import tsx bench/instructions.ts
 *
 * With BENCH_MIXED=1, each process first runs every selected case in turn (twice round, MIXED_WARM calls
 * each), as the wall-clock table's process does, and only then counts its own case: a policy in a process
 * where other policies (and the floors) have run through the same code.
 *
 * Needs valgrind (Debian: apt-get install valgrind). Prints a markdown table on stdout.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchCase, BenchSuite } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const WARM = 20_000;
const FEWER = 10_000;
const MORE = 30_000;
/** Calls of each other case, per turn, before a mixed count (BENCH_MIXED=1). */
const MIXED_WARM = 5_000;
/** The cases a mixed count runs first, passed to each child (names, JSON). */
const MIXED_ENV = 'WEIR_BENCH_MIXED';
/** V8 flags that make a run repeatable (see the header). */
const REPEATABLE = ['--single-threaded', '--predictable-gc-schedule', '--hash-seed=42', '--random-seed=42'];
/** Where the bundle of this file and the suite goes (a tool cache: ignored by git with node_modules). */
const BUNDLE = join(here, '..', 'node_modules', '.cache', 'weir-bench', 'instructions.mjs');

async function coreCases(): Promise<BenchCase[]> {
  const suite = (await import('./suites/core.js')).default as BenchSuite;
  return suite.cases;
}

/** Child side: runs `name` `warm` times, then `measured` times (the run Valgrind counts). */
async function runCase(name: string, warm: number, measured: number): Promise<void> {
  const all = await coreCases();
  const found = all.find((c) => c.name === name);
  if (found === undefined) throw new Error(`bench/instructions.ts: no case named ${JSON.stringify(name)} in the core suite`);
  const others = process.env[MIXED_ENV];
  if (others !== undefined) {
    for (let turn = 0; turn < 2; turn++) {
      for (const other of JSON.parse(others) as string[]) {
        const run = (all.find((c) => c.name === other) as BenchCase).fn;
        for (let i = 0; i < MIXED_WARM; i++) await run();
      }
    }
  }
  const fn = found.fn;
  for (let i = 0; i < warm; i++) await fn();
  for (let i = 0; i < measured; i++) await fn();
}

/** Total instructions of one counted run (cachegrind's "I refs"). */
function countedRun(name: string, measured: number, mixed: string[] | undefined): Promise<number> {
  const args = [
    '--tool=cachegrind',
    '--cache-sim=no',
    '--cachegrind-out-file=/dev/null',
    process.execPath,
    ...REPEATABLE,
    BUNDLE,
    'child',
    name,
    String(WARM),
    String(measured),
  ];
  return new Promise((resolve, reject) => {
    const env = mixed === undefined ? process.env : { ...process.env, [MIXED_ENV]: JSON.stringify(mixed) };
    execFile('valgrind', args, { cwd: join(here, '..'), env, maxBuffer: 1 << 22 }, (error, _stdout, stderr) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr)?.[1];
      if (error !== null || refs === undefined) {
        reject(
          new Error(`valgrind on ${JSON.stringify(name)}: ${error?.message ?? 'no instruction count'}\n${stderr.slice(-2000)}`),
        );
      } else resolve(Number(refs.replaceAll(',', '')));
    });
  });
}

async function perCall(name: string, mixed: string[] | undefined): Promise<number> {
  const [fewer, more] = await Promise.all([countedRun(name, FEWER, mixed), countedRun(name, MORE, mixed)]);
  return (more - fewer) / (MORE - FEWER);
}

async function bundle(): Promise<void> {
  const { build } = await import('esbuild');
  mkdirSync(dirname(BUNDLE), { recursive: true });
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: BUNDLE,
    logLevel: 'warning',
  });
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    throw new Error('valgrind was not found (Debian: apt-get install valgrind)');
  }
  await bundle();
  const only = process.env.BENCH_CASES === undefined ? undefined : new RegExp(process.env.BENCH_CASES);
  const cases = (await coreCases()).filter((c) => c.baseline || only === undefined || only.test(c.name));
  const mixed = process.env.BENCH_MIXED === '1' ? cases.map((c) => c.name) : undefined;
  const floor = cases.find((c) => c.baseline);
  if (floor === undefined) throw new Error('bench/instructions.ts: the core suite has no baseline row');
  // Both runs of a case at once: one per core (more would only slow each other down).
  const lanes = Math.max(1, Math.floor(availableParallelism() / 2));
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < cases.length) {
        const c = cases[next++] as BenchCase;
        const count = await perCall(c.name, mixed);
        counts.set(c.name, count);
        console.error(`${c.name}: ${count.toFixed(0)} instructions per call`);
      }
    }),
  );
  const base = counts.get(floor.name) as number;
  const lines = [
    `| case | library | instructions per call | × floor |`,
    '|---|---|---:|---:|',
    ...cases.map((c) => {
      const count = counts.get(c.name) as number;
      return `| ${c.name} | ${c.lib} | ${Math.round(count).toLocaleString('en-US')} | ${(count / base).toFixed(2)} |`;
    }),
  ];
  console.log(lines.join('\n'));
}

const [mode, name, warm, measured] = process.argv.slice(2);
(mode === 'child' ? runCase(name as string, Number(warm), Number(measured)) : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
