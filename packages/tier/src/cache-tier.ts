import type { CacheEntry } from "./cache-entry.js";
import type { ConditionalWrites } from "./conditional-writes.js";
import type { ExternalChanges } from "./external-changes.js";

/** Where a {@link CacheTier.getInto} read reports its outcome: one call, once. */
export interface TierReadReceiver<V> {
  /** The read answered: the live entry, or `undefined` for a miss. */
  answered(entry: CacheEntry<V> | undefined): void;
  /** The read failed: the error `get` would have rejected with (a `CacheError`). */
  failed(error: unknown): void;
}

/**
 * One storage layer of a cache: an in-process LRU, a Redis keyspace, a test double.
 *
 * A tier stores {@link CacheEntry} values and applies no policy. Stampede protection, refresh,
 * promotion and fail-safe live in `@cachet/core`, which may chain any number of tiers.
 *
 * Contract (checked by the conformance kit in `@cachet/tier/testing`):
 * - **Read-after-write on one instance.** After `insert(key, e)` resolves, `get(key)` on the same
 *   instance returns `e` (same value, `cachedAt`, `ttl`, `tags`) or a newer entry, until it expires,
 *   is invalidated or is evicted. After `invalidate(key)` or `clear()` resolves, `get` misses.
 *   Two instances over one shared backend (two processes on one Redis) see each other's writes, but
 *   with no ordering promise beyond the backend's.
 * - **Expiry.** An entry lives until `cachedAt + ttl + staleFor` on the tier's clock (see
 *   {@link CacheEntry.retainUntil}); `get` never returns it after that instant. An entry without
 *   `ttl` takes the tier's default ttl, and lives forever if there is none. An entry without
 *   `cachedAt` is stamped with the tier's clock on insert. `get` returns the entry with the
 *   effective `ttl` and `cachedAt` filled in, so a caller can compute the time left.
 * - **Fidelity.** `value`, `cachedAt`, `ttl`, `staleFor` and `tags` come back as inserted (a tier
 *   that serializes returns an equal value, not the same object). `isStale` is not stored.
 * - **Keys.** Any key the tier's key type admits works, including `""`, unicode, 1 KiB strings and
 *   glob characters (`*?[]\`). Distinct keys never collide.
 * - **Failures** reject with a `CacheError`: `TIER_FAILURE` (with the backend error as `cause`),
 *   `TIMEOUT`, `CODEC` for a value the tier cannot encode (nothing is stored), or `CLOSED` after
 *   {@link CacheTier.close}. A tier never throws synchronously from these methods.
 * - **Concurrency.** Concurrent inserts of one key leave exactly one of the inserted entries.
 * - Optional methods may be absent; the core falls back (batch methods to per-key calls).
 * - **Optional capabilities** are objects the tier exposes when it has them:
 *   {@link CacheTier.conditionalWrites} (versioned entries, tombstones, compare-and-set writes),
 *   {@link CacheTier.externalChanges} (a feed of keys changed in the backend by anyone).
 */
export interface CacheTier<K, V> {
  /** Stable name used in errors, events and telemetry, e.g. `"memory"` or `"redis"`. */
  readonly name: string;

  /** Returns the live entry for `key`, or `undefined` on a miss. */
  get(key: K): Promise<CacheEntry<V> | undefined>;

  /** Stores `entry` under `key`, replacing any previous entry. */
  insert(key: K, entry: CacheEntry<V>): Promise<void>;

  /** Removes `key`. Removing a missing key succeeds. */
  invalidate(key: K): Promise<void>;

  /** Removes every entry of this tier (and nothing else on a shared backend). */
  clear(): Promise<void>;

  /**
   * Synchronous read, for in-process tiers that can answer without I/O. The core uses it on the
   * hot path so that an L1 hit never waits for a promise. Same semantics as {@link CacheTier.get}.
   */
  getSync?(key: K): CacheEntry<V> | undefined;

  /**
   * {@link CacheTier.get} without a promise of its own: the tier reports the outcome to `receiver`,
   * exactly once — {@link TierReadReceiver.answered} with the entry (or `undefined` for a miss), or
   * {@link TierReadReceiver.failed} with what `get` would reject with (timeouts included). It may
   * call back before it returns. Optional, for tiers whose reads are asynchronous (a network
   * round trip): the core reads such a tier with it after an L1 miss, and answers its own caller
   * from the callback, which saves a promise, its settle functions and a reaction per read. A tier
   * without it is read with `get`. Semantics, failures included, exactly those of `get`.
   */
  getInto?(key: K, receiver: TierReadReceiver<V>): void;

  /**
   * Synchronous write, for in-process tiers that store without I/O: same semantics as
   * {@link CacheTier.insert}, but done when it returns, and a failure is thrown (a `CacheError`)
   * instead of rejected. Optional, and only ever used together with {@link CacheTier.getSync}: the
   * core back-fills such a tier with it after every hit below it (a promotion), so that a back-fill
   * costs no promise. A tier without it is back-filled with `insert`.
   */
  insertSync?(key: K, entry: CacheEntry<V>): void;

  /**
   * Approximate number of entries. It may over-count entries that have expired but were not yet
   * evicted, and on a shared backend it may count other instances' entries under the same prefix.
   */
  size?(): number | Promise<number>;

  /** Batch read, one result per key in order. When absent, the core calls {@link CacheTier.get} per key. */
  getMany?(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]>;

  /** Batch write. Not atomic: after a failure some entries may be stored. */
  insertMany?(entries: readonly (readonly [K, CacheEntry<V>])[]): Promise<void>;

  /** Batch invalidation. */
  invalidateMany?(keys: readonly K[]): Promise<void>;

  /**
   * Versioned, conditional writes, when this tier offers them (see {@link ConditionalWrites} for
   * the contract and what a tier without them gives up). Present means the tier's own `insert`
   * and `invalidate` version the key and leave tombstones too, so unconditional and conditional
   * writers order against each other.
   */
  readonly conditionalWrites?: ConditionalWrites<K, V> | undefined;

  /**
   * A feed of the keys that changed in this tier's backend, whoever changed them, when the tier
   * offers one (see {@link ExternalChanges}). A cache with it keeps the copies in the tiers above
   * coherent without a bus, for writers that never publish on one.
   */
  readonly externalChanges?: ExternalChanges<K> | undefined;

  /**
   * Subscribes to the backend's own "connection is ready again" signal (a Redis client's `ready`
   * event), so that the cache's circuit breaker can probe at once instead of waiting out its
   * cool-down (`CircuitBreaker.recovered()`). Returns a function that unsubscribes. The listener
   * must not throw; a tier ignores what it throws.
   */
  onReady?(listener: () => void): () => void;

  /**
   * Called by a cache when this tier becomes one of its tiers, before any other call from that
   * cache, with the cache's name. A tier over a shared store derives its default namespace from it
   * (`RedisTier` without a `prefix` stores under `cachet:<cacheName>`), so that two caches never
   * share keys unless told to. A tier attached a second time under another name throws
   * `INVALID_OPTION`: one such tier serves one cache.
   */
  attach?(context: TierAttachContext): void;

  /**
   * Releases connections and timers this tier owns. Idempotent. Later calls reject with code
   * `CLOSED`. A tier never closes a client it was handed by the user.
   */
  close?(): Promise<void>;
}

/** What a cache tells a tier in {@link CacheTier.attach}. */
export interface TierAttachContext {
  /** The cache's name (the builder's `.name(...)`, `"cache"` by default). */
  readonly cacheName: string;
  /**
   * False when the cache kept the default name: every such cache has the same one, so a tier must
   * not derive a namespace from it (`RedisTier` then throws `INVALID_OPTION` asking for a prefix
   * or a name).
   */
  readonly isNamed: boolean;
}
