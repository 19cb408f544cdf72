/**
 * Benchmark harness. A suite is a list of cases measured in one tinybench run, beside a `bare` baseline
 * (an awaited call of the same function with no policy), so ratios compare like with like on a noisy
 * machine. Each sample awaits `batch` calls in a loop; ns/op is the sample time divided by `batch`.
 */
import { Bench } from 'tinybench';

export type CasePath = 'success' | 'rejection' | 'failure' | 'other';

export interface BenchCase {
  /** Short label shown in the table, e.g. `weir timeout`. */
  name: string;
  /** Who this measures: `bare`, `weir`, or a peer's package name. */
  lib: string;
  path: CasePath;
  /** One operation. */
  fn: () => unknown;
  /** The baseline of the suite (exactly one case). */
  baseline?: boolean;
}

export interface BenchSuite {
  name: string;
  description: string;
  /** Calls per sample (default 1000): large enough to dwarf the timer's own cost. */
  batch?: number;
  cases: BenchCase[];
}

export interface CaseResult {
  name: string;
  lib: string;
  path: CasePath;
  baseline: boolean;
  /** The least, over rounds, of each round's median ns/op (a slow phase of the machine only adds time). */
  nsPerOp: number;
  /** Ratio to the suite's baseline, both taken the same way. */
  ratio: number;
  /** Relative spread of the round medians: (max - min) / min. */
  spread: number;
}

export interface SuiteResult {
  name: string;
  description: string;
  cases: CaseResult[];
}

/**
 * A case's ns/op over rounds: the least of its round medians. Rounds are interleaved across cases, and this
 * VM has phases of seconds in which everything runs ~1.5× slower; noise only adds time, so the least round
 * is the case's cost on an undisturbed machine, and every row of a suite is taken the same way.
 */
function least(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

export interface RunOptions {
  rounds: number;
  timeMs: number;
  log: (line: string) => void;
}

/** A full collection between tasks, when the process runs with `--expose-gc` (`npm run bench` does). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function runSuite(suite: BenchSuite, options: RunOptions): Promise<SuiteResult> {
  const batch = suite.batch ?? 1000;
  const perCase = new Map<string, number[]>();
  for (let round = 1; round <= options.rounds; round++) {
    const bench = new Bench({ time: options.timeMs, warmupTime: Math.min(200, options.timeMs) });
    // Each round starts at another case, so no case always follows the same one (a peer that leaves much
    // garbage would otherwise bill its collection to the case after it), and each task starts on a fresh
    // heap when the run has `--expose-gc`.
    const count = suite.cases.length;
    for (let k = 0; k < count; k++) {
      const c = suite.cases[(k + round - 1) % count] as BenchCase;
      const fn = c.fn;
      bench.add(
        c.name,
        async () => {
          for (let i = 0; i < batch; i++) await fn();
        },
        { beforeAll: collectGarbage },
      );
    }
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') {
        const error = 'error' in result ? String((result as { error?: unknown }).error) : result.state;
        throw new Error(`bench ${suite.name} / ${task.name}: ${error}`);
      }
      const ns = (result.latency.p50 * 1e6) / batch;
      const list = perCase.get(task.name) ?? [];
      list.push(ns);
      perCase.set(task.name, list);
    }
    options.log(`  ${suite.name}: round ${round}/${options.rounds} done`);
  }
  const baseline = suite.cases.find((c) => c.baseline);
  const baseNs = baseline === undefined ? Number.NaN : least(perCase.get(baseline.name) ?? []);
  const cases = suite.cases.map((c) => {
    const values = perCase.get(c.name) ?? [];
    const ns = least(values);
    return {
      name: c.name,
      lib: c.lib,
      path: c.path,
      baseline: c.baseline === true,
      nsPerOp: ns,
      ratio: ns / baseNs,
      spread: (Math.max(...values) - Math.min(...values)) / ns,
    };
  });
  return { name: suite.name, description: suite.description, cases };
}

/**
 * A case's call (`body`, over `values` by name), compiled as a function of its own, as a hand-written case
 * is. V8 keeps type feedback per function literal, so one literal in a loop that builds cases would be one
 * call site for every policy the loop builds: a site that sees every policy, which a program's call of one
 * policy does not, and which a hand-written floor row does not pay either (measured: a bulkhead's `execute`
 * 1.25x the floor in instructions through such a site, 1.07x through its own, in a process where four
 * families ran). Such a shared site is measured on purpose in the dispatch suite. The case's name in the
 * source keeps V8's compilation cache from sharing one function between cases.
 */
export function callSite(name: string, body: string, values: Record<string, unknown>): () => unknown {
  const make = new Function(...Object.keys(values), `return () => ${body}; // ${name}`);
  return make(...Object.values(values)) as () => unknown;
}

/** An async function that resolves at once: the work every case wraps. */
export const leaf = async (x: number): Promise<number> => x + 1;

/**
 * `performance`, read once, as weir's default clock reads it: Node defines the global as an accessor, so
 * `performance.now()` written out calls a getter at every read (about 170 instructions), which a floor must
 * not pay when weir does not.
 */
export const perf: Performance = globalThis.performance;

/** A key's state in {@link MinimalTokenBucket}. */
class MinimalBucket {
  tokens = 0;
  last = 0;
}

/**
 * The least a keyed token bucket can do, hand-written for one known limit: a clock read, the key's state
 * from a map, the refill, the take. Floating-point tokens (weir's are exact integers), no key bound,
 * options, events or headers: the floor of a rate limiter's decision, not a competitor.
 */
export class MinimalTokenBucket {
  private readonly buckets = new Map<string, MinimalBucket>();
  private readonly perMs: number;
  constructor(
    private readonly capacity: number,
    refillPerSecond: number,
  ) {
    this.perMs = refillPerSecond / 1000;
  }

  take(key: string): boolean {
    const now = perf.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new MinimalBucket();
      bucket.tokens = this.capacity;
      this.buckets.set(key, bucket);
    } else bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.last) * this.perMs);
    bucket.last = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
/** An async function that rejects at once (a shared error, so that no stack capture is measured). */
export const failure = new Error('boom');
export const failingLeaf = async (_x: number): Promise<number> => {
  throw failure;
};
