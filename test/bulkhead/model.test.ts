/**
 * Model-based test: random arrivals, completions, failures, aborts (queued or running) and clock steps,
 * run against the bulkhead and a plain model of it, compared after every command.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { type BulkheadPolicy, bulkhead, isBulkheadFullError, VirtualClock } from '../../src/index.js';

type Expected = 'queued' | 'running' | 'ok' | 'failed' | 'full' | 'queue-timeout' | 'aborted';

interface Entry {
  id: number;
  enqueuedAt: number;
  expected: Expected;
  // Real side.
  controller: AbortController;
  resolve?: (value: number) => void;
  reject?: (error: unknown) => void;
  invoked: number;
  settled: number;
  outcome?: { ok: boolean; value: unknown };
}

interface Config {
  limit: number;
  maxQueue: number;
  maxQueueWaitMs: number;
  order: 'fifo' | 'lifo';
}

class World {
  readonly clock = new VirtualClock();
  readonly bh: BulkheadPolicy;
  readonly entries: Entry[] = [];
  /** Model: running ids and queued ids (arrival order). */
  running: number[] = [];
  queue: number[] = [];
  /** Ids in the order the model expects their functions to start, and the order they really did. */
  expectedStarts: number[] = [];
  starts: number[] = [];
  maxRunningSeen = 0;
  maxQueuedSeen = 0;

  constructor(readonly config: Config) {
    this.bh = bulkhead({
      maxConcurrent: config.limit,
      maxQueue: config.maxQueue,
      maxQueueWaitMs: config.maxQueueWaitMs,
      queueOrder: config.order,
      clock: this.clock,
    });
    const observe = () => {
      this.maxRunningSeen = Math.max(this.maxRunningSeen, this.bh.running);
      this.maxQueuedSeen = Math.max(this.maxQueuedSeen, this.bh.queued);
    };
    for (const event of ['acquired', 'queued', 'rejected', 'released'] as const) this.bh.on(event, observe);
  }

  private drainModel(): void {
    while (this.running.length < this.config.limit && this.queue.length > 0) {
      const id = (this.config.order === 'fifo' ? this.queue.shift() : this.queue.pop()) as number;
      this.running.push(id);
      (this.entries[id] as Entry).expected = 'running';
      this.expectedStarts.push(id);
    }
  }

  start(): void {
    const id = this.entries.length;
    const entry: Entry = {
      id,
      enqueuedAt: this.clock.now(),
      expected: 'full',
      controller: new AbortController(),
      invoked: 0,
      settled: 0,
    };
    this.entries.push(entry);
    if (this.running.length < this.config.limit && this.queue.length === 0) {
      entry.expected = 'running';
      this.running.push(id);
      this.expectedStarts.push(id);
    } else if (this.queue.length < this.config.maxQueue) {
      entry.expected = 'queued';
      this.queue.push(id);
    }
    this.bh
      .execute(() => {
        entry.invoked++;
        this.starts.push(id);
        return new Promise<number>((resolve, reject) => {
          entry.resolve = resolve;
          entry.reject = reject;
        });
      }, entry.controller.signal)
      .then(
        (value) => {
          entry.settled++;
          entry.outcome = { ok: true, value };
        },
        (error) => {
          entry.settled++;
          entry.outcome = { ok: false, value: error };
        },
      );
  }

  finish(pick: number, ok: boolean): void {
    if (this.running.length === 0) return;
    const id = this.running.splice(pick % this.running.length, 1)[0] as number;
    const entry = this.entries[id] as Entry;
    entry.expected = ok ? 'ok' : 'failed';
    if (ok) entry.resolve?.(id);
    else entry.reject?.(new Error(`fail ${id}`));
    this.drainModel();
  }

  abort(pick: number): void {
    const live = [...this.queue, ...this.running];
    if (live.length === 0) return;
    const id = live[pick % live.length] as number;
    const entry = this.entries[id] as Entry;
    entry.expected = 'aborted';
    this.queue = this.queue.filter((x) => x !== id);
    this.running = this.running.filter((x) => x !== id);
    entry.controller.abort(`abort ${id}`);
    this.drainModel();
  }

  advance(ms: number): void {
    const now = this.clock.now() + ms;
    // Nothing else happens during the step: every waiter whose deadline falls in it times out.
    const stale = this.queue.filter((id) => (this.entries[id] as Entry).enqueuedAt + this.config.maxQueueWaitMs <= now);
    for (const id of stale) (this.entries[id] as Entry).expected = 'queue-timeout';
    this.queue = this.queue.filter((id) => !stale.includes(id));
  }

  check(): void {
    expect(this.bh.running).toBe(this.running.length);
    expect(this.bh.queued).toBe(this.queue.length);
    expect(this.starts).toEqual(this.expectedStarts);
    expect(this.maxRunningSeen).toBeLessThanOrEqual(this.config.limit);
    expect(this.maxQueuedSeen).toBeLessThanOrEqual(this.config.maxQueue);
    for (const entry of this.entries) {
      expect(entry.invoked).toBeLessThanOrEqual(1);
      expect(entry.settled).toBeLessThanOrEqual(1);
      switch (entry.expected) {
        case 'queued':
        case 'running':
          expect(entry.settled).toBe(0);
          break;
        case 'ok':
          expect(entry.outcome).toEqual({ ok: true, value: entry.id });
          break;
        case 'failed':
          expect((entry.outcome as { value: Error }).value.message).toBe(`fail ${entry.id}`);
          break;
        case 'aborted':
          expect(entry.outcome).toEqual({ ok: false, value: `abort ${entry.id}` });
          break;
        default:
          expect(entry.outcome?.ok).toBe(false);
          expect(isBulkheadFullError(entry.outcome?.value)).toBe(true);
          expect((entry.outcome as { value: { reason: string } }).value.reason).toBe(entry.expected);
          expect(entry.invoked).toBe(0);
      }
    }
  }
}

type Cmd = fc.AsyncCommand<object, World>;
const settle = (world: World) => {
  world.advance(0); // a zero-length step still fires timers due now (maxQueueWaitMs: 0)
  return world.clock.advanceAsync(0);
};

class Start implements Cmd {
  check = () => true;
  async run(_: object, world: World) {
    world.start();
    await settle(world);
    world.check();
  }
  toString = () => 'start';
}

class Finish implements Cmd {
  constructor(
    readonly pick: number,
    readonly ok: boolean,
  ) {}
  check = () => true;
  async run(_: object, world: World) {
    world.finish(this.pick, this.ok);
    await settle(world);
    world.check();
  }
  toString = () => `finish(${this.pick}, ${this.ok})`;
}

class Abort implements Cmd {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_: object, world: World) {
    world.abort(this.pick);
    await settle(world);
    world.check();
  }
  toString = () => `abort(${this.pick})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_: object, world: World) {
    world.advance(this.ms);
    await world.clock.advanceAsync(this.ms);
    world.check();
  }
  toString = () => `advance(${this.ms})`;
}

const commands = fc.commands(
  [
    fc.constant(new Start()),
    fc.constant(new Start()),
    fc.tuple(fc.nat(20), fc.boolean()).map(([pick, ok]) => new Finish(pick, ok)),
    fc.nat(20).map((pick) => new Abort(pick)),
    fc.integer({ min: 1, max: 40 }).map((ms) => new Advance(ms)),
  ],
  { maxCommands: 60 },
);

const configs = fc.record({
  limit: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(Number.POSITIVE_INFINITY)),
  maxQueueWaitMs: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(Number.POSITIVE_INFINITY)),
  order: fc.constantFrom('fifo' as const, 'lifo' as const),
});

test('bulkhead matches its model: limits, order, single settlement, no lost or double-freed slot', async () => {
  await fc.assert(
    fc.asyncProperty(configs, commands, async (config, cmds) => {
      const world = new World(config);
      await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
      // Drain: finish every running call until nothing is left; every call settles exactly once.
      for (let guard = 0; world.running.length > 0 || world.queue.length > 0; guard++) {
        if (guard > 200) throw new Error('did not drain');
        if (world.running.length > 0) world.finish(0, true);
        else world.abort(0);
        await settle(world);
        world.check();
      }
      expect([world.bh.running, world.bh.queued, world.clock.pendingTimers]).toEqual([0, 0, 0]);
      expect(world.entries.every((e) => e.settled === 1)).toBe(true);
    }),
    { numRuns: 300 },
  );
});
