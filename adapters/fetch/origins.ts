/**
 * A bounded map from origin to its policies, least recently used first. When it is full, a new origin
 * evicts the least recently used entry that has no request in flight; if every entry is busy, the least
 * recently used one goes anyway (its requests finish on the policies they hold; only future requests to
 * that origin get fresh ones), so the count never exceeds the bound.
 */
export interface OriginEntry {
  /** Requests in flight through this entry's policies. */
  inFlight: number;
}

export class OriginRegistry<E extends OriginEntry> {
  private readonly entries = new Map<string, E>();

  constructor(
    readonly maxOrigins: number,
    private readonly create: (origin: string) => E,
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

  private evict(): void {
    let victim: string | undefined;
    for (const [origin, entry] of this.entries) {
      if (entry.inFlight === 0) {
        victim = origin;
        break;
      }
      victim ??= origin;
    }
    if (victim !== undefined) this.entries.delete(victim);
  }
}
