import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Real timers, in a child process: after calls through a 60 s timeout settle, nothing may keep the process
// alive. The bound is generous; a leak would hold the process for 60 s.
test('no timer is left behind: the process exits right after its calls settle', async () => {
  const script = `
    import { compose, fallback, timeout } from './dist/index.js';
    const guarded = compose(fallback('fb'), timeout(60_000));
    const results = await Promise.all([
      guarded(async () => 'ok')(),
      guarded(async () => { throw new Error('x'); })(),
      timeout(60_000).execute(({ signal }) => signal.aborted ? 'aborted' : 'live'),
    ]);
    console.log(JSON.stringify(results));
  `;
  const started = Date.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 30_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    );
  });
  expect(JSON.parse(stdout)).toEqual(['ok', 'fb', 'live']);
  expect(Date.now() - started).toBeLessThan(30_000);
});
