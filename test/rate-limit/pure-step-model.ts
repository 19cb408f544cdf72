/**
 * The pure steps over a plain Map that forgets nothing (times in µs): the model the memory store (its
 * model-based test) and the Redis Lua twins (their differential test) are both held to.
 */
import { StepResult, slidingLogStep } from '../../src/rate-limit/algorithms.js';
import { gcraRefund, slidingCounterRefund, slidingLogRefund, tokenBucketRefund } from '../../src/rate-limit/refunds.js';
import { type AlgorithmConfig, runFixedStep } from '../../src/rate-limit/store.js';

export class PureStepModel {
  readonly fixed = new Map<string, number[]>();
  readonly logs = new Map<string, { times: number[]; costs: number[]; head: number; total: number }>();
  private readonly out = new StepResult();
  constructor(private readonly config: AlgorithmConfig) {}

  /** The step's result for `key` at `now`; the next state is kept only for an allowed, consuming take. */
  step(key: string, cost: number, now: number, consume: boolean, config: AlgorithmConfig = this.config): StepResult {
    const out = this.out;
    const write = consume && cost > 0;
    if (config.kind === 'sliding-window-log') {
      const log = this.logs.get(key) ?? { times: [], costs: [], head: 0, total: 0 };
      slidingLogStep(log, now, cost, config, out);
      if (out.allowed && write) {
        for (let i = 0; i < out.drop; i++) log.total -= log.costs[log.head++] as number;
        log.times.push(now);
        log.costs.push(cost);
        log.total += cost;
        this.logs.set(key, log);
      }
    } else {
      const state = this.fixed.get(key) ?? [0, 0, 0];
      runFixedStep(config, state, 0, now, cost, out);
      if (out.allowed && write) this.fixed.set(key, [out.s0, out.s1, out.s2]);
    }
    return out;
  }

  /** The refund step's result for `key` at `now`; the state it leaves is kept. */
  refund(key: string, cost: number, now: number, c: AlgorithmConfig = this.config): StepResult {
    const out = this.out;
    if (c.kind === 'sliding-window-log') {
      const log = this.logs.get(key) ?? { times: [], costs: [], head: 0, total: 0 };
      slidingLogRefund(log, now, cost, c, out);
      if (out.fullUs === 0) this.logs.delete(key);
      else this.logs.set(key, log);
      return out;
    }
    const s = this.fixed.get(key) ?? [0, 0, 0];
    if (c.kind === 'token-bucket') tokenBucketRefund(s[0] as number, s[1] as number, now, cost, c, out);
    else if (c.kind === 'gcra') gcraRefund(s[0] as number, now, cost, c, out);
    else slidingCounterRefund(s[0] as number, s[1] as number, s[2] as number, now, cost, c, out);
    // Full under the refund's limits: the state is dropped (a Redis DEL), as every store does.
    if (out.fullUs === 0) this.fixed.delete(key);
    else this.fixed.set(key, [out.s0, out.s1, out.s2]);
    return out;
  }

  reset(key: string): void {
    this.fixed.delete(key);
    this.logs.delete(key);
  }
}
