/**
 * Every policy event is also published on `weir:<family>:<event in kebab-case>` through
 * node:diagnostics_channel, with the policy's name, only when the channel has subscribers.
 */
import { execFileSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { type ChannelMessage, channelName, circuitBreaker, definePolicy, timeout, VirtualClock } from '../../src/index.js';

function listen(name: string): { messages: ChannelMessage[]; stop(): void } {
  const messages: ChannelMessage[] = [];
  const onMessage = (message: unknown) => messages.push(message as ChannelMessage);
  subscribe(name, onMessage);
  return { messages, stop: () => unsubscribe(name, onMessage) };
}

describe('diagnostics channels', () => {
  test('channel names are weir:<family>:<event in kebab-case>', () => {
    expect(channelName('circuit-breaker', 'stateChange')).toBe('weir:circuit-breaker:state-change');
    expect(channelName('retry', 'giveUp')).toBe('weir:retry:give-up');
  });

  test('a breaker state change is delivered once, with the policy name and the payload', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock });
    const { messages, stop } = listen('weir:circuit-breaker:state-change');
    try {
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    } finally {
      stop();
    }
    const mine = messages.filter((m) => m.policy === breaker.name);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ policy: breaker.name, family: 'circuit-breaker', event: 'stateChange' });
    expect(mine[0]?.payload).toMatchObject({ to: 'open' });
  });

  test('the payload is the one listeners get, and channels and listeners both see each event once', async () => {
    const clock = new VirtualClock();
    const guard = timeout({ ms: 5, clock });
    const heard: unknown[] = [];
    guard.on('timeout', (event) => heard.push(event));
    const { messages, stop } = listen('weir:timeout:timeout');
    try {
      const call = guard.execute(() => new Promise(() => {})).catch(() => {});
      await clock.advanceAsync(5);
      await call;
    } finally {
      stop();
    }
    const mine = messages.filter((m) => m.policy === guard.name);
    expect(mine).toHaveLength(1);
    expect(heard).toHaveLength(1);
    expect(mine[0]?.payload).toBe(heard[0]);
  });

  test('a custom policy publishes on its family channel', async () => {
    const policy = definePolicy<{ seen: { attempt: number } }>({
      family: 'audit-trail',
      name: 'audit',
      events: ['seen'],
      enter: (call) => {
        if (call.listened('seen')) call.emit('seen', { attempt: call.attempt });
      },
    });
    const quiet = await policy.execute(() => 'no subscriber');
    expect(quiet).toBe('no subscriber');
    const { messages, stop } = listen('weir:audit-trail:seen');
    try {
      await policy.execute(() => 1);
    } finally {
      stop();
    }
    expect(messages).toEqual([{ policy: 'audit', family: 'audit-trail', event: 'seen', payload: { attempt: 1 } }]);
  });

  test('a throwing subscriber changes no outcome (Node reports its error as uncaught)', () => {
    const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
    const script = `
      import { subscribe } from 'node:diagnostics_channel';
      import { fallback } from ${JSON.stringify(index)};
      const errors = [];
      process.on('uncaughtException', (error) => errors.push(error.message));
      subscribe('weir:fallback:fallback', () => { throw new Error('subscriber bug'); });
      const value = await fallback('substitute').execute(() => Promise.reject(new Error('x')));
      setImmediate(() => console.log(JSON.stringify({ value, errors })));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ value: 'substitute', errors: ['subscriber bug'] });
  });

  test('a policy knows whether its event is observed: not without a listener or a subscriber', async () => {
    const answers: boolean[] = [];
    const policy = definePolicy<{ probe: null }>({
      family: 'probe-family',
      events: ['probe'],
      enter: (call) => {
        answers.push(call.listened('probe'));
      },
    });
    await policy.execute(() => 1);
    const { stop } = listen('weir:probe-family:probe');
    await policy.execute(() => 1);
    stop();
    await policy.execute(() => 1);
    const off = policy.on('probe', () => {});
    await policy.execute(() => 1);
    off();
    expect(answers).toEqual([false, true, false, true]);
  });
});
