/**
 * Model-based test: random sequences of calls (started, then finished as a success, a failure, a result
 * judged a failure, or an ignored error, after any amount of virtual time, so some are slow), clock
 * advances, and manual commands (isolate, disable, release, reset), run against the real policy and
 * against the small reference model below. After every command they must agree on the state, on every
 * admit/reject (with the rejection's state and retryAfterMs), on the window's counts, and on the whole
 * sequence of state changes with their reasons.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  circuitBreaker,
  isCircuitOpenError,
  VirtualClock,
} from '../../src/index.js';

type State = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';

interface Config {
  window: { type: 'count'; size: number } | { type: 'time'; durationMs: number; buckets: number };
  minimumCalls: number;
  failureRateThreshold: number;
  consecutiveFailures: number | undefined;
  slowCallDurationMs: number | undefined;
  slowCallRateThreshold: number;
  initialMs: number;
  maxMs: number;
  multiplier: number;
  permits: number;
  maxWaitMs: number;
  /** Whether the breaker has an `isResultFailure` (without one, a resolved 'bad' is a success). */
  judgeResults: boolean;
}

interface ModelCall {
  /** Generation that admitted it; -1 for a disabled-state call, which never counts. */
  gen: number;
  start: number;
}

interface ModelHandle {
  kind: 'isolate' | 'disable';
  era: number;
  released: boolean;
}

interface Rec {
  t: number;
  failed: boolean;
  slow: boolean;
}

type Outcome = 'success' | 'failure' | 'result-failure' | 'ignored';

/** The reference model: deliberately naive (lists and brute-force counts), written from the spec. */
class Model {
  now = 0;
  state: State = 'closed';
  gen = 0;
  records: Rec[] = [];
  consecutive = 0;
  openUntil = 0;
  reopens = 0;
  trialsInFlight = 0;
  trialsDone = 0;
  trialFailures = 0;
  trialSlow = 0;
  trialDeadline = Number.POSITIVE_INFINITY;
  iso = 0;
  dis = 0;
  era = 0;
  transitions: string[] = [];
  inflight: ModelCall[] = [];
  handles: ModelHandle[] = [];

  constructor(readonly cfg: Config) {}

  private go(to: State, at: number, reason: string): void {
    const from = this.state;
    if (to === 'open') {
      if (from === 'half-open') this.reopens++;
      this.openUntil = at + Math.min(this.cfg.maxMs, this.cfg.initialMs * this.cfg.multiplier ** this.reopens);
    } else if (to === 'closed') {
      this.reopens = 0;
    }
    this.state = to;
    this.fresh();
    this.transitions.push(`${from}>${to}:${reason}`);
  }

  private fresh(): void {
    this.gen++;
    this.records = [];
    this.consecutive = 0;
    this.trialsInFlight = this.trialsDone = this.trialFailures = this.trialSlow = 0;
    this.trialDeadline = Number.POSITIVE_INFINITY;
  }

  sync(): void {
    for (;;) {
      if (this.state === 'open' && this.now >= this.openUntil) this.go('half-open', this.openUntil, 'open-elapsed');
      else if (this.state === 'half-open' && this.now >= this.trialDeadline)
        this.go('open', this.trialDeadline, 'half-open-timeout');
      else return;
    }
  }

  window(): Rec[] {
    const w = this.cfg.window;
    if (w.type === 'count') return this.records.slice(-w.size);
    const bucketMs = w.durationMs / w.buckets;
    const head = Math.floor(this.now / bucketMs);
    return this.records.filter((r) => Math.floor(r.t / bucketMs) > head - w.buckets);
  }

  /** Returns the admitted call, or the rejection's state and retryAfterMs. */
  start(): ModelCall | { rejected: State; retryAfterMs: number } {
    this.sync();
    const s = this.state;
    if (s === 'closed') return { gen: this.gen, start: this.now };
    if (s === 'disabled') return { gen: -1, start: this.now };
    if (s === 'half-open' && this.trialsInFlight + this.trialsDone < this.cfg.permits) {
      if (this.trialDeadline === Number.POSITIVE_INFINITY) this.trialDeadline = this.now + this.cfg.maxWaitMs;
      this.trialsInFlight++;
      return { gen: this.gen, start: this.now };
    }
    const retryAfterMs =
      s === 'open'
        ? this.openUntil - this.now
        : s === 'half-open'
          ? Math.max(0, this.trialDeadline - this.now)
          : Number.POSITIVE_INFINITY;
    return { rejected: s, retryAfterMs };
  }

  finish(call: ModelCall, outcome: Outcome): void {
    this.sync();
    if (call.gen !== this.gen || (this.state !== 'closed' && this.state !== 'half-open')) return;
    const slow = this.cfg.slowCallDurationMs !== undefined && this.now - call.start > this.cfg.slowCallDurationMs;
    const cfg = this.cfg;
    if (this.state === 'half-open') {
      this.trialsInFlight--;
      if (outcome === 'ignored') return;
      this.trialsDone++;
      if (outcome !== 'success') this.trialFailures++;
      if (slow) this.trialSlow++;
      if (this.trialsDone < cfg.permits) return;
      if (this.trialFailures / this.trialsDone >= cfg.failureRateThreshold) this.go('open', this.now, 'failure-rate');
      else if (this.trialSlow / this.trialsDone >= this.slowThreshold()) this.go('open', this.now, 'slow-call-rate');
      else this.go('closed', this.now, 'trials-passed');
      return;
    }
    if (outcome === 'ignored') return;
    const failed = outcome !== 'success';
    this.records.push({ t: this.now, failed, slow });
    this.consecutive = failed ? this.consecutive + 1 : 0;
    const win = this.window();
    const calls = win.length;
    const failures = win.filter((r) => r.failed).length;
    const slows = win.filter((r) => r.slow).length;
    if (cfg.consecutiveFailures !== undefined && this.consecutive >= cfg.consecutiveFailures)
      this.go('open', this.now, 'consecutive-failures');
    else if (calls >= cfg.minimumCalls && failures / calls >= cfg.failureRateThreshold) this.go('open', this.now, 'failure-rate');
    else if (calls >= cfg.minimumCalls && slows / calls >= this.slowThreshold()) this.go('open', this.now, 'slow-call-rate');
  }

  private slowThreshold(): number {
    return this.cfg.slowCallDurationMs === undefined ? Number.POSITIVE_INFINITY : this.cfg.slowCallRateThreshold;
  }

  hold(kind: 'isolate' | 'disable'): void {
    this.sync();
    this.handles.push({ kind, era: this.era, released: false });
    if (kind === 'isolate') {
      if (this.iso++ === 0) this.go('isolated', this.now, 'isolated');
    } else if (this.dis++ === 0 && this.iso === 0) {
      this.go('disabled', this.now, 'disabled');
    }
  }

  release(handle: ModelHandle): void {
    if (handle.released) return;
    handle.released = true;
    if (handle.era !== this.era) return;
    this.sync();
    if (handle.kind === 'isolate') {
      if (--this.iso === 0) this.go(this.dis > 0 ? 'disabled' : 'closed', this.now, 'released');
    } else if (--this.dis === 0 && this.iso === 0) {
      this.go('closed', this.now, 'released');
    }
  }

  reset(): void {
    this.sync();
    this.era++;
    this.iso = this.dis = 0;
    this.reopens = 0;
    if (this.state === 'closed') this.fresh();
    else this.go('closed', this.now, 'reset');
  }
}

interface Deferred {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Real {
  clock: VirtualClock;
  breaker: CircuitBreakerPolicy;
  transitions: string[];
  inflight: Deferred[];
  handles: { release(): void }[];
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function compare(model: Model, real: Real): void {
  model.sync();
  expect(real.breaker.state).toBe(model.state);
  expect(real.transitions).toEqual(model.transitions);
  expect(real.clock.pendingTimers).toBe(0);
  if (model.state === 'closed') {
    const m = real.breaker.metrics;
    const win = model.window();
    expect([m.calls, m.failures, m.slowCalls]).toEqual([
      win.length,
      win.filter((r) => r.failed).length,
      win.filter((r) => r.slow).length,
    ]);
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;

class StartCall implements Cmd {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const expected = model.start();
    let invoked = false;
    let error: unknown;
    let deferred: Deferred | undefined;
    const result = real.breaker.execute(
      () =>
        new Promise((resolve, reject) => {
          invoked = true;
          deferred = { resolve, reject };
        }),
    );
    result.catch((e: unknown) => {
      error = e;
    });
    // Admission is synchronous: the function has run, or the call was refused.
    if ('rejected' in expected) {
      expect(invoked).toBe(false);
      await flush();
      expect(isCircuitOpenError(error)).toBe(true);
      const e = error as { state: State; retryAfterMs: number };
      expect(e.state).toBe(expected.rejected);
      expect(e.retryAfterMs).toBe(expected.retryAfterMs);
    } else {
      expect(invoked).toBe(true);
      model.inflight.push(expected);
      real.inflight.push(deferred as Deferred);
    }
    compare(model, real);
  }
  toString = () => 'start';
}

class FinishCall implements Cmd {
  constructor(
    readonly index: number,
    readonly outcome: Outcome,
  ) {}
  check = (model: Readonly<Model>) => model.inflight.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const i = this.index % model.inflight.length;
    const [call] = model.inflight.splice(i, 1);
    const [deferred] = real.inflight.splice(i, 1);
    if (this.outcome === 'success') deferred?.resolve('ok');
    else if (this.outcome === 'result-failure') deferred?.resolve('bad');
    else if (this.outcome === 'failure') deferred?.reject(new Error('boom'));
    else deferred?.reject({ ignored: true });
    await flush();
    // Without a result predicate (the breaker's own fast path for successes), a 'bad' result is a success.
    model.finish(call as ModelCall, this.outcome === 'result-failure' && !model.cfg.judgeResults ? 'success' : this.outcome);
    compare(model, real);
  }
  toString = () => `finish(${this.index}, ${this.outcome})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.now += this.ms;
    real.clock.advance(this.ms);
    compare(model, real);
  }
  toString = () => `advance(${this.ms})`;
}

class Hold implements Cmd {
  constructor(readonly kind: 'isolate' | 'disable') {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.hold(this.kind);
    real.handles.push(this.kind === 'isolate' ? real.breaker.isolate() : real.breaker.disable());
    compare(model, real);
  }
  toString = () => this.kind;
}

class Release implements Cmd {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.handles.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const i = this.index % model.handles.length;
    model.release(model.handles[i] as ModelHandle);
    real.handles[i]?.release();
    compare(model, real);
  }
  toString = () => `release(${this.index})`;
}

class Reset implements Cmd {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.reset();
    real.breaker.reset();
    compare(model, real);
  }
  toString = () => 'reset';
}

const configArb: fc.Arbitrary<Config> = fc
  .record({
    window: fc.oneof(
      fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 1, max: 6 }) }),
      fc.record({
        type: fc.constant('time' as const),
        durationMs: fc.integer({ min: 1, max: 120 }),
        buckets: fc.integer({ min: 1, max: 5 }),
      }),
    ),
    minimumCalls: fc.integer({ min: 1, max: 6 }),
    failureRateThreshold: fc.constantFrom(0.2, 0.5, 2 / 3, 1),
    consecutiveFailures: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    slowCallDurationMs: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    slowCallRateThreshold: fc.constantFrom(0.25, 0.5, 1),
    initialMs: fc.integer({ min: 0, max: 60 }),
    extraMs: fc.integer({ min: 0, max: 100 }),
    multiplier: fc.constantFrom(1, 1.5, 2),
    permits: fc.integer({ min: 1, max: 3 }),
    maxWaitMs: fc.integer({ min: 1, max: 80 }),
    judgeResults: fc.boolean(),
  })
  .map(({ extraMs, ...c }) => ({
    ...c,
    maxMs: c.initialMs + extraMs,
    minimumCalls: c.window.type === 'count' ? Math.min(c.minimumCalls, c.window.size) : c.minimumCalls,
  }));

function options(cfg: Config, clock: VirtualClock): CircuitBreakerOptions {
  return {
    window: cfg.window,
    minimumCalls: cfg.minimumCalls,
    failureRateThreshold: cfg.failureRateThreshold,
    ...(cfg.consecutiveFailures === undefined ? {} : { consecutiveFailures: cfg.consecutiveFailures }),
    ...(cfg.slowCallDurationMs === undefined
      ? {}
      : { slowCallDurationMs: cfg.slowCallDurationMs, slowCallRateThreshold: cfg.slowCallRateThreshold }),
    openDurationMs: { initialMs: cfg.initialMs, maxMs: cfg.maxMs, multiplier: cfg.multiplier },
    halfOpen: { permits: cfg.permits, maxWaitMs: cfg.maxWaitMs },
    isFailure: (error) => !(error as { ignored?: boolean }).ignored,
    ...(cfg.judgeResults ? { isResultFailure: (value: unknown) => value === 'bad' } : {}),
    clock,
  };
}

// Weighted so that runs reach open, half-open and back often; manual commands are rarer.
const commands = [
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(new StartCall()) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.nat(20), fc.constantFrom<Outcome>('success', 'success', 'failure', 'failure', 'result-failure', 'ignored'))
        .map(([i, o]) => new FinishCall(i, o)),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.nat(20), fc.constantFrom<Outcome>('success', 'failure')).map(([i, o]) => new FinishCall(i, o)),
    },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }).map((ms) => new Advance(ms)) },
    { weight: 1, arbitrary: fc.constantFrom('isolate' as const, 'disable' as const).map((k) => new Hold(k)) },
    { weight: 1, arbitrary: fc.nat(10).map((i) => new Release(i)) },
    { weight: 1, arbitrary: fc.constant(new Reset()) },
  ) as fc.Arbitrary<Cmd>,
];

describe('circuit breaker vs reference model', () => {
  test('agree on every state, admission, rejection, window count and transition', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.integer({ min: -1000, max: 1000 }),
        fc.commands(commands, { maxCommands: 120, size: '+1' }),
        async (cfg, start, cmds) => {
          const setup = () => {
            const clock = new VirtualClock({ start });
            const model = new Model(cfg);
            model.now = start;
            const breaker = circuitBreaker(options(cfg, clock));
            const real: Real = { clock, breaker, transitions: [], inflight: [], handles: [] };
            breaker.on('stateChange', ({ from, to, reason }) => real.transitions.push(`${from}>${to}:${reason}`));
            return { model, real };
          };
          await fc.asyncModelRun(setup, cmds);
        },
      ),
      { numRuns: 250 },
    );
  });
});
