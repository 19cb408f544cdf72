/**
 * src/core/runtime.ts on Node: each helper uses Node's API where it exists and degrades where it does not
 * (the other runtimes run it for real in suite.test.ts and browser-bundle.test.ts).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  diagnosticsChannel,
  emitWarning,
  isIPv4,
  isIPv6,
  nextMacrotask,
  refTimer,
  timersEndWithRequest,
} from '../../src/core/runtime.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('isIPv4 and isIPv6 (node:net is missing on workerd and in browsers)', () => {
  const agree = (text: string): void => {
    expect(isIPv4(text), text).toBe(net.isIPv4(text));
    expect(isIPv6(text), text).toBe(net.isIPv6(text));
  };

  it('agree with node:net on addresses', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6()), agree), { numRuns: 2000 });
  });

  it('agree with node:net on near-addresses: strings of address characters, zones, mutations of valid ones', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEFgx:.%'.split(''));
    const near = fc.string({ unit: alphabet, maxLength: 45 });
    const mutated = fc
      .tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat(), fc.constantFrom('', ':', '.', '%', '::', '0', '%eth0', 'ffff'))
      .map(([ip, at, insert]) => {
        const i = at % (ip.length + 1);
        return ip.slice(0, i) + insert + ip.slice(i);
      });
    fc.assert(fc.property(fc.oneof(near, mutated), agree), { numRuns: 5000 });
  });

  it.each([
    '1.2.3.4',
    '01.2.3.4',
    '256.1.1.1',
    '::',
    '::1',
    '::ffff:1.2.3.4',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '1::2::3',
    'fe80::1%eth0',
    'fe80::1%',
    '1:2:3:4:5:6:1.2.3.4',
    '',
  ])('agrees with node:net on %j', (text) => agree(text));
});

describe('refTimer', () => {
  it('unreferences and references a Node timer', () => {
    const timer = setTimeout(() => {}, 1000);
    try {
      refTimer(timer, false);
      expect(timer.hasRef()).toBe(false);
      refTimer(timer, true);
      expect(timer.hasRef()).toBe(true);
    } finally {
      clearTimeout(timer);
    }
  });

  it('is a no-op for handles without ref/unref: numbers (workerd, browsers), other objects, nothing', () => {
    for (const handle of [1, 0, {}, null, undefined, 'x']) {
      expect(() => refTimer(handle, false)).not.toThrow();
      expect(() => refTimer(handle, true)).not.toThrow();
    }
  });
});

describe('emitWarning', () => {
  it('uses process.emitWarning with the code where it exists', () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    emitWarning('something failed', 'WEIR_TEST');
    expect(emit).toHaveBeenCalledWith('something failed', { code: 'WEIR_TEST' });
  });

  it('falls back to console.warn where process.emitWarning is missing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const original = process.emitWarning;
    (process as { emitWarning?: unknown }).emitWarning = undefined;
    try {
      emitWarning('something failed', 'WEIR_TEST');
    } finally {
      process.emitWarning = original;
    }
    expect(warn).toHaveBeenCalledWith('(WEIR_TEST) something failed');
  });
});

describe('nextMacrotask', () => {
  it('resolves after the promise continuations queued before it', async () => {
    const order: string[] = [];
    const done = nextMacrotask().then(() => order.push('macrotask'));
    Promise.resolve()
      .then(() => order.push('microtask 1'))
      .then(() => order.push('microtask 2'));
    await done;
    expect(order).toEqual(['microtask 1', 'microtask 2', 'macrotask']);
  });
});

describe('runtime facts on Node', () => {
  it('timers outlive requests here (only workerd cancels them)', () => {
    expect(timersEndWithRequest).toBe(false);
  });

  it('diagnosticsChannel returns the node:diagnostics_channel channel of the name', () => {
    const channel = diagnosticsChannel('weir:test:runtime');
    expect(channel).toBeDefined();
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe('weir:test:runtime', listener);
    try {
      expect(channel?.hasSubscribers).toBe(true);
      channel?.publish({ hello: 1 });
    } finally {
      unsubscribe('weir:test:runtime', listener);
    }
    expect(seen).toEqual([{ hello: 1 }]);
  });
});
