/**
 * A bounded map from origin to its policies, least recently used first. When it is full, a new origin
 * evicts one entry, chosen by what dropping it would forget (see {@link evictionRank}): the least recently
 * used of the cheapest class goes. The count never exceeds the bound.
 */
export interface OriginEntry {
  /** Requests in flight through this entry's policies. */
  inFlight: number;
}

/**
 * What dropping an entry costs, lowest first (the victim is the least recently used entry of the lowest
 * rank present). Pure, so the tests check it against a model.
 *
 * 0. idle, breaker closed: nothing is lost but a closed breaker's recent statistics.
 * 1. busy, breaker closed: its requests finish on the policies they hold; only future requests to that
 *    origin get fresh ones (a fresh bulkhead, which does not count the requests still in flight).
 * 2. idle, breaker tripped (open, half-open, isolated, disabled): dropping it would recreate it closed and
 *    let traffic through to an origin known to fail, so it goes only when every entry is tripped.
 * 3. busy, breaker tripped.
 */
export function evictionRank(inFlight: number, tripped: boolean): number {
  return (tripped ? 2 : 0) + (inFlight > 0 ? 1 : 0);
}

const LOWEST_RANK = 0;
const RANKS = 4;

export class OriginRegistry<E extends OriginEntry> {
  private readonly entries = new Map<string, E>();

  /**
   * `isTripped(entry)`: whether the entry holds state worth more than a recency (its breaker is not
   * closed); called only when an entry must be evicted.
   */
  constructor(
    readonly maxOrigins: number,
    private readonly create: (origin: string) => E,
    private readonly isTripped: (entry: E) => boolean = () => false,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `origin`, without creating it or touching its recency. */
  peek(origin: string): E | undefined {
    return this.entries.get(origin);
  }

  /** Origins from least to most recently used. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry for `origin`, created on demand; marks it most recently used. */
  get(origin: string): E {
    const entries = this.entries;
    let entry = entries.get(origin);
    if (entry !== undefined) {
      // Map order is insertion order: re-inserting makes it the most recent.
      entries.delete(origin);
      entries.set(origin, entry);
      return entry;
    }
    if (entries.size >= this.maxOrigins) this.evict();
    entry = this.create(origin);
    entries.set(origin, entry);
    return entry;
  }

  /** Drops the least recently used entry of the lowest rank; one pass, stopping at the first rank 0. */
  private evict(): void {
    let victim: string | undefined;
    let victimRank = RANKS;
    for (const [origin, entry] of this.entries) {
      const rank = evictionRank(entry.inFlight, this.isTripped(entry));
      if (rank < victimRank) {
        victim = origin;
        victimRank = rank;
        if (rank === LOWEST_RANK) break;
      }
    }
    if (victim !== undefined) this.entries.delete(victim);
  }
}
