import type { Attributes, Histogram } from '@opentelemetry/api';
import type { Clock } from '../../src/core/clock.js';
import { type CallView, definePolicy } from '../../src/core/define.js';
import {
  isAbortError,
  isBulkheadFullError,
  isCircuitOpenError,
  isRateLimitedError,
  isTimeoutError,
} from '../../src/core/errors.js';
import type { AnyPolicy, Policy } from '../../src/core/policy.js';
import { compose, type FallbackOf } from '../../src/core/policy.js';
import { ATTR_ERROR_TYPE, ATTR_OUTCOME, ATTR_POLICY_NAME, ATTR_POLICY_TYPE, type Outcome } from './conventions.js';
import { ErrorTypes } from './tally.js';

/** How a measured call ended, from its error: weir's rejections, a timeout, the caller's abort, or a failure. */
export function outcomeOf(error: unknown): Outcome {
  if (isCircuitOpenError(error) || isBulkheadFullError(error) || isRateLimitedError(error)) return 'rejected';
  if (isTimeoutError(error)) return 'timeout';
  if (isAbortError(error)) return 'aborted';
  return 'failure';
}

/** Records `weir.policy.call.duration` for every call through one measured policy. */
class Measurement {
  private readonly success: Attributes;
  private readonly failed = new Map<string, Attributes>();
  private readonly errors = new ErrorTypes();

  constructor(
    private readonly histogram: Histogram,
    private readonly base: Attributes,
    private readonly clock: Clock,
  ) {
    this.success = { ...base, [ATTR_OUTCOME]: 'success' };
  }

  enter = (call: CallView<{}, number>): void => {
    call.state = this.clock.now();
  };

  exit = (call: CallView<{}, number>): void => {
    const seconds = (this.clock.now() - (call.state as number)) / 1000;
    this.histogram.record(seconds, call.ok ? this.success : this.attributesOf(call.value));
  };

  private attributesOf(error: unknown): Attributes {
    const outcome = outcomeOf(error);
    const type = this.errors.of(error);
    const key = `${outcome}|${type}`;
    let attributes = this.failed.get(key);
    if (attributes === undefined) {
      attributes = { ...this.base, [ATTR_OUTCOME]: outcome, [ATTR_ERROR_TYPE]: type };
      this.failed.set(key, attributes);
    }
    return attributes;
  }
}

/**
 * `policy` behind an outermost stage that times each call and records its outcome (a policy made with
 * `definePolicy`, so it joins the fused pipeline). Works for any policy: built-in, composed or custom.
 */
export function measured<P extends AnyPolicy>(
  policy: P,
  name: string,
  type: string,
  histogram: Histogram,
  clock: Clock,
): Policy<{}, FallbackOf<P>> {
  const measurement = new Measurement(histogram, { [ATTR_POLICY_NAME]: name, [ATTR_POLICY_TYPE]: type }, clock);
  const stage = definePolicy<{}, number>({
    family: 'measure',
    name: `measure ${name}`,
    clock,
    enter: measurement.enter,
    exit: measurement.exit,
  });
  return compose(stage, policy) as unknown as Policy<{}, FallbackOf<P>>;
}
