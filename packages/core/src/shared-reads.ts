/**
 * `get` after an L1 miss: a read down the lower tiers, shared by every concurrent `get` of the
 * same key (with stampede protection on), serving a stale entry within stale-while-revalidate.
 *
 * Owns the table of reads in flight. It must never run a loader (a `get` has none; a due refresh
 * is handed to the load coordinator) and never hand a clone-mode caller the shared entry.
 */
import type { CacheEntry, Clock } from "@cachet/tier";
import type { CacheEmitter } from "./cache-emitter.js";
import type { CacheCounters } from "./cache-stats.js";
import { isNegative, newest, outEntry } from "./entry-helpers.js";
import type { FenceTicket, KeyFences } from "./key-fences.js";
import type { LoadCoordinator } from "./load-coordinator.js";
import type { LoadPolicy } from "./load-policy.js";
import type { TierRead, TierStack } from "./tier-stack.js";
import type { ValueMode } from "./value-mode.js";

/** @internal */
export class SharedReads<K, V> {
  readonly #reads = new Map<K, Promise<CacheEntry<V> | undefined>>();
  readonly #stack: TierStack<K, V>;
  readonly #loads: LoadCoordinator<K, V>;
  readonly #fences: KeyFences<K>;
  readonly #counters: CacheCounters;
  readonly #emitter: CacheEmitter<K>;
  readonly #clock: Clock;
  readonly #policy: LoadPolicy<V>;
  readonly #valueMode: ValueMode;
  readonly #stampede: boolean;
  readonly #refreshes: boolean;

  constructor(options: {
    stack: TierStack<K, V>;
    /** Starts refreshes that are due (only when a time-to-refresh is set). */
    loads: LoadCoordinator<K, V>;
    fences: KeyFences<K>;
    counters: CacheCounters;
    emitter: CacheEmitter<K>;
    clock: Clock;
    policy: LoadPolicy<V>;
    valueMode: ValueMode;
    stampede: boolean;
    timeToRefresh: number | undefined;
  }) {
    this.#stack = options.stack;
    this.#loads = options.loads;
    this.#fences = options.fences;
    this.#counters = options.counters;
    this.#emitter = options.emitter;
    this.#clock = options.clock;
    this.#policy = options.policy;
    this.#valueMode = options.valueMode;
    this.#stampede = options.stampede;
    this.#refreshes = options.timeToRefresh !== undefined;
  }

  /** Reads tiers `from..n` for `key`; `l1Stale` is L1's expired entry, a stale candidate. */
  read(key: K, from: number, l1Stale: CacheEntry<V> | undefined): Promise<CacheEntry<V> | undefined> {
    if (!this.#stampede) return this.#readBelow(key, from, l1Stale, false);
    const existing = this.#reads.get(key);
    if (existing !== undefined) {
      this.#counters.coalesced++;
      if (this.#emitter.observed()) this.#emitter.emit("coalesced", "get", key, undefined);
      return this.#valueMode === "clone"
        ? existing.then((entry) => entry && outEntry(entry, "clone"))
        : existing;
    }
    // `#readBelow` leaves the table in its own callback, always after this `set` (no extra `then`
    // on the read: one promise and one closure less per L1 miss).
    const read = this.#readBelow(key, from, l1Stale, true);
    this.#reads.set(key, read);
    return read;
  }

  /** The key was rewritten: later gets must not join a read that started before. */
  forget(key: K): void {
    this.#reads.delete(key);
  }

  forgetAll(): void {
    this.#reads.clear();
  }

  /**
   * Reads below L1 and answers from what was found. `shared`: the read is in the table of reads in
   * flight, and leaves it when it settles; it is still the key's entry exactly when its fence ticket
   * is current (every `forget` comes with a fence bump: the key was rewritten, and a newer read can
   * only have entered the table after one). A `then` rather than an `async` frame: this runs on every
   * L1 miss, and the table is always left in a callback, so after `read` has entered it.
   */
  #readBelow(
    key: K,
    from: number,
    l1Stale: CacheEntry<V> | undefined,
    shared: boolean,
  ): Promise<CacheEntry<V> | undefined> {
    const ticket = this.#fences.acquire(key);
    let below: Promise<TierRead<V>>;
    try {
      // A versioned read only where a promotion may follow into a tier with conditional writes.
      const versioned = this.#stack.versioned;
      const versions = versioned.promotable ? versioned.book() : undefined;
      below = this.#stack.readFrom(key, { from, operation: "get", ticket, versions });
    } catch (error) {
      below = Promise.reject(error);
    }
    return below.then(
      (found) => {
        try {
          return this.#answer(key, found, l1Stale);
        } finally {
          this.#leave(key, ticket, shared);
        }
      },
      (error: unknown) => {
        this.#leave(key, ticket, shared);
        throw error;
      },
    );
  }

  /** The entry the read found, a stale one within stale-while-revalidate, or a miss. */
  #answer(
    key: K,
    found: TierRead<V>,
    l1Stale: CacheEntry<V> | undefined,
  ): CacheEntry<V> | undefined | Promise<CacheEntry<V> | undefined> {
    const now = this.#clock.now();
    if (found.entry !== undefined) {
      this.#counters.hits++;
      if (this.#refreshes)
        this.#loads.refreshIfDue(key, {
          entry: found.entry,
          index: found.index,
          now,
          policy: this.#policy,
        });
      return isNegative(found.entry) ? undefined : outEntry(found.entry, this.#valueMode);
    }
    this.#counters.misses++;
    const stale = newest(l1Stale, found.stale);
    const swr = this.#policy.swr;
    if (stale !== undefined && !isNegative(stale) && swr > 0 && now < stale.expiresAt! + swr) {
      return this.#loads.serveStale(stale, key, "get");
    }
    if (this.#emitter.observed()) this.#emitter.emit("miss", "get", key, undefined);
    return undefined;
  }

  #leave(key: K, ticket: FenceTicket<K>, shared: boolean): void {
    if (shared && this.#fences.isCurrent(ticket)) this.#reads.delete(key);
    this.#fences.release(ticket);
  }
}
