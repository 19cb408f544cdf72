import { describe, expect, test } from 'vitest';
import {
  BulkheadFullError,
  bulkhead,
  CircuitOpenError,
  circuitBreaker,
  type EventInfo,
  retry,
  TimeoutError,
  timeout,
  VirtualClock,
} from '../../src/index.js';

describe('policy names in the families', () => {
  test('a given name is the policy name, in event infos and in rejection errors', async () => {
    const clock = new VirtualClock();
    const infos: EventInfo[] = [];

    const breaker = circuitBreaker({ name: 'payments', consecutiveFailures: 1, clock });
    breaker.on('rejected', (_event, info) => infos.push(info));
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    const open = (await breaker.execute(() => 'never').catch((e: unknown) => e)) as CircuitOpenError;
    expect(breaker.name).toBe('payments');
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect(open.policy).toBe('payments');
    expect(open.message).toBe('Circuit "payments" is open; retry after 10000 ms');

    const pool = bulkhead({ name: 'db', maxConcurrent: 1, clock });
    pool.on('rejected', (_event, info) => infos.push(info));
    const held = pool.tryAcquire();
    const full = (await pool.execute(() => 'never').catch((e: unknown) => e)) as BulkheadFullError;
    held?.release();
    expect(full).toBeInstanceOf(BulkheadFullError);
    expect([full.policy, full.message]).toEqual(['db', 'Bulkhead "db" is full (1 running, queue full)']);

    const deadline = timeout({ name: 'slow-call', ms: 10, clock });
    deadline.on('timeout', (_event, info) => infos.push(info));
    const late = deadline.execute(() => new Promise(() => {})).catch((e: unknown) => e);
    await clock.advanceAsync(10);
    const timedOut = (await late) as TimeoutError;
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.policy).toBe('slow-call');

    const again = retry({ name: 'fetch-user', backoff: 0, clock });
    again.on('retry', (_event, info) => infos.push(info));
    let calls = 0;
    await again.execute(() => (++calls < 2 ? Promise.reject(new Error('x')) : 'ok'));
    expect(again.name).toBe('fetch-user');

    expect(infos.map((info) => [info.family, info.policy, info.event])).toEqual([
      ['circuit-breaker', 'payments', 'rejected'],
      ['bulkhead', 'db', 'rejected'],
      ['timeout', 'slow-call', 'timeout'],
      ['retry', 'fetch-user', 'retry'],
    ]);
  });

  test('default names are <family>-<n>, unique per process', () => {
    const names = [circuitBreaker(), circuitBreaker(), bulkhead(1), timeout(5), retry()].map((p) => p.name);
    expect(names[0]).toMatch(/^circuit-breaker-\d+$/);
    expect(names[1]).toMatch(/^circuit-breaker-\d+$/);
    expect(names[0]).not.toBe(names[1]);
    expect(names[2]).toMatch(/^bulkhead-\d+$/);
    expect(names[3]).toMatch(/^timeout-\d+$/);
    expect(names[4]).toMatch(/^retry-\d+$/);
  });

  test.each([
    ['circuitBreaker', () => circuitBreaker({ name: '' })],
    ['bulkhead', () => bulkhead({ maxConcurrent: 1, name: 3 as never })],
    ['timeout', () => timeout({ ms: 1, name: null as never })],
    ['retry', () => retry({ name: {} as never })],
  ])('%s refuses a bad name, naming the option', (_family, build) => {
    expect(build).toThrow(TypeError);
    expect(build).toThrow(/option "name"/);
  });
});
