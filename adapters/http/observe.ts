/**
 * What the HTTP adapters tell the outside about each request: one {@link RateLimitOutcome} per limit that
 * ran, delivered to the `onResult` option and published on the `weir:http:rate-limit` diagnostics channel
 * (so a metrics layer or an APM agent can observe every adapter without a code change). Both cost nothing
 * when nobody listens: the outcome object is built only for a listener.
 *
 * A store failure that lets a request through is never silent: it is an outcome (`result: 'store-error'`,
 * `action: 'allow'`), it goes to `onStoreError`, and when none of these has a listener the first one prints
 * a process warning (`WEIR_STORE_FAILURE_ALLOWED`), once per process.
 */
import { type DiagnosticsChannel, diagnosticsChannel, emitWarning } from '../../src/core/runtime.js';
import type { RateLimitDecision } from '../../src/index.js';

/** What a limit did with a request. */
export type RateLimitResult = 'allowed' | 'limited' | 'store-error';

/** The payload of `onResult` and of the `weir:http:rate-limit` channel. */
export interface RateLimitOutcome {
  /** The adapter that decided (`weir/express rateLimit`, `weir/fastify`, ...). */
  readonly adapter: string;
  /**
   * The route pattern as the framework knows it when the limit runs (`/users/:id`), or undefined (Express
   * middleware mounted with `app.use` runs before routing).
   */
  readonly route: string | undefined;
  /** The limit's policy name (as in the `RateLimit` fields). */
  readonly name: string;
  readonly key: string;
  readonly cost: number;
  readonly result: RateLimitResult;
  /** For `'store-error'`: whether the request went on (`'allow'`) or got a 503 (`'reject'`). */
  readonly action: 'allow' | 'reject' | undefined;
  /** The store's decision (undefined for a store error). */
  readonly decision: RateLimitDecision | undefined;
  /** The store's error (for `'store-error'`). */
  readonly error: unknown;
  /** The framework's request object. */
  readonly request: unknown;
}

/** The diagnostics channel every HTTP adapter publishes its outcomes on. */
export const RATE_LIMIT_CHANNEL = 'weir:http:rate-limit';

let warnedStoreFailure = false;

/** Reports an error thrown by a user hook; it never fails the request. */
export function warnHook(message: string, error: unknown): void {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  emitWarning(`${message}: ${detail}`, 'WEIR_HTTP_HOOK_ERROR');
}

class Outcome implements RateLimitOutcome {
  constructor(
    readonly adapter: string,
    readonly route: string | undefined,
    readonly name: string,
    readonly key: string,
    readonly cost: number,
    readonly result: RateLimitResult,
    readonly action: 'allow' | 'reject' | undefined,
    readonly decision: RateLimitDecision | undefined,
    readonly error: unknown,
    readonly request: unknown,
  ) {}
}

/** One chain's listeners: its `onResult` option and the process-wide channel. */
export class Observer<Req> {
  private readonly channel: DiagnosticsChannel | null = diagnosticsChannel(RATE_LIMIT_CHANNEL) ?? null;

  constructor(
    private readonly adapter: string,
    private readonly onResult: ((outcome: RateLimitOutcome, req: Req) => void) | undefined,
    private readonly route: ((req: Req) => string | undefined) | undefined,
  ) {}

  /** Whether anyone listens now (a channel may gain or lose subscribers at any time). */
  get active(): boolean {
    return this.onResult !== undefined || this.channel?.hasSubscribers === true;
  }

  report(
    req: Req,
    name: string,
    key: string,
    cost: number,
    result: RateLimitResult,
    decision: RateLimitDecision | undefined,
    action: 'allow' | 'reject' | undefined,
    error: unknown,
  ): void {
    const route = this.route === undefined ? undefined : this.route(req);
    const outcome = new Outcome(this.adapter, route, name, key, cost, result, action, decision, error, req);
    const onResult = this.onResult;
    if (onResult !== undefined) {
      try {
        onResult(outcome, req);
      } catch (hookError) {
        warnHook(`${this.adapter}: onResult threw`, hookError);
      }
    }
    const channel = this.channel;
    // A throwing subscriber never fails this request: diagnostics_channel reports it on its own.
    if (channel?.hasSubscribers) channel.publish(outcome);
  }
}

/** The once-per-process warning for a store failure that let a request through unobserved. */
export function warnUnobservedStoreFailure(where: string, name: string, error: unknown): void {
  if (warnedStoreFailure) return;
  warnedStoreFailure = true;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  emitWarning(
    `${where}: the store of rate limit "${name}" failed (${detail}) and the request went on unlimited (storeFailure: 'allow'). Choose storeFailure deliberately and observe failures with onStoreError or onResult; this warning is printed once per process`,
    'WEIR_STORE_FAILURE_ALLOWED',
  );
}
