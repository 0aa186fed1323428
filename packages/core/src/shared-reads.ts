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
import type { FenceTicket, KeyFence, KeyFences } from "./key-fences.js";
import type { LoadCoordinator } from "./load-coordinator.js";
import type { LoadPolicy } from "./load-policy.js";
import type { TierReadSink, TierStack } from "./tier-stack.js";
import type { ValueMode } from "./value-mode.js";
import type { VersionBook } from "./versioned-writes.js";

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
   * only have entered the table after one). One {@link BelowRead} is the request, the fence ticket
   * and the continuation: the stack answers it in the tier call's own `then` (see
   * `TierStack.readThen`), and the table is always left there, so after `read` has entered it.
   */
  #readBelow(
    key: K,
    from: number,
    l1Stale: CacheEntry<V> | undefined,
    shared: boolean,
  ): Promise<CacheEntry<V> | undefined> {
    const below = new BelowRead(this, key, this.#fences.enter(key), from, l1Stale, shared);
    try {
      // A versioned read only where a promotion may follow into a tier with conditional writes.
      const versioned = this.#stack.versioned;
      if (versioned.promotable) below.versions = versioned.book();
      return this.#stack.readThen(key, below);
    } catch (error) {
      return Promise.resolve().then(() => below.failed(error));
    }
  }

  /** What a read below L1 found, once: the answer, and the table and fence left. @internal */
  answer(
    read: BelowRead<K, V>,
    entry: CacheEntry<V> | undefined,
    index: number,
    stale: CacheEntry<V> | undefined,
  ): Answer<V> {
    try {
      return this.#answer(read.key, entry, index, stale, read.l1Stale);
    } finally {
      this.#leave(read);
    }
  }

  /** A read below L1 failed: the table and fence are left, and the error rethrown. @internal */
  fail(read: BelowRead<K, V>, error: unknown): never {
    this.#leave(read);
    throw error;
  }

  /** The entry the read found, a stale one within stale-while-revalidate, or a miss. */
  #answer(
    key: K,
    entry: CacheEntry<V> | undefined,
    index: number,
    foundStale: CacheEntry<V> | undefined,
    l1Stale: CacheEntry<V> | undefined,
  ): Answer<V> {
    const now = this.#clock.now();
    if (entry !== undefined) {
      this.#counters.hits++;
      if (this.#refreshes) this.#loads.refreshIfDue(key, { entry, index, now, policy: this.#policy });
      return isNegative(entry) ? undefined : outEntry(entry, this.#valueMode);
    }
    this.#counters.misses++;
    const stale = newest(l1Stale, foundStale);
    const swr = this.#policy.swr;
    if (stale !== undefined && !isNegative(stale) && swr > 0 && now < stale.expiresAt! + swr) {
      return this.#loads.serveStale(stale, key, "get");
    }
    if (this.#emitter.observed()) this.#emitter.emit("miss", "get", key, undefined);
    return undefined;
  }

  #leave(read: BelowRead<K, V>): void {
    if (read.shared && this.#fences.isCurrent(read)) this.#reads.delete(read.key);
    this.#fences.release(read);
  }
}

type Answer<V> = CacheEntry<V> | undefined | Promise<CacheEntry<V> | undefined>;

/**
 * One read below L1: what the stack is asked, the fence ticket its promotion is fenced by (it is its
 * own ticket: `fence` held from `KeyFences.enter`, `generation` read at once), and where the
 * outcome goes. One object per L1 miss where there were three (ticket, request, closures).
 */
class BelowRead<K, V> implements TierReadSink<K, V, Answer<V>>, FenceTicket<K> {
  readonly operation = "get" as const;
  readonly ticket: FenceTicket<K> = this;
  readonly generation: number;
  versions: VersionBook | undefined = undefined;
  readonly #reads: SharedReads<K, V>;

  constructor(
    reads: SharedReads<K, V>,
    readonly key: K,
    readonly fence: KeyFence,
    readonly from: number,
    readonly l1Stale: CacheEntry<V> | undefined,
    readonly shared: boolean,
  ) {
    this.#reads = reads;
    this.generation = fence.generation;
  }

  found(entry: CacheEntry<V> | undefined, index: number, stale: CacheEntry<V> | undefined): Answer<V> {
    return this.#reads.answer(this, entry, index, stale);
  }

  failed(error: unknown): never {
    return this.#reads.fail(this, error);
  }
}
