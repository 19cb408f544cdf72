/**
 * A million composed calls leave no growth of the heap after GC. The run happens in a child
 * process (`node --expose-gc`, TS sources through tsx) so that the measurement sees neither vitest's heap
 * nor other tests. The bound is generous (a few MB against tens of KB of noise), yet a leak of even one
 * small object per call (16 bytes or more: 14 MB over 900 000 calls) would break it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const script = fileURLToPath(new URL('./memory-run.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const CALLS = 1_000_000;
const BOUND = 4 * 1024 * 1024;

interface Report {
  calls: number;
  warmup: number;
  wrong: number;
  elapsedMs: number;
  baseline: number;
  final: number;
  growth: number;
  peakGrowth: number;
  samples: { calls: number; heapUsed: number }[];
  state: { running: number; queued: number; pending: number; breaker: string };
}

function runChild(): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', script, String(CALLS)],
      { cwd: root, timeout: 60_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`memory run failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as Report);
      },
    );
  });
}

test('a million calls through the six-policy stack: no heap growth after GC', async () => {
  const report = await runChild();
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(
    `memory: ${report.calls} calls in ${report.elapsedMs} ms; heap after GC ${kb(report.baseline)} after ${report.warmup} warm-up calls, ` +
      `${kb(report.final)} at the end: growth ${kb(report.growth)} (peak ${kb(report.peakGrowth)}), ` +
      `${((report.growth / (report.calls - report.warmup)) * 1000).toFixed(1)} bytes per 1000 calls`,
  );
  expect(report.calls).toBe(CALLS);
  // Every call returned its own value (the retried ones too): the run measured the success path, not a stuck breaker.
  expect(report.wrong).toBe(0);
  expect(report.state).toEqual({ running: 0, queued: 0, pending: 0, breaker: 'closed' });
  expect(report.growth).toBeLessThan(BOUND);
  expect(report.peakGrowth).toBeLessThan(BOUND);
}, 90_000);
