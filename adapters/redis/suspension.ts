/**
 * When the store stops sending to a node: a small pure state machine (no clock, no timers: every method
 * takes `now`), one per node. `after` consecutive failures (timeouts or errors) suspend it for `forMs`;
 * then exactly one decision goes to Redis as a probe: an answer in time resumes, a failure suspends again.
 * A late answer (after its timeout) changes nothing, so a slow Redis cannot flap the state.
 *
 * Why not the circuit breaker's machine: that one counts rates over windows with generations and several
 * half-open permits; suspension needs only a run of failures and a single probe, and must cost nothing per
 * decision when Redis is healthy.
 */

/** What `admit` allows. */
export const SEND = 0;
export const PROBE = 1;
export const SUSPENDED = 2;
export type Admission = typeof SEND | typeof PROBE | typeof SUSPENDED;

export class Suspension {
  /** Failures since the last answer in time. */
  failures = 0;
  suspended = false;
  /** While suspended: the time from which one probe may go. */
  probeAt = 0;
  /** A probe is out. */
  probing = false;

  constructor(
    readonly after: number,
    readonly forMs: number,
  ) {}

  /** Whether a decision may go to Redis now (SEND), only as the probe (PROBE), or not (SUSPENDED). */
  admit(now: number): Admission {
    if (!this.suspended) return SEND;
    return this.probing || now < this.probeAt ? SUSPENDED : PROBE;
  }

  /** The probe admitted by `admit` was sent. */
  probeSent(): void {
    this.probing = true;
  }

  /** An answer in time. */
  succeeded(): void {
    this.failures = 0;
    if (this.suspended) this.resume();
  }

  /** A timeout or an error: a failed probe, or `after` failures in a row, suspends. */
  failed(now: number, probe: boolean): void {
    this.failures++;
    if (probe) {
      this.probing = false;
      this.suspend(now);
    } else if (!this.suspended && this.failures >= this.after) this.suspend(now);
  }

  /** A new connection: whatever hung is gone, so the next decision goes to Redis. */
  resume(): void {
    this.suspended = false;
    this.probing = false;
    this.failures = 0;
  }

  private suspend(now: number): void {
    this.suspended = true;
    this.probeAt = now + this.forMs;
  }
}
