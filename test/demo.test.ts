import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// Runs `npm run demo`'s program in a short mode, for real (servers on loopback, real time): it must exit by
// itself with status 0 and tell what happened in each phase.
test('the demo runs, shows each phase, and exits by itself with status 0', async () => {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'demo/index.ts'],
      { cwd: root, timeout: 60_000, env: { ...process.env, DEMO_SECONDS: '5', REDIS_URL: '' } },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
    );
  });
  expect(output).toContain('per-client limits in memory');
  const perSecond = output.split('\n').filter((line) => /^\s+\d+s (fine|slow|failing|recovered)/.test(line));
  expect(perSecond).toHaveLength(5);
  for (const phase of ['fine', 'slow', 'failing', 'recovered']) expect(output).toMatch(new RegExp(`^- ${phase} \\(`, 'm'));
  const breaker = /^breaker\s+(\S+)/m.exec(output)?.[1] ?? '';
  expect(breaker).toMatch(/O/); // the breaker opened while the upstream misbehaved
  const total = /^Total: (\d+) requests, (\d+) rate limited, (\d+) shed, (\d+) errors/m.exec(output);
  expect(total).not.toBeNull();
  const [, sent, limited] = (total as RegExpExecArray).map(Number);
  expect(sent).toBeGreaterThan(200);
  expect(limited).toBeGreaterThan(0); // the greedy client was limited
}, 90_000);
