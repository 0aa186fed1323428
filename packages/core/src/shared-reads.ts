/**
 * `get` after an L1 miss: a read down the lower tiers, shared by every concurrent `get` of the
 * same key (with stampede protection on), serving a stale entry within stale-while-revalidate.
 *
 * Owns the table of reads in flight (a slot on each key's fence, see `key-fences.ts`). It must never run a loader (a `get` has none; a due refresh
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
    if (!this.#stampede) return this.#readBelow(key, from, l1Stale, false).promise!;
    const fence = this.#fences.peek(key);
    const existing = fence?.sharedRead as BelowRead<K, V> | undefined;
    // Joined only while current: a rewrite of the key (which bumps its fence) ends the sharing. And
    // only once it has its promise: a tier may answer inside `getInto`, before `readThen` returned,
    // and a listener of that answer's events may call `get` again.
    if (
      existing !== undefined &&
      existing.generation === fence!.generation &&
      existing.promise !== undefined
    ) {
      this.#counters.coalesced++;
      if (this.#emitter.observed()) this.#emitter.emit("coalesced", "get", key, undefined);
      return this.#valueMode === "clone"
        ? existing.promise.then((entry) => entry && outEntry(entry, "clone"))
        : existing.promise;
    }
    return this.#readBelow(key, from, l1Stale, true).promise!;
  }

  /** The key was rewritten: later gets must not join a read that started before. */
  forget(key: K): void {
    const fence = this.#fences.peek(key);
    if (fence !== undefined) fence.sharedRead = undefined;
  }

  /**
   * Every key was rewritten. Nothing to walk: this always comes with `KeyFences.bumpAll` (see
   * `L1Coherence.fenceAll`), and a read whose generation is behind its fence's is never joined.
   */
  forgetAll(): void {}

  /**
   * Reads below L1 and answers from what was found. `shared`: the read is the key's shared read
   * (kept on the key's fence, `KeyFence.sharedRead`, which this read holds a ticket on) until it
   * settles, or until a rewrite of the key ends the sharing (`forget`, or a fence bump, after which
   * it is never joined). One {@link BelowRead} is the request, the fence ticket and the
   * continuation: the stack answers it in the tier call's own callback (see `TierStack.readThen`;
   * a tier's `getInto` may call back before it returns), and the fence's slot is entered before the
   * read starts, so it is always left after it was entered.
   */
  #readBelow(key: K, from: number, l1Stale: CacheEntry<V> | undefined, shared: boolean): BelowRead<K, V> {
    const fence = this.#fences.enter(key);
    const below = new BelowRead(this, key, fence, from, l1Stale);
    // Entered before the read starts; left in the read's own callback.
    if (shared) fence.sharedRead = below;
    try {
      // A versioned read only where a promotion may follow into a tier with conditional writes.
      const versioned = this.#stack.versioned;
      if (versioned.promotable) below.versions = versioned.book();
      below.promise = this.#stack.readThen(key, below);
    } catch (error) {
      below.promise = Promise.resolve().then(() => below.failed(error));
    }
    return below;
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
    // Still the key's shared read exactly when no `forget` or newer read replaced it.
    if (read.fence.sharedRead === read) read.fence.sharedRead = undefined;
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
  /** What the callers of this read get (and those who join it). */
  promise: Promise<CacheEntry<V> | undefined> | undefined = undefined;
  readonly #reads: SharedReads<K, V>;

  constructor(
    reads: SharedReads<K, V>,
    readonly key: K,
    readonly fence: KeyFence,
    readonly from: number,
    readonly l1Stale: CacheEntry<V> | undefined,
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
