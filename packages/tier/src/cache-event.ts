/**
 * The shapes of the events a cache reports, and the `node:diagnostics_channel` channel they are
 * published on. Defined here, once, because both `@cachet/core` (which emits them) and
 * `@cachet/telemetry` (which consumes them without depending on core) need them.
 *
 * Types and one string constant only: nothing here runs.
 */

/**
 * Every kind of event a cache reports. The names are stable; see the core README for what each means.
 *
 * | type | when |
 * |---|---|
 * | `hit` | a tier answered with a fresh entry (`tier` says which) |
 * | `miss` | a tier had nothing (`tier`), or no tier had anything (`tier` undefined) |
 * | `expired` | a tier returned an entry past its ttl (kept only to be served stale) |
 * | `stale_served` | a caller got an entry past its ttl (stale-while-revalidate, soft timeout or fail-safe) |
 * | `fail_safe` | the loader failed and a stale entry or fallback value was served instead of the error |
 * | `refresh_started` | a background refresh began (time-to-refresh or stale-while-revalidate) |
 * | `refresh_hit` | a background refresh found or loaded a newer entry and stored it |
 * | `refresh_miss` | a background refresh found nothing newer, or failed (`error` set) |
 * | `fallback` | a lower tier was consulted after the tier above missed |
 * | `promotion` | a lower-tier entry was copied into the tier above (`tier` is the upper tier) |
 * | `inserted` / `invalidated` / `cleared` | an explicit write, removal or clear completed |
 * | `loader_started` / `loaded` / `loader_failed` | the loader ran; `durationMs` on the last two |
 * | `coalesced` | a caller joined a load already in flight for the same key |
 * | `tier_error` | a tier operation failed (`tier`, `error`); the cache went on without it |
 * | `breaker_open` / `breaker_closed` | a tier's circuit breaker changed state |
 * | `bus_received` / `bus_reconnected` | a coherence message arrived / the bus reconnected |
 * | `tier_skipped` | a tier call was not made because the tier's circuit breaker is open (`tier`, `error`) |
 * | `write_pending` | a shared tier could not take an explicit write, removal, clear or tag marker; it is recorded for replay |
 * | `write_replayed` | a recorded write reached its tier (then the bus message it held back is sent) |
 * | `write_overflow` | too many writes were pending for one tier: they were replaced by one clear of that tier |
 * | `write_refused` | a tier with conditional writes refused a load's write-back, a refresh, a promotion or a replay: another write or invalidation of the key came after the read it was based on, and wins (`tier`) |
 * | `external_change` | a lower tier reported a key changed outside this cache: the copies above it were dropped (or marked stale for fail-safe) |
 * | `external_reset` | a lower tier could not vouch for what changed (`reason`: `lost`, `watching`, `flushed`): every copy above it was dropped |
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
  | "bus_reconnected"
  | "tier_skipped"
  | "write_pending"
  | "write_replayed"
  | "write_overflow"
  | "write_refused"
  | "external_change"
  | "external_reset";

/** The public operation that caused an event. */
export type CacheOperationName =
  | "get"
  | "getOrInsert"
  | "optionallyGetOrInsert"
  | "getMany"
  | "getOrInsertMany"
  | "insert"
  | "invalidate"
  | "invalidateTags"
  | "expireTags"
  | "clear"
  | "refresh"
  | "bus"
  | "external";

/**
 * One thing that happened in a cache. Keys are reported as a short hash (`keyHash`); the raw key is
 * included only when the cache was built with `.eventKeys(true)`.
 * @experimental The payload may gain fields before 1.0.
 */
export interface CacheEvent {
  readonly type: CacheEventType;
  /** The cache's name (`.name(...)`). */
  readonly cache: string;
  /** The tier involved, when there is one. */
  readonly tier: string | undefined;
  readonly operation: CacheOperationName;
  /** Hash of the key (8 hex characters), when the event concerns one key. */
  readonly keyHash: string | undefined;
  /** The raw key, only with `.eventKeys(true)`. */
  readonly key?: unknown;
  /** Duration of the work the event closes (loader run, tier call), in milliseconds. */
  readonly durationMs?: number;
  /** The error, for `tier_error`, `loader_failed`, `refresh_miss` and `fail_safe`. */
  readonly error?: unknown;
  /** True when the work ran in the background (refresh), not for a waiting caller. */
  readonly background?: boolean;
  /**
   * Why it happened, for `external_reset`: the tier's reason (`lost`, `watching`, `flushed`) and
   * what it said, e.g. `"lost: tracking connection closed"`.
   */
  readonly reason?: string;
}

/** A function that receives a cache's events. It must not throw; if it does, the error is ignored. */
export type CacheEventListener = (event: CacheEvent) => void;

/**
 * The `node:diagnostics_channel` channel every cache publishes its {@link CacheEvent}s on, for
 * instrumentation that attaches without a reference to the cache (`@cachet/telemetry` does).
 * Publishing is skipped entirely when the channel has no subscribers.
 */
export const CACHE_EVENT_CHANNEL = "cachet:cache:event";

/** What an instrumentation learns about one traced call (a loader run or a lower-tier call). */
export interface TracedCall {
  /** The cache's name. */
  readonly cache: string;
  /** The tier called, for tier traces. */
  readonly tier?: string;
  readonly operation: CacheOperationName;
  /** Hash of the key, when the call concerns one key. */
  readonly keyHash: string | undefined;
  /**
   * The raw key, when the call concerns one key. Instrumentation must not record it unless the
   * user opted in (`@cachet/telemetry` records only `keyHash` by default).
   */
  readonly key?: unknown;
  /** True for background refreshes. */
  readonly background?: boolean;
}
