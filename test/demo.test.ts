import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisProcess, redisAvailable } from './helpers/redis-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs `npm run demo`'s program for real (servers on loopback, real time) in a short mode. The program
 * never calls process.exit on success, so it ends only when it leaves nothing running: a leaked timer,
 * socket or server would hold it past the timeout and fail the test.
 */
function runDemo(env: Record<string, string>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'demo/index.ts'],
      { cwd: root, timeout: 60_000, env: { ...process.env, DEMO_SECONDS: '5', REDIS_URL: '', ...env } },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

function checkSummary(output: string): void {
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
  expect(output).toMatch(/per-attempt timeout cut \d+ slow attempts short/); // measured, not asserted by the demo
  checkMetrics(output, sent as number, limited as number, Number(total?.[3]), Number(total?.[4]));
}

/**
 * The weir/otel lines agree with what the clients saw: the SDK counted the same requests, 429s and 503s
 * (up to the requests that got no answer, which the server may or may not have seen).
 */
function checkMetrics(output: string, sent: number, limited: number, shed: number, errors: number): void {
  const within = (value: number, low: number) => {
    expect(value).toBeGreaterThanOrEqual(low);
    expect(value).toBeLessThanOrEqual(low + errors);
  };
  expect(output).toMatch(/^Metrics \(weir\/otel/m);
  const breaker = /^- weir\.policy\.calls \(upstream breaker\): (\d+) success, (\d+) failure, (\d+) rejected/m.exec(output);
  expect(breaker).not.toBeNull();
  expect(Number(breaker?.[3])).toBeGreaterThan(0); // the breaker opened, so it rejected calls
  expect(output).toMatch(/^- weir\.circuit_breaker\.time: [\d.]+ s open, [\d.]+ s half-open; opened [1-9]\d* times/m);
  expect(output).toMatch(/^- retry amplification \(weir\.retry\.attempts \/ calls\): \d+ attempts for \d+ calls = [\d.]+\./m);
  const limits =
    /^- weir\.rate_limiting\.requests \(per-client, http\.route \/quote\/:id\): (\d+) acquired, (\d+) rejected\./m.exec(output);
  expect(limits).not.toBeNull();
  within(Number(limits?.[2]), limited);
  const shedding = /^- weir\.policy\.calls \(load shedding bulkhead\): (\d+) admitted, (\d+) rejected/m.exec(output);
  expect(shedding).not.toBeNull();
  within(Number(shedding?.[2]), shed);
  within(Number(shedding?.[1]) + Number(shedding?.[2]), sent - errors);
}

test('the demo runs in memory, shows each phase, and exits by itself with status 0', async () => {
  const output = await runDemo({});
  expect(output).toContain('per-client limits in memory');
  checkSummary(output);
}, 90_000);

describe.skipIf(!redisAvailable)('with REDIS_URL', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('the demo keeps its per-client limits in Redis', async () => {
    const output = await runDemo({ REDIS_URL: redis.url });
    expect(output).toContain(`per-client limits in Redis (${redis.url})`);
    checkSummary(output);
  }, 90_000);
});
