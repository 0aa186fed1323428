/**
 * The event and trace shapes this package consumes. `CacheEvent`, `CacheEventType` and `TracedCall`
 * are defined once, in `@cachet/tier`, where both `@cachet/core` (which emits them) and this package
 * (which must not depend on core: core re-exports it from `@cachet/core/telemetry`) can import them.
 * The `*Like` names are kept as aliases for code written against earlier versions.
 */
import type { CacheEvent, CacheEventType, TracedCall } from "@cachet/tier";

export type { CacheEventType };

/** One cache event, as published to listeners and on the `cachet:cache:event` diagnostics channel. */
export type CacheEventLike = CacheEvent;

/**
 * What the core tells an instrumentation about one traced call: core's `TracedCall`, with any
 * operation name accepted (the hooks may also be called by hand, e.g. to trace other work).
 */
export type TracedCallLike = Omit<TracedCall, "operation"> & { readonly operation: string };

/**
 * The part of core's `InstrumentedCache` this package uses for gauges: a structural subset, declared
 * here because that type lives in `@cachet/core` (a test checks core's type fits it).
 */
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
