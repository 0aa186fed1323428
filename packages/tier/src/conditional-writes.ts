import type { CacheEntry } from "./cache-entry.js";
import type { Milliseconds } from "./duration.js";

/**
 * The version of one key in a tier with {@link ConditionalWrites}: what a read saw, to hand back
 * to {@link ConditionalWrites.insertIfVersion}.
 *
 * Every write of a key (insert, conditional insert, invalidate) gives it a new version, different
 * from every version the key had while its entry or tombstone existed. Two reads that return
 * equal tokens saw the same state of the key: nothing wrote or invalidated it in between; and two
 * reads of a key holding an entry or a tombstone, with no write in between, return equal tokens
 * (a token of an absent key may also carry when it was read).
 */
export interface EntryVersion {
  /** Opaque. Compare tokens only for equality, and pass them back unchanged. */
  readonly token: string;
  /**
   * When the write or invalidation that made this state happened, in epoch ms on the backend's
   * clock (for Redis, the clock of the master holding the key), or `undefined` when the key was
   * absent and left no tombstone, or was written by a writer without versions. Ordering a write
   * of your own against it (e.g. a replayed write recorded at your clock's time) assumes your
   * clock and the backend's agree within the skew you allow for.
   */
  readonly writtenAt: number | undefined;
}

/** What {@link ConditionalWrites.getVersioned} returns: the live entry (or a miss) and the key's version. */
export interface VersionedRead<V> {
  /** The live entry, exactly as {@link CacheTier.get} would return it, or `undefined` on a miss. */
  readonly entry: CacheEntry<V> | undefined;
  /** The key's version at the moment of the read; a miss has one too (a tombstone's, or "absent"). */
  readonly version: EntryVersion;
}

/**
 * Why {@link ConditionalWrites.insertIfVersion} wrote nothing.
 * - `"conflict"`: the key was written or invalidated after the read that returned the version.
 * - `"expired-token"`: the read saw the key absent, and it was made `tombstoneTtl` or longer ago,
 *   so a tombstone it should lose against may already be gone.
 */
export type ConditionalWriteRefusal = "conflict" | "expired-token";

/** The outcome of {@link ConditionalWrites.insertIfVersion}. */
export type ConditionalWriteResult =
  | { readonly written: true; /** The key's new version. */ readonly version: EntryVersion }
  | { readonly written: false; readonly reason: ConditionalWriteRefusal };

/**
 * The optional conditional-writes capability of a {@link CacheTier}, found at
 * `tier.conditionalWrites`: versioned entries, tombstones and compare-and-set writes, so that a
 * write based on an old read never replaces a newer write or brings back an invalidated entry,
 * even when the writers are different processes on one shared backend.
 *
 * How a cache uses it: read with {@link ConditionalWrites.getVersioned} before starting work whose
 * result it will store (a load after a miss, a refresh of a stale entry, a promotion from a lower
 * tier, a fail-safe write-back), then store with {@link ConditionalWrites.insertIfVersion} and the
 * version that read returned. A refused write means someone else wrote or invalidated the key in
 * the meantime: their state wins, and the caller's result may still be served to its own callers
 * but must not be cached over it. A replay of a write recorded during an outage reads the current
 * version first, skips the write when `writtenAt` is newer than the recorded intent, and otherwise
 * writes conditionally on that version.
 *
 * Contract (checked by the `conditional-*` cases of `@cachet/tier/testing` when the target
 * declares `conditionalWrites`):
 * - **Versions.** Every `insert`, `insertMany`, `invalidate`, `invalidateMany` and successful
 *   `insertIfVersion` gives the key a new version. `getVersioned` returns the same entry as `get`
 *   and the key's current version, a miss included.
 * - **Compare-and-set.** `insertIfVersion(key, entry, v)` stores `entry` only if the key's version
 *   is still `v`, atomically (no write can land between the check and the store); otherwise it
 *   stores nothing and resolves `{ written: false, reason: "conflict" }`.
 * - **Tombstones.** `invalidate` (and `invalidateMany`, and an `insert` of an already-expired
 *   entry) leaves a tombstone for {@link ConditionalWrites.tombstoneTtl}: `get` misses, and a
 *   version read before it is refused. After the tombstone expires the key is absent again, so a
 *   version read while the key was absent is honoured only for `tombstoneTtl` after its read
 *   (`"expired-token"` afterwards). Hence no write based on a read made before an invalidation
 *   ever lands after it, however long the work in between took.
 * - **`clear()` leaves no tombstones.** A version read from a key that `clear` then removed is
 *   refused (the entry's version is gone); a version read from an absent key is not affected by
 *   `clear`.
 * - Failures reject as for {@link CacheTier} methods; a rejected conditional write may or may
 *   not have been applied (as with any write whose reply was lost).
 *
 * A tier without the capability gives the cache only unconditional writes: a load that started
 * before another process's write or invalidation, and finishes after it, overwrites it in the
 * shared tier (a per-process fence cannot see other processes), and the old value stays there
 * until its ttl.
 */
export interface ConditionalWrites<K, V> {
  /**
   * How long a tombstone lasts, and so how long a version read from an absent key stays usable.
   * Set it at least as long as the longest load, refresh or write-back may take.
   */
  readonly tombstoneTtl: Milliseconds;

  /** Reads `key` like {@link CacheTier.get}, together with the key's current version, in one step. */
  getVersioned(key: K): Promise<VersionedRead<V>>;

  /**
   * Stores `entry` under `key` only if the key's version is still `expected` (see the contract).
   * An `entry` whose ttl has already elapsed is stored as a tombstone, on the same condition.
   * @throws CacheError `CODEC` when the value cannot be encoded (nothing is stored), or as `insert`.
   */
  insertIfVersion(key: K, entry: CacheEntry<V>, expected: EntryVersion): Promise<ConditionalWriteResult>;
}
