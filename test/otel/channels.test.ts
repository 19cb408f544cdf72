import diagnostics from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  constantBackoff,
  fallback,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

/** The channels docs/observability.md lists for the built-in policies. */
function documentedChannels(): string[] {
  const page = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
  return [...page.matchAll(/^\| `(weir:[a-z-]+:[a-z-]+)` \|/gm)]
    .map((m) => m[1] as string)
    .filter((c) => !c.startsWith('weir:http:'));
}

const kebab = (event: string) => event.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

describe('docs/observability.md: each documented channel carries its event once, with the payload listeners get', () => {
  it('every built-in event, published on its channel and seen by on()', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ name: 'b', consecutiveFailures: 1, openDurationMs: 100, slowCallDurationMs: 10, clock });
    const retrier = retry({ name: 'r', maxAttempts: 2, backoff: constantBackoff(5), clock });
    const pool = bulkhead({ name: 'p', maxConcurrent: 1, maxQueue: 1, clock });
    const limiter = tokenBucket({ name: 'l', capacity: 1, refillPerSecond: 1, clock });
    const limit = rateLimit(limiter, { name: 'rl' });
    const patient = rateLimit(limiter, { name: 'rlw', wait: { maxWaitMs: 5_000 } });
    const deadline = timeout({ name: 't', ms: 10, clock });
    const backup = fallback('x', { name: 'f' });
    const policies = {
      'circuit-breaker': breaker,
      retry: retrier,
      bulkhead: pool,
      'rate-limit': [limit, patient],
      timeout: deadline,
      fallback: backup,
    };
    const events: Record<string, string[]> = {
      'circuit-breaker': ['stateChange', 'success', 'failure', 'slowCall', 'rejected'],
      retry: ['retry', 'giveUp', 'success', 'failure'],
      bulkhead: ['acquired', 'queued', 'rejected', 'released', 'limit'],
      'rate-limit': ['allowed', 'rejected', 'waiting'],
      timeout: ['timeout'],
      fallback: ['fallback'],
    };
    const viaOn = new Map<string, unknown[]>();
    const viaChannel = new Map<string, unknown[]>();
    const subscriptions: [string, (message: unknown) => void][] = [];
    for (const [family, names] of Object.entries(events)) {
      for (const event of names) {
        const channel = `weir:${family}:${kebab(event)}`;
        viaOn.set(channel, []);
        viaChannel.set(channel, []);
        const onMessage = (message: unknown) => viaChannel.get(channel)?.push((message as { payload: unknown }).payload);
        diagnostics.subscribe(channel, onMessage);
        subscriptions.push([channel, onMessage]);
        for (const policy of [policies[family as keyof typeof policies]].flat()) {
          if (event === 'limit') continue; // adaptive bulkheads only
          (policy.on as (name: string, listener: (payload: unknown) => void) => void)(event, (payload) =>
            viaOn.get(channel)?.push(payload),
          );
        }
      }
    }
    try {
      // Breaker: a slow success, a failure that opens it, a rejection.
      const slow = breaker.execute(() => new Promise((resolve) => clock.setTimer(() => resolve('ok'), 20)));
      clock.advance(20);
      await slow;
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
      await breaker.execute(() => 'never').catch(() => {});
      // Retry: one retried failure that succeeds, one that gives up.
      let n = 0;
      const retried = retrier.execute(() => (++n === 1 ? Promise.reject(new Error('once')) : 'ok'));
      await clock.advanceAsync(5);
      await retried;
      const exhausted = retrier.execute(() => Promise.reject(new Error('always'))).catch(() => {});
      await clock.advanceAsync(5);
      await exhausted;
      // Bulkhead: one holds the slot, one queues, one is refused.
      let release!: () => void;
      const holding = pool.execute(() => new Promise<void>((resolve) => (release = resolve)));
      const queued = pool.execute(() => 'next');
      await pool.execute(() => 'refused').catch(() => {});
      release();
      await holding;
      await queued;
      // Rate limit: one allowed, one refused, one waits.
      await limit.execute(() => 'ok');
      await limit.execute(() => 'refused').catch(() => {});
      const waited = patient.execute(() => 'later');
      await clock.advanceAsync(1_000);
      await waited;
      // Timeout inside a fallback.
      const timed = backup.execute(() => deadline.execute(() => new Promise(() => {})));
      clock.advance(10);
      await timed;

      const documented = documentedChannels();
      expect(documented.sort()).toEqual([...viaChannel.keys()].sort());
      for (const channel of documented) {
        expect(viaChannel.get(channel), channel).toEqual(viaOn.get(channel));
        if (!channel.endsWith(':limit')) expect(viaChannel.get(channel)?.length, channel).toBeGreaterThan(0);
      }
    } finally {
      for (const [channel, onMessage] of subscriptions) diagnostics.unsubscribe(channel, onMessage);
    }
  });
});
