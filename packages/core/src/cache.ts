/**
 * The `Cache` facade: the public API, the two L1 fast paths, and the wiring of the collaborators
 * that do everything else.
 *
 * Reading order: `get` and `getOrInsert` (the fast paths), then the rest of the API, each method a
 * closed-check and a call. The collaborators, each in its own module and wired by `cache-parts.ts`,
 * in import order: `TierGuard` (every tier call), `TagLedger` (tag times), `TierStack` (multi-tier
 * reads and writes), `LoadCoordinator` (flights, refresh, stale-while-revalidate, fail-safe; with
 * `runLoader`, `FleetLock` and `BatchLoads`), `SharedReads` (`get` after an L1 miss),
 * `L1Coherence` (the write fence, and L1 copies expired on a change made elsewhere), `BusLink`
 * (messages sent and applied), `ExplicitWrites` (insert, invalidate, clear, tags: fence, tiers,
 * message).
 *
 * Length: about 520 lines, more than half of them the public API's TSDoc.
 *
 * Why the fast path is written twice (`get` and `#getOrLoad`): a hit must return without crossing
 * a module boundary, allocating, or awaiting. The two differ in what they hand out (an entry or a
 * value), in how a remembered absence counts (a hit for `get`, a miss for `getOrInsert`) and in
 * how a due refresh reloads (from the tiers below, or with the caller's loader); sharing one helper
 * would add a call and a result object to every hit. Change one, check the other.
 *
 * This file must never await on the hit path, and never call a tier except through L1's
 * synchronous read (everything else goes through the tier stack and its guard).
 */
import { CacheError } from "@cachet/tier";
import type { CacheEntry, Clock, Milliseconds } from "@cachet/tier";
import { cacheEventChannel } from "./cache-event.js";
import type { CacheEventListener, CacheOperationName } from "@cachet/tier";
import { CacheBuilder } from "./cache-builder.js";
import type { CacheBuilderOptions } from "./cache-builder.js";
import type { CacheConfig, TierSlot } from "./cache-config.js";
import type { CacheEmitter } from "./cache-emitter.js";
import type { ExplicitWrites } from "./explicit-writes.js";
import { CacheNamespace } from "./cache-namespace.js";
import { createCacheParts } from "./cache-parts.js";
import { ExternalChangeWatch } from "./external-changes.js";
import type { CacheCounters, CacheStats, TierCounters } from "./cache-stats.js";
import type { BackgroundWork } from "./background-work.js";
import { noop } from "./background-work.js";
import { FAIL_SAFE_TAG, NEGATIVE_TAG, asStale, cloneEntry } from "./entry-helpers.js";
import type { KeyFences } from "./key-fences.js";
import type { LoadCoordinator, LoadOperation } from "./load-coordinator.js";
import { policyFor } from "./load-policy.js";
import type { LoadPolicy } from "./load-policy.js";
import type { BatchLoader, GetOrInsertOptions, InsertOptions, Loader } from "./loader.js";
import type { CacheInstrumentation } from "./instrumentation.js";
import type { SharedReads } from "./shared-reads.js";
import type { TagLedger } from "./tag-ledger.js";
import type { TierStack } from "./tier-stack.js";
import type { ValueMode } from "./value-mode.js";
import type { WriteRecovery } from "./write-recovery.js";

/** One resolved promise shared by every hit that answers `undefined` (a remembered absence). */
const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined);

/**
 * A multi-tier cache: an L1 (usually in-process memory) in front of any number of fallback tiers
 * (Redis, another service), with stampede protection, background refresh, stale-while-revalidate,
 * fail-safe and negative caching. Build one with {@link Cache.builder}.
 *
 * Every method is safe to call concurrently. Values handed out are shared between callers; see
 * {@link ValueMode} for how they are protected.
 *
 * @example
 * const users = Cache.builder<string, User>()
 *   .name("users")
 *   .memory({ maxEntries: 10_000 })
 *   .ttl("1m")
 *   .build();
 * const user = await users.getOrInsert("u1", (id) => db.loadUser(id));
 */
export class Cache<K, V> {
  /** The cache's name, used in events, errors and telemetry. */
  readonly name: string;
  // The fast paths read only these fields (besides the tag ledger, for tagged entries).
  readonly #clock: Clock;
  /** The first tier's synchronous read, when it has one: the hot path. */
  readonly #l1Sync: ((key: K) => CacheEntry<V> | undefined) | undefined;
  readonly #l1Name: string;
  readonly #l1Counters: TierCounters;
  readonly #counters: CacheCounters;
  readonly #ttr: Milliseconds | undefined;
  readonly #valueMode: ValueMode;
  readonly #policy: LoadPolicy<V>;
  /** Shared with the emitter by reference: `#observed()` reads it without a call. */
  readonly #listeners: CacheEventListener[];
  #closed = false;
  // Collaborators.
  readonly #slots: readonly TierSlot<K, V>[];
  readonly #emitter: CacheEmitter<K>;
  readonly #fences: KeyFences<K>;
  readonly #background: BackgroundWork;
  readonly #tags: TagLedger<K, V>;
  readonly #stack: TierStack<K, V>;
  readonly #loads: LoadCoordinator<K, V>;
  readonly #reads: SharedReads<K, V>;
  readonly #recovery: WriteRecovery<K, V>;
  readonly #writes: ExplicitWrites<K, V>;
  readonly #instrumentations: readonly CacheInstrumentation[];
  /** Bus subscriptions and tier ready-watchers, undone by `close()`. */
  readonly #unsubscribe: (() => void)[] = [];

  /** Starts a builder; see {@link CacheBuilder}. */
  static builder<K, V>(options?: CacheBuilderOptions): CacheBuilder<K, V> {
    // The builder is handed the constructor rather than importing this module (no import cycle).
    return CacheBuilder.start<K, V>(
      options,
      <K2, V2>(config: CacheConfig<K2, V2>) => new Cache<K2, V2>(config),
    );
  }

  /** Use {@link Cache.builder}. */
  private constructor(given: CacheConfig<K, V>) {
    // Tiers that report external changes gate the tiers above them (see `external-changes.ts`).
    const external = ExternalChangeWatch.over(given);
    const config = external?.config ?? given;
    this.name = config.name;
    this.#clock = config.clock;
    this.#slots = config.slots;
    const first = config.slots[0]!;
    this.#l1Sync = typeof first.tier.getSync === "function" ? first.tier.getSync.bind(first.tier) : undefined;
    this.#l1Name = first.name;
    this.#ttr = config.timeToRefresh;
    this.#valueMode = config.valueMode;
    this.#policy = config.policy;
    this.#listeners = [...config.listeners];
    this.#instrumentations = config.instrumentations;
    for (const instrumentation of config.instrumentations) {
      if (instrumentation.onEvent) this.#listeners.push(instrumentation.onEvent.bind(instrumentation));
    }
    const parts = createCacheParts(config, {
      listeners: this.#listeners,
      readL1: this.#l1Sync === undefined ? undefined : (key, operation) => this.#readL1(key, operation),
      isClosed: () => this.#closed,
    });
    this.#counters = parts.counters;
    this.#l1Counters = parts.counters.tiers[0]!;
    this.#emitter = parts.emitter;
    this.#fences = parts.fences;
    this.#background = parts.background;
    this.#tags = parts.tags;
    this.#stack = parts.stack;
    this.#loads = parts.loads;
    this.#reads = parts.reads;
    this.#recovery = parts.recovery;
    this.#writes = parts.writes;
    this.#unsubscribe.push(...parts.bus.listen(parts.coherence, config.clock, () => this.#closed));
    if (external !== undefined) {
      this.#unsubscribe.push(
        external.start({
          emitter: parts.emitter,
          changed: (key) => parts.coherence.changedElsewhere(key),
          changedAll: () => parts.coherence.everythingChangedElsewhere(),
        }),
      );
    }
    // A tier that can tell when its backend is ready again (a Redis client's "ready") lets an open
    // breaker probe at once instead of waiting out its cool-down: recovery in seconds, not 30 s.
    for (const slot of config.slots) {
      const breaker = slot.breaker;
      if (breaker?.recovered === undefined || slot.tier.onReady === undefined) continue;
      this.#unsubscribe.push(slot.tier.onReady(() => breaker.recovered?.()));
    }
    for (const instrumentation of config.instrumentations) {
      try {
        instrumentation.attach?.(this);
      } catch {
        // Instrumentation never breaks the cache.
      }
    }
  }

  /** Names of the tiers, outermost first. */
  get tiers(): readonly string[] {
    return this.#slots.map((slot) => slot.name);
  }

  /** True after {@link Cache.close}. */
  get isClosed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /**
   * Returns the entry for `key`, or `undefined` when no tier has it.
   *
   * The first tier answers at once when it holds a fresh entry. Otherwise each lower tier is asked in
   * turn, and a hit there is promoted into the tiers above (per their promotion policy), expiring no
   * later than it does below. When no tier has a fresh entry but one has an expired entry within the
   * stale-while-revalidate window, that entry is returned with `isStale === true`.
   * @throws CacheError `CLOSED` after {@link Cache.close}; `TIER_FAILURE`/`TIMEOUT` only with `.tierErrors("throw")`.
   */
  get(key: K): Promise<CacheEntry<V> | undefined> {
    if (this.#closed) return this.#rejectClosed();
    // Fast path 1 of 2 (see the top of this file for why there are two).
    let stale: CacheEntry<V> | undefined;
    if (this.#l1Sync !== undefined) {
      const entry = this.#readL1(key, "get");
      if (entry !== undefined) {
        const now = this.#clock.now();
        const ttl = entry.ttl;
        if (ttl === undefined || now < (entry.cachedAt ?? 0) + ttl) {
          this.#counters.hits++;
          this.#l1Counters.hits++;
          const ttr = this.#ttr;
          if (ttr !== undefined && entry.cachedAt !== undefined && now - entry.cachedAt >= ttr)
            this.#loads.refreshIfDue(key, { entry, index: 0, now, policy: this.#policy });
          if (this.#observed()) this.#emitter.emit("hit", "get", key, this.#l1Name);
          const tags = entry.tags;
          if (tags.length !== 0) {
            if (tags[0] === NEGATIVE_TAG) return RESOLVED_UNDEFINED;
            if (tags[tags.length - 1] === FAIL_SAFE_TAG)
              return Promise.resolve(this.#keptStale(entry, key, "get"));
          }
          return Promise.resolve(this.#valueMode === "clone" ? cloneEntry(entry) : entry);
        }
        stale = entry;
        this.#l1Counters.misses++;
        if (this.#observed()) this.#emitter.emit("expired", "get", key, this.#l1Name);
      } else {
        this.#l1Counters.misses++;
        if (this.#observed()) this.#emitter.emit("miss", "get", key, this.#l1Name);
      }
      return this.#reads.read(key, 1, stale);
    }
    return this.#reads.read(key, 0, undefined);
  }

  /**
   * Returns the cached value for `key`, or runs `loader` to produce, cache and return it.
   *
   * Concurrent calls for one key (in this process) share one loader run and its value or error;
   * a loader error is never cached. See {@link GetOrInsertOptions} for per-call policy.
   * @throws CacheError `LOADER` (cause: the loader's error) when the loader fails and fail-safe has
   * nothing to serve; `TIMEOUT` after the hard timeout; `ABORTED` when `options.signal` aborts;
   * `CLOSED` after {@link Cache.close}.
   */
  getOrInsert(key: K, loader: Loader<K, V>, options?: GetOrInsertOptions<V>): Promise<V> {
    return this.#getOrLoad(key, loader, options, "getOrInsert") as Promise<V>;
  }

  /**
   * Like {@link Cache.getOrInsert}, for loaders that may find nothing: a loader result of `undefined`
   * is returned and not cached, unless a negative ttl is set (`.negativeTtl()` or
   * `options.negativeTtl`), in which case the absence itself is remembered for that long in every
   * tier, so a flood of requests for a missing id reaches the loader once. An `insert` replaces a
   * remembered absence.
   */
  optionallyGetOrInsert(
    key: K,
    loader: Loader<K, V | undefined>,
    options?: GetOrInsertOptions<V>,
  ): Promise<V | undefined> {
    return this.#getOrLoad(key, loader as Loader<K, V>, options, "optionallyGetOrInsert");
  }

  /** Fast path 2 of 2: `get`'s twin for loading operations (see the top of this file). */
  #getOrLoad(
    key: K,
    loader: Loader<K, V>,
    options: GetOrInsertOptions<V> | undefined,
    operation: LoadOperation,
  ): Promise<V | undefined> {
    if (this.#closed) return this.#rejectClosed();
    let stale: CacheEntry<V> | undefined;
    let from = 0;
    if (this.#l1Sync !== undefined) {
      const entry = this.#readL1(key, operation);
      from = 1;
      if (entry !== undefined) {
        const now = this.#clock.now();
        const ttl = entry.ttl;
        const negative = entry.tags[0] === NEGATIVE_TAG;
        // A remembered absence answers only the operation that may return nothing.
        if (
          (ttl === undefined || now < (entry.cachedAt ?? 0) + ttl) &&
          (!negative || operation === "optionallyGetOrInsert")
        ) {
          this.#counters.hits++;
          this.#l1Counters.hits++;
          const ttr = this.#ttr;
          if (ttr !== undefined && entry.cachedAt !== undefined && now - entry.cachedAt >= ttr) {
            let policy: LoadPolicy<V>;
            try {
              policy = policyFor(this.#policy, options);
            } catch (error) {
              return Promise.reject(error); // invalid options: reject, never throw
            }
            this.#loads.refreshIfDue(key, { entry, index: 0, now, load: { loader, operation }, policy });
          }
          if (this.#observed()) this.#emitter.emit("hit", operation, key, this.#l1Name);
          if (negative) return RESOLVED_UNDEFINED;
          const tags = entry.tags;
          if (tags.length !== 0 && tags[tags.length - 1] === FAIL_SAFE_TAG)
            return Promise.resolve(this.#keptStale(entry, key, operation).value);
          return Promise.resolve(this.#valueMode === "clone" ? structuredClone(entry.value) : entry.value);
        }
        stale = entry;
        this.#l1Counters.misses++;
        if (this.#observed()) this.#emitter.emit("expired", operation, key, this.#l1Name);
      } else {
        this.#l1Counters.misses++;
        if (this.#observed()) this.#emitter.emit("miss", operation, key, this.#l1Name);
      }
    }
    try {
      return this.#loads.load(key, loader, options, { operation, from, stale });
    } catch (error) {
      // Invalid per-call options (checked on a miss, never on a hit): reject, never throw.
      return Promise.reject(error);
    }
  }

  /**
   * An L1 hit on an entry kept by fail-safe: it is past its ttl, so it is counted and reported as
   * stale (`stale_served`) and handed out with `isStale === true`.
   */
  #keptStale(entry: CacheEntry<V>, key: K, operation: CacheOperationName): CacheEntry<V> {
    this.#counters.staleServed++;
    if (this.#observed()) this.#emitter.emit("stale_served", operation, key, this.#l1Name);
    return asStale(this.#valueMode === "clone" ? cloneEntry(entry) : entry);
  }

  /**
   * Reads L1 synchronously and vets a tagged entry against the tag ledger. A throwing L1 counts
   * as a miss (reported as `tier_error`). Untagged entries, and entries cached after the newest
   * known tag time, skip the ledger entirely.
   */
  #readL1(key: K, operation: CacheOperationName): CacheEntry<V> | undefined {
    try {
      const entry = this.#l1Sync!(key);
      if (entry === undefined || entry.tags.length === 0 || (entry.cachedAt ?? 0) > this.#tags.latestTagAt)
        return entry;
      const vetted = this.#tags.vet(entry);
      if (vetted === undefined) void this.#slots[0]!.tier.invalidate(key).catch(noop);
      return vetted;
    } catch (error) {
      this.#l1Counters.errors++;
      this.#emitter.emit("tier_error", operation, key, this.#l1Name, { error });
      return undefined;
    }
  }

  /**
   * Reads many keys at once: the first tier answers what it can, then each lower tier is asked for
   * the rest in one batch call (when it has `getMany`). Results are in the order of `keys`.
   */
  async getMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    if (this.#closed) throw this.#closedError();
    return this.#stack.readMany(keys);
  }

  /**
   * Returns the value for `key`, or `undefined` when no tier has it: {@link Cache.get} for callers
   * who want the value, not the entry (a stale value within the stale-while-revalidate window
   * included). A read like `get`: counted in the stats, a lower tier's hit is promoted.
   */
  async getValue(key: K): Promise<V | undefined> {
    return (await this.get(key))?.value;
  }

  /**
   * True when some tier holds a fresh entry for `key` (a stale one, or a remembered absence, is
   * `false`). A read like {@link Cache.get}: counted in the stats, a lower tier's hit is promoted.
   */
  async has(key: K): Promise<boolean> {
    const entry = await this.get(key);
    return entry !== undefined && !entry.isStale;
  }

  /**
   * Returns the values for many keys, loading the missing ones with a single `loadMany` call.
   *
   * Keys already loading (by another `getOrInsert` or batch) are not loaded again: their callers'
   * results are shared. `loadMany` receives only the keys no tier had. Keys it leaves out come back
   * `undefined` and are not cached. Results are in the order of `keys`.
   * @throws CacheError `LOADER` when `loadMany` fails (every key it was asked for fails together).
   */
  async getOrInsertMany(
    keys: readonly K[],
    loadMany: BatchLoader<K, V>,
    options?: GetOrInsertOptions<V>,
  ): Promise<(V | undefined)[]> {
    if (this.#closed) throw this.#closedError();
    const policy = policyFor(this.#policy, options);
    const entries = await this.getMany(keys);
    return this.#loads.loadMany(keys, entries, loadMany, { policy, signal: options?.signal });
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /**
   * Stores a value (or a {@link CacheEntry} with its own ttl and tags) in every tier.
   *
   * A load or refresh of the same key that started earlier and finishes later never overwrites it.
   * A tier that fails is reported (`tier_error`) and skipped, unless `.tierErrors("throw")`.
   * @throws CacheError `CODEC` when a tier cannot encode the value (nothing is stored in that tier),
   * `CLOSED` after {@link Cache.close}.
   */
  async insert(key: K, value: V | CacheEntry<V>, options?: InsertOptions): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.insert(key, value, options);
  }

  /**
   * Stores many values (or {@link CacheEntry}s) at once, each as {@link Cache.insert} would, with
   * one bus message for all of them. `options` apply to every value.
   * @throws CacheError as `insert`; a key whose write fails does not stop the others.
   */
  async insertMany(
    entries: Iterable<readonly [key: K, value: V | CacheEntry<V>]>,
    options?: InsertOptions,
  ): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.insertMany(entries, options);
  }

  /** Removes `key` from every tier, concurrently. */
  async invalidate(key: K): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.invalidate(key);
  }

  /** Removes many keys from every tier, concurrently, with one bus message for all of them. */
  async invalidateMany(keys: Iterable<K>): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.invalidateMany(keys);
  }

  /** Removes every entry from every tier, concurrently. In-flight loads do not write back. */
  async clear(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.clear();
  }

  /**
   * Stops background work and timers, aborts loads in flight (their callers get code `CLOSED`), and
   * closes every tier, except those passed with `.storage(tier, { close: false })` (a tier shared
   * with other caches). Idempotent. Later calls reject with code `CLOSED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fences.close();
    this.#recovery.close();
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#loads.abortAll(this.#closedError());
    await this.#background.settle();
    for (const instrumentation of this.#instrumentations) {
      try {
        instrumentation.detach?.(this);
      } catch {
        // Instrumentation never breaks the cache.
      }
    }
    await Promise.allSettled(
      this.#slots.map((slot) => (slot.owned && slot.tier.close ? slot.tier.close() : Promise.resolve())),
    );
  }

  /**
   * Makes every entry carrying one of `tags` a miss from now on, in every tier and (with a bus)
   * every instance. Nothing is scanned: the invalidation time of each tag is recorded (locally, in
   * the shared tiers, and on the bus) and checked when a tagged entry is read. Loads in flight do
   * not write back.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.tagOperation(tags, { type: "invalidate-tags", operation: "invalidateTags" });
  }

  /**
   * Marks every entry carrying one of `tags` stale from now on: the next read treats it as expired
   * (so stale-while-revalidate and fail-safe may still serve it) and loads a fresh value.
   */
  async expireTags(tags: readonly string[]): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#writes.tagOperation(tags, { type: "expire-tags", operation: "expireTags" });
  }

  /**
   * A view of this cache whose keys are prefixed with `name:` and whose `clear()` removes only its
   * own entries, in every tier and instance, without scanning (every entry written through the view
   * carries the tag `cachet:ns:<name>`, and clearing invalidates that tag).
   * @throws CacheError `INVALID_OPTION` when `name` is empty or contains `:`.
   */
  namespace(this: Cache<string, V>, name: string): CacheNamespace<V> {
    return CacheNamespace.of(this, name);
  }

  // ---------------------------------------------------------------------------------------------
  // Observability

  /**
   * Subscribes to this cache's events; returns the function that unsubscribes. Events are also
   * published on the `node:diagnostics_channel` channel {@link CACHE_EVENT_CHANNEL}.
   */
  on(listener: CacheEventListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }

  /** A snapshot of counters since the cache was built. */
  stats(): CacheStats {
    return this.#counters.snapshot(this.tiers, this.#loads.inFlight, this.#recovery.pending);
  }

  /** Approximate entry count of each tier that can tell (`undefined` where it cannot). */
  async sizes(): Promise<(number | undefined)[]> {
    return Promise.all(
      this.#slots.map(async (slot) => (slot.tier.size ? await slot.tier.size() : undefined)),
    );
  }

  /** The emitter's test, inlined here so the fast paths make no call when nobody listens. */
  #observed(): boolean {
    return this.#listeners.length !== 0 || cacheEventChannel.hasSubscribers;
  }

  #rejectClosed(): Promise<never> {
    return Promise.reject(this.#closedError());
  }

  #closedError(): CacheError {
    return new CacheError("CLOSED", `cache \`${this.name}\` is closed`);
  }
}
