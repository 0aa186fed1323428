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
}

/** One tier's counters. @internal */
export interface TierCounters {
  hits: number;
  misses: number;
  errors: number;
}

/** Every counter of one cache. @internal */
export class CacheCounters {
  hits = 0;
  misses = 0;
  staleServed = 0;
  loads = 0;
  loadErrors = 0;
  coalesced = 0;
  /** Indexed like the tiers, outermost first. */
  readonly tiers: readonly TierCounters[];

  constructor(tierCount: number) {
    this.tiers = Array.from({ length: tierCount }, () => ({ hits: 0, misses: 0, errors: 0 }));
  }

  snapshot(tierNames: readonly string[], inFlight: number): CacheStats {
    return {
      tiers: this.tiers.map((s, i) => ({
        name: tierNames[i]!,
        hits: s.hits,
        misses: s.misses,
        errors: s.errors,
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
    };
  }
}

function ratio(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : hits / (hits + misses);
}
