import { channel } from "node:diagnostics_channel";

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
  | "bus";

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
}

/**
 * The event object a cache hands to listeners. The key hash is computed on first read, so a
 * listener that only counts events does not pay for hashing every key.
 * @internal
 */
export class CacheEventRecord implements CacheEvent {
  readonly type: CacheEventType;
  readonly cache: string;
  readonly tier: string | undefined;
  readonly operation: CacheOperationName;
  declare key?: unknown;
  declare durationMs?: number;
  declare error?: unknown;
  declare background?: boolean;
  readonly #rawKey: unknown;
  #hash: string | undefined;

  constructor(
    type: CacheEventType,
    cache: string,
    tier: string | undefined,
    operation: CacheOperationName,
    key: unknown,
  ) {
    this.type = type;
    this.cache = cache;
    this.tier = tier;
    this.operation = operation;
    this.#rawKey = key;
  }

  get keyHash(): string | undefined {
    if (this.#rawKey === undefined) return undefined;
    return (this.#hash ??= hashKey(this.#rawKey));
  }

  /** A plain copy, for logging with `JSON.stringify`. */
  toJSON(): CacheEvent {
    const plain: { -readonly [P in keyof CacheEvent]: CacheEvent[P] } = {
      type: this.type,
      cache: this.cache,
      tier: this.tier,
      operation: this.operation,
      keyHash: this.keyHash,
    };
    if (this.key !== undefined) plain.key = this.key;
    if (this.durationMs !== undefined) plain.durationMs = this.durationMs;
    if (this.error !== undefined) plain.error = this.error;
    if (this.background !== undefined) plain.background = this.background;
    return plain;
  }
}

/** A function that receives a cache's events. It must not throw; if it does, the error is ignored. */
export type CacheEventListener = (event: CacheEvent) => void;

/**
 * The `node:diagnostics_channel` channel every cache publishes its {@link CacheEvent}s on, for
 * instrumentation that attaches without a reference to the cache (`@cachet/telemetry` does).
 * Publishing is skipped entirely when the channel has no subscribers.
 */
export const CACHE_EVENT_CHANNEL = "cachet:cache:event";

/** @internal */
export const cacheEventChannel = channel(CACHE_EVENT_CHANNEL);

/** Short, stable, non-cryptographic hash of a key for telemetry (FNV-1a, 32 bits, hex). */
export function hashKey(key: unknown): string {
  const text = typeof key === "string" ? key : safeString(key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

function safeString(key: unknown): string {
  try {
    return typeof key === "object" && key !== null ? JSON.stringify(key) : String(key);
  } catch {
    return String(key);
  }
}
