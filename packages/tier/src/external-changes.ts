/**
 * Why a tier told the cache above it that everything it holds from this tier may be outdated.
 *
 * - `"lost"`: the tier stopped seeing changes (its change feed disconnected, a Cluster node failed
 *   over, the topology changed, the tier was closed). Until it reports `"watching"` again, changes
 *   made meanwhile are not reported.
 * - `"watching"`: the tier sees changes (again), from now on; whatever was copied before may be
 *   outdated by a change it did not see.
 * - `"flushed"`: the backend was emptied as a whole (`FLUSHDB`, `FLUSHALL`), a change of every key.
 */
export type ExternalChangeReason = "lost" | "watching" | "flushed";

/**
 * One notification of {@link ExternalChanges}: some keys changed, or the tier cannot say which did.
 */
export type ExternalChange<K> =
  | {
      /** These keys were written, removed or expired in the backend, by anyone. */
      readonly type: "keys";
      readonly keys: readonly K[];
    }
  | {
      /** Any key may have changed: copies taken from this tier must all be dropped. */
      readonly type: "everything";
      readonly reason: ExternalChangeReason;
      /** {@link ExternalChanges.isWatching} after this change. */
      readonly isWatching: boolean;
      /** What happened, for logs (e.g. `"tracking connection closed"`). */
      readonly detail: string;
    };

/**
 * The optional external-changes capability of a {@link CacheTier}, found at
 * `tier.externalChanges`: the tier tells the cache above it which keys changed in its backend,
 * whoever changed them (another process without a bus, a script, another language, expiry,
 * eviction), so that the cache drops its in-process copies without waiting for their ttl.
 *
 * Any backend with a change feed can offer it: Redis through `CLIENT TRACKING` (`RedisTier`'s
 * `tracking` option), a database through `LISTEN`/`NOTIFY` or a change stream.
 *
 * Contract (the cache relies on each point; checked by the `external-*` cases of
 * `@cachet/tier/testing` when the target declares `externalChanges`):
 * - **Every change, once watching.** While {@link ExternalChanges.isWatching} is true, every
 *   change of a key of this tier that the backend applies is reported as a `keys` change, after
 *   the backend applied it. A tier may report a key that did not change (its own writes, a
 *   coarser feed): that only costs the cache a re-read.
 * - **Blind spells are reported.** When the tier may have missed a change (the feed dropped, a
 *   node failed over), it reports `everything` with `isWatching: false` as soon as it knows, and
 *   `everything` with `isWatching: true` (`"watching"`) once it sees changes again. A backend
 *   emptied as a whole is reported as `everything` with reason `"flushed"`.
 * - **Starts blind.** `isWatching` is false until the feed is established, and the first
 *   `"watching"` is reported like a resumption.
 * - Listeners run synchronously, in the order the backend reported the changes, and must not
 *   throw (a tier ignores what they throw). `subscribe` returns a function that unsubscribes.
 *
 * What a cache does with it (`@cachet/core`): a `keys` change drops the copies in the tiers above
 * (or marks them stale where fail-safe keeps them) and stops loads of those keys that are in flight
 * from writing; `everything` drops every copy above; and while the tier is not watching, the tiers
 * above take no copies, so nothing is served that a missed change could have outdated.
 */
export interface ExternalChanges<K> {
  /** True while every change is reported (see the contract). */
  readonly isWatching: boolean;
  /** Calls `listener` with each change; returns the function that unsubscribes. */
  subscribe(listener: (change: ExternalChange<K>) => void): () => void;
}
