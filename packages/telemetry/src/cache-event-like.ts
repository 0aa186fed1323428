/**
 * Structural mirrors of the `@cachet/core` types this package consumes. They are declared here, not
 * imported, so that `@cachet/telemetry` does not depend on `@cachet/core` (core re-exports this
 * package from `@cachet/core/telemetry`). A test checks they stay assignable from core's types.
 */

/**
 * Every kind of event a cache reports, the same union as `CacheEventType` in `@cachet/core`
 * (see its README for when each fires).
 */
export type CacheEventType =
  | "hit"
  | "miss"
  | "expired"
  | "stale_served"
  | "fail_safe"
  | "refresh_started"
  | "refresh_hit"
  | "refresh_miss"
  | "fallback"
  | "promotion"
  | "inserted"
  | "invalidated"
  | "cleared"
  | "loader_started"
  | "loaded"
  | "loader_failed"
  | "coalesced"
  | "tier_error"
  | "breaker_open"
  | "breaker_closed"
  | "bus_received"
  | "bus_reconnected";

/**
 * One cache event, as published by `@cachet/core` (its `CacheEvent`) to listeners and on the
 * `cachet:cache:event` diagnostics channel.
 * @experimental The payload may gain fields before 1.0.
 */
export interface CacheEventLike {
  /** What happened. */
  readonly type: CacheEventType;
  /** The cache's name. */
  readonly cache: string;
  /** The tier involved, when there is one. */
  readonly tier: string | undefined;
  /** The public operation that caused the event (`get`, `getOrInsert`, `refresh`, `bus`...). */
  readonly operation: string;
  /** Short hash of the key, when the event concerns one key. */
  readonly keyHash: string | undefined;
  /** The raw key, only when the cache was built with `.eventKeys(true)`. */
  readonly key?: unknown;
  /** Duration of the work the event closes (loader run, tier call), in milliseconds. */
  readonly durationMs?: number;
  /** The error, for failure events. */
  readonly error?: unknown;
  /** True when the work ran in the background (refresh). */
  readonly background?: boolean;
}

/** What the core tells an instrumentation about one traced call (its `TracedCall`). */
export interface TracedCallLike {
  /** The cache's name. */
  readonly cache: string;
  /** The tier called, for tier calls. */
  readonly tier?: string;
  /** The public operation the call serves. */
  readonly operation: string;
  /** Short hash of the key, when the call concerns one key. */
  readonly keyHash: string | undefined;
  /** The raw key, when the core provides it (caches built with `.eventKeys(true)`). */
  readonly key?: unknown;
  /** True for background refreshes. */
  readonly background?: boolean;
}

/** The view of a cache an instrumentation observes for gauges (core's `InstrumentedCache`). */
export interface InstrumentedCacheLike {
  /** The cache's name. */
  readonly name: string;
  /** Tier names, outermost first. */
  readonly tiers: readonly string[];
  /** Approximate entry count of each tier, `undefined` where a tier cannot tell. */
  sizes(): Promise<readonly (number | undefined)[]>;
  /**
   * Approximate entry count of the tier at `index` (outermost first) alone, `undefined` where it
   * cannot tell. When present, `cache.size` counts only the tiers it reports; without it, every
   * tier is counted through {@link InstrumentedCacheLike.sizes}, at most once per
   * `sharedSizeMaxAge`.
   */
  sizeOf?(index: number): Promise<number | undefined>;
}
