import type { CacheEntry, Duration } from "@cachet/tier";

const FAILURE = Symbol.for("cachet.LoaderFailure");

/** What `ctx.fail(reason)` returns: a loader failure reported without throwing. */
export interface LoaderFailure {
  readonly [FAILURE]: true;
  readonly reason: unknown;
}

/** @internal */
export function isLoaderFailure(value: unknown): value is LoaderFailure {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[FAILURE] === true;
}

/** @internal */
export function loaderFailure(reason: unknown): LoaderFailure {
  return { [FAILURE]: true, reason };
}

/** What a loader receives besides the key. */
export interface LoaderContext<V> {
  /**
   * Aborted when every caller waiting on this load has given up (their own signals aborted), when
   * the hard timeout passes, or when the cache closes. Pass it to `fetch` or your database driver.
   */
  readonly signal: AbortSignal;
  /** The expired entry for this key, if the cache still has one (for conditional refreshes). */
  readonly stale: CacheEntry<V> | undefined;
  /** True when nobody is waiting: a time-to-refresh or stale-while-revalidate refresh. */
  readonly background: boolean;
  /**
   * Reports failure without throwing: `return ctx.fail("upstream answered 503")`. The cache treats
   * it exactly like a thrown error (fail-safe applies), with `reason` as the error's cause.
   */
  fail(reason?: unknown): LoaderFailure;
  /**
   * Sets the loaded entry's ttl (milliseconds or a duration string), over the call's `ttl` option,
   * the cache's default and the ttl of a `CacheEntry` the loader returns: for freshness known only
   * once the value is (a token's expiry, an upstream `max-age`).
   * @throws CacheError `INVALID_OPTION` when `ttl` is not a duration.
   */
  setTtl(ttl: Duration): void;
  /**
   * Sets the loaded entry's tags, replacing those of a `CacheEntry` the loader returns. The call's
   * `tags` option (and a namespace's tag) are still added.
   * @throws CacheError `INVALID_OPTION` when `tags` is not an array of non-empty strings.
   */
  setTags(tags: readonly string[]): void;
  /**
   * Hands the loader's result to the callers without caching it in any tier (a partial answer, a
   * value that must not be shared). A remembered absence is not written either.
   */
  skip(): void;
}

/**
 * Produces the value for a key on a miss. It may return a {@link CacheEntry} to set the entry's own
 * ttl or tags ("adaptive caching"), or `ctx.fail(reason)` to report failure.
 */
export type Loader<K, V> = (
  key: K,
  ctx: LoaderContext<V>,
) => Promise<V | CacheEntry<V> | LoaderFailure> | V | CacheEntry<V> | LoaderFailure;

/**
 * Loads many keys at once for `getOrInsertMany`: it receives only the keys that were not cached or
 * already loading, and returns a map (or `[key, value]` pairs) of what it found. Keys it leaves out
 * are absent and are not cached.
 */
export type BatchLoader<K, V> = (
  keys: readonly K[],
  ctx: Pick<LoaderContext<V>, "signal" | "background">,
) =>
  | Promise<ReadonlyMap<K, V | CacheEntry<V>> | Iterable<readonly [K, V | CacheEntry<V>]>>
  | ReadonlyMap<K, V | CacheEntry<V>>
  | Iterable<readonly [K, V | CacheEntry<V>]>;

/** Fail-safe: serve the last good value when the loader fails. */
export interface FailSafeOptions<V> {
  /**
   * How long past its ttl an entry may still stand in for a failed load. Entries are kept physically
   * (in every tier, Redis included) for this long after they expire.
   */
  maxStaleAge: Duration;
  /**
   * After fail-safe serves a stale entry, it is kept as the answer for this long before the loader
   * is tried again, so a failing origin is not hammered. @default "10s"
   */
  backoff?: Duration | undefined;
  /**
   * A value to serve when the loader fails and nothing was ever cached. It is returned, not cached.
   */
  fallback?: V | undefined;
}

/** Loader time limits. */
export interface LoaderTimeouts {
  /**
   * When a stale entry exists, return it after this long and let the loader finish in the
   * background to update the cache. No effect when there is no stale entry.
   */
  soft?: Duration | undefined;
  /** Abort the loader's signal after this long and fail with code `TIMEOUT`. */
  hard?: Duration | undefined;
}

/** Per-call options for `getOrInsert` and `optionallyGetOrInsert`; each overrides the cache's default. */
export interface GetOrInsertOptions<V> {
  /** Stop waiting when this aborts (rejects with code `ABORTED`). The shared load continues while others wait. */
  signal?: AbortSignal | undefined;
  /** Freshness of the loaded entry, unless the loader returns a `CacheEntry` with its own ttl. */
  ttl?: Duration | undefined;
  /** Tags for the loaded entry (merged with the tags of a `CacheEntry` the loader returns). */
  tags?: readonly string[] | undefined;
  /** Serve an expired entry for this long past its ttl while one background refresh runs; `false` turns it off. */
  staleWhileRevalidate?: Duration | false | undefined;
  /** Fail-safe for this call; `false` turns it off. */
  failSafe?: FailSafeOptions<V> | false | undefined;
  /** Loader timeouts for this call. */
  timeouts?: LoaderTimeouts | undefined;
  /** `optionallyGetOrInsert` only: remember an `undefined` result as absent for this long. */
  negativeTtl?: Duration | undefined;
}

/** Options for `insert`. */
export interface InsertOptions {
  /** Freshness, unless the value is a `CacheEntry` with its own ttl. */
  ttl?: Duration | undefined;
  /** Tags, merged with those of a `CacheEntry`. */
  tags?: readonly string[] | undefined;
}
