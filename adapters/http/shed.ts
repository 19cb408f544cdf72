/**
 * Load shedding: each request holds a bulkhead permit from admission until its response is finished (or its
 * connection closes); when the bulkhead is full the request gets 503 + `Retry-After` at once, so an
 * overloaded server answers quickly instead of queueing without bound.
 *
 * - A bulkhead with `maxQueue: 0` (the default) is used through `tryAcquire()`: synchronous, no promise.
 *   With a queue, requests wait through `acquire(signal)` (bounded by `maxQueue` and `maxQueueWaitMs`), and
 *   a client that disconnects leaves the queue.
 * - The permit is released exactly once, on the response's 'close' (after 'finish'), with the outcome an adaptive
 *   bulkhead learns from: `success` (a latency sample), `drop` for a 5xx, `ignore` when the client left early.
 */
import type { ServerResponse } from 'node:http';
import { type BulkheadPermit, type BulkheadPolicy, isBulkheadFullError } from '../../src/index.js';
import { overloadedProblem, type ProblemDetails } from './headers.js';
import { checkKnown, show } from './limit.js';

export interface LoadSheddingOptions {
  /** The pool of request slots (`bulkhead(...)` from weir: static or adaptive, with or without a queue). */
  bulkhead: BulkheadPolicy;
  /** The `Retry-After` of a 503, in seconds (an integer >= 1; default 1). */
  retryAfter?: number;
}

export const LOAD_SHEDDING_OPTIONS = ['bulkhead', 'retryAfter'] as const;

/** What a framework supplies to the shedder. */
export interface ShedHost<Req, Res, Next> {
  raw(res: Res): ServerResponse;
  setHeader(res: Res, name: string, value: string): void;
  pass(req: Req, res: Res, next: Next): void;
  fail(req: Req, res: Res, next: Next, error: unknown): void;
  sendProblem(req: Req, res: Res, next: Next, problem: ProblemDetails): void;
}

/** The permit a response holds, kept on the response itself so that one shared listener can release it. */
const kPermit = Symbol('weir.permit');
type Holder = ServerResponse & { [kPermit]?: BulkheadPermit | undefined };

/**
 * The 'close' listener of every response holding a permit (called with the response as `this`). A Node
 * response always emits 'close' exactly once, after 'finish' when it completed, or alone when the
 * connection dropped: one listener covers both.
 */
function releaseHeld(this: Holder): void {
  const permit = this[kPermit];
  if (permit === undefined) return;
  this[kPermit] = undefined;
  permit.release(this.writableFinished ? (this.statusCode >= 500 ? 'drop' : 'success') : 'ignore');
}

/** A second permit on the same response (two load-shedding middlewares): a listener of its own. */
class Held {
  readonly handle = (): void => {
    const raw = this.raw;
    this.permit.release(raw.writableFinished ? (raw.statusCode >= 500 ? 'drop' : 'success') : 'ignore');
  };
  constructor(
    private readonly permit: BulkheadPermit,
    private readonly raw: ServerResponse,
  ) {}
}

/** Holds `permit` until `raw` is over; no closure per response for the first permit it holds. */
function hold(permit: BulkheadPermit, raw: ServerResponse): void {
  if (raw.closed || raw.destroyed) {
    permit.release(raw.writableFinished ? 'success' : 'ignore');
    return;
  }
  const holder = raw as Holder;
  if (holder[kPermit] === undefined) {
    holder[kPermit] = permit;
    raw.on('close', releaseHeld);
  } else raw.once('close', new Held(permit, raw).handle);
}

export class Shedder<Req, Res, Next> {
  readonly bulkhead: BulkheadPolicy;
  private readonly retryAfter: number;
  private readonly queued: boolean;

  constructor(
    where: string,
    options: LoadSheddingOptions,
    private readonly host: ShedHost<Req, Res, Next>,
    /** How the options are named in messages: '' (Express) or 'loadShedding.' (the Fastify plugin). */
    prefix = '',
  ) {
    checkKnown(prefix === '' ? where : `${where} option "${prefix.slice(0, -1)}"`, options, LOAD_SHEDDING_OPTIONS);
    const pool = options.bulkhead as Partial<BulkheadPolicy> | undefined;
    if (typeof pool?.tryAcquire !== 'function' || typeof pool.acquire !== 'function') {
      throw new TypeError(`${where}: option "${prefix}bulkhead" must be a weir bulkhead, got ${show(pool)}`);
    }
    const retryAfter = options.retryAfter === undefined ? 1 : options.retryAfter;
    if (typeof retryAfter !== 'number' || !Number.isSafeInteger(retryAfter) || retryAfter < 1) {
      throw new RangeError(
        `${where}: option "${prefix}retryAfter" must be an integer number of seconds >= 1, got ${show(retryAfter)}`,
      );
    }
    this.bulkhead = options.bulkhead;
    this.retryAfter = retryAfter;
    this.queued = options.bulkhead.maxQueue > 0;
  }

  run(req: Req, res: Res, next: Next): void {
    if (this.queued) {
      this.wait(req, res, next);
      return;
    }
    const permit = this.bulkhead.tryAcquire();
    if (permit === undefined) {
      this.shed(req, res, next);
      return;
    }
    hold(permit, this.host.raw(res));
    this.host.pass(req, res, next);
  }

  private shed(req: Req, res: Res, next: Next): void {
    this.host.setHeader(res, 'Retry-After', String(this.retryAfter));
    this.host.sendProblem(req, res, next, overloadedProblem(this.retryAfter));
  }

  private wait(req: Req, res: Res, next: Next): void {
    const raw = this.host.raw(res);
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    raw.once('close', abort);
    this.bulkhead.acquire(controller.signal).then(
      (permit) => {
        raw.off('close', abort);
        hold(permit, raw);
        if (raw.destroyed) return;
        try {
          this.host.pass(req, res, next);
        } catch (error) {
          this.failSafely(req, res, next, error);
        }
      },
      (error: unknown) => {
        raw.off('close', abort);
        if (controller.signal.aborted) return; // the client left while queued: nobody to answer
        try {
          if (isBulkheadFullError(error)) this.shed(req, res, next);
          else this.host.fail(req, res, next, error);
        } catch (failure) {
          this.failSafely(req, res, next, failure);
        }
      },
    );
  }

  private failSafely(req: Req, res: Res, next: Next, error: unknown): void {
    try {
      this.host.fail(req, res, next, error);
    } catch {
      // Nothing is left to tell; the response's own error handling takes over.
    }
  }
}
