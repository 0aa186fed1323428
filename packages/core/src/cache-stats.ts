/**
 * The cache's counters and the {@link CacheStats} snapshot made from them.
 *
 * Owns plain mutable numbers that every part of the cache increments in place. It must never
 * allocate or branch on the hit path: counting a hit is one increment of a field.
 */

/** Per-tier and overall counters; see `Cache.stats()`. */
export interface CacheStats {
  /** One row per tier, outermost first. */
  readonly tiers: readonly {
    readonly name: string;
    readonly hits: number;
    readonly misses: number;
    readonly errors: number;
    /** Calls not made because the tier's circuit breaker was open (not counted as errors). */
    readonly skipped: number;
    /**
     * Writes this tier's conditional writes refused (`write_refused`): a load's write-back, a
     * refresh, a promotion or a replay based on a read that another write or invalidation of the
     * key came after. Always 0 for a tier without the conditional-writes capability.
     */
    readonly refused: number;
    /** hits / (hits + misses), or 0 before any lookup. */
    readonly hitRatio: number;
  }[];
  /** Lookups that found a fresh entry in some tier. */
  readonly hits: number;
  /** Lookups that found nothing fresh in any tier. */
  readonly misses: number;
  /** hits / (hits + misses) over the whole cache. */
  readonly hitRatio: number;
  /** Stale entries handed out (stale-while-revalidate, soft timeout, fail-safe). */
  readonly staleServed: number;
  /** Loader runs started, and how many failed. */
  readonly loads: number;
  readonly loadErrors: number;
  /** Callers that joined a load already in flight. */
  readonly coalesced: number;
  /** Loads running now. */
  readonly inFlight: number;
  /**
   * Write recovery (see CONSISTENCY.md): explicit writes, removals, clears and tag markers a shared
   * tier could not take. `pending` are waiting for replay now; `recorded` and `replayed` count since
   * the cache was built; `overflows` counts the times the bound was passed and the tier's queue was
   * replaced by one clear of that tier.
   */
  readonly pendingWrites: {
    readonly pending: number;
    readonly recorded: number;
    readonly replayed: number;
    readonly overflows: number;
  };
}

/** One tier's counters. @internal */
export interface TierCounters {
  hits: number;
  misses: number;
  errors: number;
  skipped: number;
  refused: number;
}

/** Every counter of one cache. @internal */
export class CacheCounters {
  hits = 0;
  misses = 0;
  staleServed = 0;
  loads = 0;
  loadErrors = 0;
  coalesced = 0;
  writesRecorded = 0;
  writesReplayed = 0;
  writeOverflows = 0;
  /** Indexed like the tiers, outermost first. */
  readonly tiers: readonly TierCounters[];

  constructor(tierCount: number) {
    this.tiers = Array.from({ length: tierCount }, () => ({
      hits: 0,
      misses: 0,
      errors: 0,
      skipped: 0,
      refused: 0,
    }));
  }

  snapshot(tierNames: readonly string[], inFlight: number, pendingWrites: number): CacheStats {
    return {
      tiers: this.tiers.map((s, i) => ({
        name: tierNames[i]!,
        hits: s.hits,
        misses: s.misses,
        errors: s.errors,
        skipped: s.skipped,
        refused: s.refused,
        hitRatio: ratio(s.hits, s.misses),
      })),
      hits: this.hits,
      misses: this.misses,
      hitRatio: ratio(this.hits, this.misses),
      staleServed: this.staleServed,
      loads: this.loads,
      loadErrors: this.loadErrors,
      coalesced: this.coalesced,
      inFlight,
      pendingWrites: {
        pending: pendingWrites,
        recorded: this.writesRecorded,
        replayed: this.writesReplayed,
        overflows: this.writeOverflows,
      },
    };
  }
}

function ratio(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : hits / (hits + misses);
}
