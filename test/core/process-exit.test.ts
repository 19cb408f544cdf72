import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundledWeir } from '../helpers/bundled-weir.js';

// Real timers, in child processes, on weir's sources bundled once. The rule: a timer that a pending call
// awaits keeps the process alive exactly as long as that call is pending; idle housekeeping never does.
// The kill bound is generous and is a hang detector, not a timing threshold: a leak holds for 60 s or more.

const folder = bundledWeir('weir-exit-');

interface Exit {
  code: number | null;
  stdout: string;
  killed: boolean;
}

function run(name: string, script: string): Promise<Exit> {
  const file = join(folder(), `${name}.mjs`);
  writeFileSync(file, `import * as weir from './weir.mjs';\n${script}`);
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 30_000 }, (error, stdout) => {
      const killed = error !== null && (error as { killed?: boolean }).killed === true;
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, killed });
    });
  });
}

describe('process lifetime', () => {
  test('idle policies hold nothing: the process exits right after its calls settle', async () => {
    const exit = await run(
      'idle',
      `
      const { bulkhead, circuitBreaker, compose, fallback, retry, retryBudget, timeout } = weir;
      const guarded = compose(fallback('fb'), timeout(600_000));
      const pool = bulkhead({ maxConcurrent: 1, maxQueue: 5, maxQueueWaitMs: 600_000 });
      const all = compose(retry({ backoff: 600_000, budget: retryBudget() }), circuitBreaker({ window: { type: 'time', durationMs: 600_000 } }), pool, timeout(600_000));
      const results = await Promise.all([
        guarded(async () => 'ok')(),
        guarded(async () => { throw new Error('x'); })(),
        timeout(600_000).execute(({ signal }) => (signal.aborted ? 'aborted' : 'live')),
        all.execute(async () => 'composed'),
      ]);
      console.log(JSON.stringify(results));
    `,
    );
    expect(exit).toEqual({ code: 0, stdout: '["ok","fb","live","composed"]\n', killed: false });
  });

  test('a script awaiting a retry exits after the retry, with its output', async () => {
    const exit = await run(
      'retry',
      `
      let calls = 0;
      const value = await weir.retry({ maxAttempts: 3, backoff: 200 }).execute(() => {
        if (++calls < 3) throw new Error('flaky');
        return 'third';
      });
      console.log(JSON.stringify({ value, calls }));
    `,
    );
    expect(exit).toEqual({ code: 0, stdout: '{"value":"third","calls":3}\n', killed: false });
  });

  test('a pending timeout deadline keeps the process alive until it fires', async () => {
    const exit = await run(
      'timeout',
      `
      const error = await weir.timeout(200).execute(() => new Promise(() => {})).catch((e) => e);
      console.log(error.name, error.timeoutMs);
    `,
    );
    expect(exit).toEqual({ code: 0, stdout: 'TimeoutError 200\n', killed: false });
  });

  test('a call waiting in a bulkhead queue keeps the process alive until its wait ends', async () => {
    const exit = await run(
      'queue',
      `
      const pool = weir.bulkhead({ maxConcurrent: 1, maxQueue: 1, maxQueueWaitMs: 200 });
      const held = pool.tryAcquire();
      const error = await pool.execute(() => 'never').catch((e) => e);
      console.log(error.name, error.reason, held !== undefined);
    `,
    );
    expect(exit).toEqual({ code: 0, stdout: 'BulkheadFullError queue-timeout true\n', killed: false });
  });

  test('a zero-delay retry storm lets timers run: an outer timeout ends it', async () => {
    const exit = await run(
      'storm',
      `
      let attempts = 0;
      let ticks = 0;
      const interval = setInterval(() => ticks++, 10);
      const storm = weir.compose(weir.timeout(100), weir.retry({ maxAttempts: 1e9, backoff: 0 }));
      const error = await storm.execute(() => { attempts++; throw new Error('instant'); }).catch((e) => e);
      const atEnd = attempts;
      await new Promise((resolve) => setTimeout(resolve, 50));
      clearInterval(interval);
      console.log(JSON.stringify({ error: error.name, ticked: ticks > 0, stopped: attempts === atEnd, bounded: attempts < 1e9 }));
    `,
    );
    expect(exit).toEqual({
      code: 0,
      stdout: '{"error":"TimeoutError","ticked":true,"stopped":true,"bounded":true}\n',
      killed: false,
    });
  });
});
