import { CacheEntry, CacheError, isCacheEntry, isCacheError, toMilliseconds } from "@cachet/tier";
import type {
  CacheBus,
  CacheBusMessage,
  CacheTier,
  Clock,
  DistributedLock,
  LockLease,
  Milliseconds,
} from "@cachet/tier";
import { CacheEventRecord, cacheEventChannel, hashKey } from "./cache-event.js";
import type { CacheEventListener, CacheEventType, CacheOperationName } from "./cache-event.js";
import { CacheBuilder } from "./cache-builder.js";
import { CacheNamespace } from "./cache-namespace.js";
import type { CacheBuilderOptions } from "./cache-builder.js";
import { Flight } from "./flight.js";
import { isLoaderFailure, loaderFailure } from "./loader.js";
import type { BatchLoader, GetOrInsertOptions, InsertOptions, Loader, LoaderContext } from "./loader.js";
import type { CacheInstrumentation, TracedCall } from "./instrumentation.js";
import type { PromotionPolicy } from "./promotion-policy.js";
import { deepFreeze } from "./value-mode.js";
import type { ValueMode } from "./value-mode.js";

/**
 * Tag that marks a remembered absence (negative caching); always an absence entry's first tag.
 * Reserved: never use it as a tag yourself.
 */
export const NEGATIVE_TAG = "cachet:absent";

/** The breaker surface the core needs; `CircuitBreaker` from `@cachet/tier` provides it. @internal */
export interface TierBreaker {
  tryAcquire(): boolean;
  recordSuccess(): void;
  recordFailure(): void;
}

/** One tier with the policy the builder chain gave it. @internal */
export interface TierSlot<K, V> {
  readonly tier: CacheTier<K, V>;
  readonly name: string;
  /** Default ttl for entries written to this tier without their own. */
  readonly ttl: Milliseconds | undefined;
  /** Whether an entry found below this tier is copied into it. */
  readonly promotion: PromotionPolicy<V>;
  /** Per-operation time limit for this tier. */
  readonly timeout: Milliseconds | undefined;
  readonly breaker: TierBreaker | undefined;
  /** An in-process tier (it has `getSync`) with no breaker or timeout: promotions call it directly. */
  readonly direct: boolean;
  /** Whether `close()` closes this tier (false for a tier shared with other caches). */
  readonly owned: boolean;
  /** Receives the breaker's state changes, once the cache is built. */
  readonly breakerHook: { listener?: (state: string) => void };
}

/** Everything `build()` resolved and validated. @internal */
export interface CacheConfig<K, V> {
  readonly name: string;
  readonly clock: Clock;
  readonly slots: readonly TierSlot<K, V>[];
  readonly timeToRefresh: Milliseconds | undefined;
  readonly stampedeProtection: boolean;
  readonly valueMode: ValueMode;
  readonly policy: LoadPolicy<V>;
  readonly tierErrors: "miss" | "throw";
  readonly listeners: readonly CacheEventListener[];
  readonly eventKeys: boolean;
  readonly ttlJitter: Milliseconds;
  readonly random: () => number;
  readonly instrumentations: readonly CacheInstrumentation[];
  readonly bus: CacheBus | undefined;
  readonly busKeys: BusKeys<K>;
  readonly lock: LockConfig | undefined;
  readonly tagMarkerTtl: Milliseconds;
}

/** How keys travel on the bus and in the distributed lock: as strings. */
export interface BusKeys<K> {
  encode(key: K): string;
  decode(text: string): K;
}

/** Fleet-wide stampede protection settings. @internal */
export interface LockConfig {
  readonly lock: DistributedLock;
  readonly lease: Milliseconds;
  readonly pollInterval: Milliseconds;
}

/** What is known locally about one tag: when it was last expired and invalidated. */
interface TagState {
  expiredAt: number;
  invalidatedAt: number;
  /** When this state was last read from the shared tiers (0: known from a local or bus event only). */
  checkedAt: number;
}

/** Prefix of the keys under which tag invalidation times are stored in the shared tiers. */
const TAG_MARKER_PREFIX = "__cachet:tag:";

/** Resolved per-load policy: the cache's defaults, or those merged with a call's options. @internal */
export interface LoadPolicy<V> {
  readonly ttl: Milliseconds | undefined;
  readonly tags: readonly string[] | undefined;
  readonly swr: Milliseconds;
  readonly failSafe: { readonly maxStaleAge: Milliseconds; readonly backoff: Milliseconds } | undefined;
  readonly hasFallback: boolean;
  readonly fallback: V | undefined;
  readonly softTimeout: Milliseconds | undefined;
  readonly hardTimeout: Milliseconds | undefined;
  readonly negativeTtl: Milliseconds | undefined;
}

/** Per-tier and overall counters; see {@link Cache.stats}. */
export interface CacheStats {
  /** One row per tier, outermost first. */
  readonly tiers: readonly {
    readonly name: string;
    readonly hits: number;
    readonly misses: number;
    readonly errors: number;
    /** hits / (hits + misses), or 0 before any lookup. */
    readonly hitRatio: number;
  }[];
  /** Lookups that found a fresh entry in some tier. */
  readonly hits: number;
  /** Lookups that found nothing fresh in any tier. */
  readonly misses: number;
  /** hits / (hits + misses) over the whole cache. */
  readonly hitRatio: number;
  /** Stale entries handed out (stale-while-revalidate, soft timeout, fail-safe). */
  readonly staleServed: number;
  /** Loader runs started, and how many failed. */
  readonly loads: number;
  readonly loadErrors: number;
  /** Callers that joined a load already in flight. */
  readonly coalesced: number;
  /** Loads running now. */
  readonly inFlight: number;
}

/** The per-key fence: bumped by every write, checked before any write a slower operation makes. */
interface KeyFence {
  refs: number;
  generation: number;
}

interface Ticket<K> {
  readonly key: K;
  readonly fence: KeyFence;
  readonly generation: number;
}

interface MutableTierStats {
  hits: number;
  misses: number;
  errors: number;
}

/** How long a tag's state read from the shared tiers is trusted before it is read again. */
const TAG_RECHECK_MS = 1_000;

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
  readonly #clock: Clock;
  readonly #slots: readonly TierSlot<K, V>[];
  /** The first tier's synchronous read, when it has one: the hot path. */
  readonly #l1Sync: ((key: K) => CacheEntry<V> | undefined) | undefined;
  readonly #ttr: Milliseconds | undefined;
  readonly #stampede: boolean;
  readonly #valueMode: ValueMode;
  readonly #policy: LoadPolicy<V>;
  readonly #tierErrors: "miss" | "throw";
  readonly #eventKeys: boolean;
  readonly #jitter: Milliseconds;
  readonly #random: () => number;
  readonly #listeners: CacheEventListener[];
  readonly #flights = new Map<K, Flight<V>>();
  /** `get` reads of lower tiers in flight: concurrent gets of one key share one tier read. */
  readonly #reads = new Map<K, Promise<CacheEntry<V> | undefined>>();
  readonly #fences = new Map<K, KeyFence>();
  readonly #refreshNotBefore = new Map<K, number>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #tierStats: MutableTierStats[];
  readonly #tags = new Map<string, TagState>();
  /**
   * Entries stamped by this instance get `cachedAt` at least this: an entry written in the same
   * millisecond as a tag invalidation, but after it, must not count as invalidated.
   */
  #stampFloor = 0;
  /** The newest time in any tag state: entries cached after it need no tag check (the hot path). */
  #latestTagAt = 0;
  readonly #tagMarkerTtl: Milliseconds;
  readonly #bus: CacheBus | undefined;
  readonly #busKeys: BusKeys<K>;
  readonly #busUnsubscribe: (() => void)[] = [];
  readonly #lock: LockConfig | undefined;
  readonly #instrumentations: readonly CacheInstrumentation[];
  readonly #traceLoader: TraceHook | undefined;
  readonly #traceTier: TraceHook | undefined;
  #hits = 0;
  #misses = 0;
  #staleServed = 0;
  #loads = 0;
  #loadErrors = 0;
  #coalesced = 0;
  #closed = false;

  /** Starts a builder; see {@link CacheBuilder}. */
  static builder<K, V>(options?: CacheBuilderOptions): CacheBuilder<K, V> {
    return new CacheBuilder<K, V>(options);
  }

  /** @internal Use {@link Cache.builder}. */
  constructor(config: CacheConfig<K, V>) {
    this.name = config.name;
    this.#clock = config.clock;
    this.#slots = config.slots;
    const first = config.slots[0]!.tier;
    this.#l1Sync = typeof first.getSync === "function" ? first.getSync.bind(first) : undefined;
    this.#ttr = config.timeToRefresh;
    this.#stampede = config.stampedeProtection;
    this.#valueMode = config.valueMode;
    this.#policy = config.policy;
    this.#tierErrors = config.tierErrors;
    this.#listeners = [...config.listeners];
    this.#eventKeys = config.eventKeys;
    this.#jitter = config.ttlJitter;
    this.#random = config.random;
    this.#tierStats = config.slots.map(() => ({ hits: 0, misses: 0, errors: 0 }));
    for (const slot of config.slots) {
      slot.breakerHook.listener = (state) => {
        if (state === "open") this.#emit("breaker_open", "get", undefined, slot.name);
        else if (state === "closed") this.#emit("breaker_closed", "get", undefined, slot.name);
      };
    }
    this.#instrumentations = config.instrumentations;
    this.#tagMarkerTtl = config.tagMarkerTtl;
    this.#bus = config.bus;
    this.#busKeys = config.busKeys;
    this.#lock = config.lock;
    if (config.bus !== undefined) {
      const bus = config.bus;
      this.#busUnsubscribe.push(bus.subscribe((message) => this.#onBusMessage(message)));
      if (bus.onReconnect) {
        this.#busUnsubscribe.push(
          bus.onReconnect((info) => {
            if (info.mayHaveMissedMessages) this.#dropL1();
            this.#emit("bus_reconnected", "bus", undefined, undefined);
          }),
        );
      }
    }
    for (const instrumentation of config.instrumentations) {
      if (instrumentation.onEvent) this.#listeners.push(instrumentation.onEvent.bind(instrumentation));
    }
    this.#traceLoader = composeTrace(config.instrumentations, "traceLoader");
    this.#traceTier = composeTrace(config.instrumentations, "traceTier");
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
    let stale: CacheEntry<V> | undefined;
    const l1 = this.#l1Sync;
    if (l1 !== undefined) {
      const entry = this.#readL1(key, "get");
      if (entry !== undefined) {
        const now = this.#clock.now();
        const ttl = entry.ttl;
        if (ttl === undefined || now < (entry.cachedAt ?? 0) + ttl) {
          this.#hits++;
          this.#tierStats[0]!.hits++;
          if (this.#ttr !== undefined) this.#maybeRefresh(key, entry, 0, now, undefined, this.#policy);
          if (this.#observed()) this.#emit("hit", "get", key, this.#slots[0]!.name);
          if (entry.tags[0] === NEGATIVE_TAG) return Promise.resolve(undefined);
          return Promise.resolve(this.#valueMode === "clone" ? cloneEntry(entry) : entry);
        }
        stale = entry;
        this.#tierStats[0]!.misses++;
        if (this.#observed()) this.#emit("expired", "get", key, this.#slots[0]!.name);
      } else {
        this.#tierStats[0]!.misses++;
        if (this.#observed()) this.#emit("miss", "get", key, this.#slots[0]!.name);
      }
      return this.#readShared(key, 1, stale);
    }
    return this.#readShared(key, 0, undefined);
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

  /**
   * Reads many keys at once: the first tier answers what it can, then each lower tier is asked for
   * the rest in one batch call (when it has `getMany`). Results are in the order of `keys`.
   */
  async getMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    if (this.#closed) throw this.#closedError();
    const results = new Array<CacheEntry<V> | undefined>(keys.length);
    let pending: number[] = keys.map((_, i) => i);
    const now = this.#clock.now();
    for (let t = 0; t < this.#slots.length && pending.length > 0; t++) {
      const slot = this.#slots[t]!;
      const batchKeys = pending.map((i) => keys[i]!);
      const tickets = t > 0 ? batchKeys.map((key) => this.#acquire(key)) : undefined;
      let found: (CacheEntry<V> | undefined)[];
      try {
        found = await this.#tierGetMany(slot, t, batchKeys, "getMany");
      } finally {
        if (tickets) for (const ticket of tickets) this.#release(ticket);
      }
      // Lower tiers' entries go through the tag times as in `get` (L1 reads are vetted already).
      if (t > 0) {
        const tags = new Set<string>();
        for (const entry of found) if (entry !== undefined) for (const tag of entry.tags) tags.add(tag);
        if (tags.size > 0) {
          await this.#loadTagStates([...tags], this.#clock.now());
          found = found.map((entry) =>
            entry === undefined || entry.tags.length === 0 || (entry.cachedAt ?? 0) > this.#latestTagAt
              ? entry
              : this.#vet(entry),
          );
        }
      }
      const still: number[] = [];
      const at = this.#clock.now();
      for (let j = 0; j < pending.length; j++) {
        const index = pending[j]!;
        const entry = found[j];
        if (entry !== undefined && !entry.isExpiredAt(Math.max(now, at))) {
          if (this.#observed()) this.#emit("hit", "getMany", keys[index], slot.name);
          this.#tierStats[t]!.hits++;
          this.#hits++;
          if (t > 0 && tickets) this.#promote(keys[index]!, entry, t, tickets[j]!, at, "getMany");
          results[index] = this.#out(entry);
        } else {
          if (this.#observed())
            this.#emit(entry === undefined ? "miss" : "expired", "getMany", keys[index], slot.name);
          this.#tierStats[t]!.misses++;
          still.push(index);
        }
      }
      pending = still;
    }
    this.#misses += pending.length;
    return results.map((entry) => (entry !== undefined && isNegative(entry) ? undefined : entry));
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
    const policy = options === undefined ? this.#policy : this.#resolvePolicy(options);
    const entries = await this.getMany(keys);
    const results: (V | undefined)[] = entries.map((entry) => entry?.value);
    const waits: Promise<void>[] = [];
    const toLoad = new Map<K, { flight: Flight<V>; ticket: Ticket<K>; indexes: number[] }>();
    for (let i = 0; i < keys.length; i++) {
      if (entries[i] !== undefined) continue;
      const key = keys[i]!;
      const own = toLoad.get(key);
      if (own !== undefined) {
        own.indexes.push(i);
        continue;
      }
      const existing = this.#stampede ? this.#flights.get(key) : undefined;
      if (existing !== undefined) {
        this.#coalesced++;
        const index = i;
        waits.push(
          existing
            .wait(options?.signal, () => this.#abandon(key, existing))
            .then((entry) => {
              results[index] = entry === undefined || isNegative(entry) ? undefined : entry.value;
            }),
        );
        continue;
      }
      const flight = new Flight<V>(false);
      flight.pinned = true;
      if (this.#stampede) this.#flights.set(key, flight);
      toLoad.set(key, { flight, ticket: this.#acquire(key), indexes: [i] });
    }
    if (toLoad.size > 0) {
      const missing = [...toLoad.keys()];
      const controller = new AbortController();
      const onAbort = () => controller.abort(options?.signal?.reason);
      options?.signal?.addEventListener("abort", onAbort, { once: true });
      this.#loads++;
      const started = this.#clock.now();
      try {
        if (this.#observed()) this.#emit("loader_started", "getOrInsertMany", undefined, undefined);
        const run = () =>
          Promise.resolve(loadMany(missing, { signal: controller.signal, background: false }));
        const trace = this.#traceLoader;
        const loaded = await (trace
          ? trace(this.#traced(undefined, "getOrInsertMany", undefined, false), run)
          : run());
        const map = loaded instanceof Map ? (loaded as ReadonlyMap<K, V | CacheEntry<V>>) : new Map(loaded);
        const now = this.#clock.now();
        const writes: (readonly [K, CacheEntry<V>, Ticket<K>])[] = [];
        for (const [key, job] of toLoad) {
          const result = map.get(key);
          if (result === undefined) {
            job.flight.settle(undefined);
            continue;
          }
          const entry = this.#toEntry(result, policy, now);
          writes.push([key, entry, job.ticket]);
          job.flight.settle(entry);
          for (const index of job.indexes) results[index] = entry.value;
        }
        this.#emit("loaded", "getOrInsertMany", undefined, undefined, {
          durationMs: this.#clock.now() - started,
        });
        await this.#writeMany(writes);
      } catch (error) {
        this.#loadErrors++;
        const failure = new CacheError("LOADER", "`loadMany` failed", { cause: error });
        for (const job of toLoad.values()) job.flight.fail(failure);
        this.#emit("loader_failed", "getOrInsertMany", undefined, undefined, {
          error,
          durationMs: this.#clock.now() - started,
        });
        throw failure;
      } finally {
        options?.signal?.removeEventListener("abort", onAbort);
        for (const [key, job] of toLoad) {
          if (this.#flights.get(key) === job.flight) this.#flights.delete(key);
          this.#release(job.ticket);
        }
      }
    }
    await Promise.all(waits);
    return results;
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
    const now = this.#clock.now();
    let entry: CacheEntry<V>;
    if (options === undefined) {
      entry = this.#toEntry(value, this.#policy, now);
    } else {
      const ttl = options.ttl === undefined ? this.#policy.ttl : toMilliseconds(options.ttl, "ttl");
      entry = this.#toEntry(value, { ...this.#policy, ttl, tags: options.tags }, now);
    }
    this.#supersede(key);
    await this.#writeAll(key, entry, "insert", true, undefined);
    if (this.#bus !== undefined)
      await this.#publish({ type: "set", cache: this.name, keys: [this.#busKeys.encode(key)] });
    this.#emit("inserted", "insert", key, undefined);
  }

  /** Removes `key` from every tier, concurrently. */
  async invalidate(key: K): Promise<void> {
    if (this.#closed) throw this.#closedError();
    this.#supersede(key);
    await this.#settleTiers(
      this.#slots.map((slot, i) =>
        this.#tierCall(slot, i, () => slot.tier.invalidate(key), "invalidate", key),
      ),
      true,
    );
    this.#refreshNotBefore.delete(key);
    if (this.#bus !== undefined) {
      await this.#publish({ type: "invalidate", cache: this.name, keys: [this.#busKeys.encode(key)] });
    }
    this.#emit("invalidated", "invalidate", key, undefined);
  }

  /** Removes every entry from every tier, concurrently. In-flight loads do not write back. */
  async clear(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    this.#supersedeAll();
    await this.#settleTiers(
      this.#slots.map((slot, i) => this.#tierCall(slot, i, () => slot.tier.clear(), "clear")),
      true,
    );
    if (this.#bus !== undefined) await this.#publish({ type: "clear", cache: this.name });
    this.#emit("cleared", "clear", undefined, undefined);
  }

  /**
   * Stops background work and timers, aborts loads in flight (their callers get code `CLOSED`), and
   * closes every tier, except those passed with `.storage(tier, { close: false })` (a tier shared
   * with other caches). Idempotent. Later calls reject with code `CLOSED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#busUnsubscribe) unsubscribe();
    const closed = this.#closedError();
    for (const flight of this.#flights.values()) flight.abort(closed);
    this.#flights.clear();
    await Promise.allSettled([...this.#background]);
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
    await this.#tagOperation(tags, "invalidate-tags", "invalidateTags");
  }

  /**
   * Marks every entry carrying one of `tags` stale from now on: the next read treats it as expired
   * (so stale-while-revalidate and fail-safe may still serve it) and loads a fresh value.
   */
  async expireTags(tags: readonly string[]): Promise<void> {
    await this.#tagOperation(tags, "expire-tags", "expireTags");
  }

  /**
   * A view of this cache whose keys are prefixed with `name:` and whose `clear()` removes only its
   * own entries, in every tier and instance, without scanning (every entry written through the view
   * carries the tag `cachet:ns:<name>`, and clearing invalidates that tag).
   * @throws CacheError `INVALID_OPTION` when `name` is empty or contains `:`.
   */
  namespace(this: Cache<string, V>, name: string): CacheNamespace<V> {
    return new CacheNamespace(this, name);
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
    const ratio = (hits: number, misses: number) => (hits + misses === 0 ? 0 : hits / (hits + misses));
    return {
      tiers: this.#slots.map((slot, i) => {
        const s = this.#tierStats[i]!;
        return {
          name: slot.name,
          hits: s.hits,
          misses: s.misses,
          errors: s.errors,
          hitRatio: ratio(s.hits, s.misses),
        };
      }),
      hits: this.#hits,
      misses: this.#misses,
      hitRatio: ratio(this.#hits, this.#misses),
      staleServed: this.#staleServed,
      loads: this.#loads,
      loadErrors: this.#loadErrors,
      coalesced: this.#coalesced,
      inFlight: this.#flights.size,
    };
  }

  /** Approximate entry count of each tier that can tell (`undefined` where it cannot). */
  async sizes(): Promise<(number | undefined)[]> {
    return Promise.all(
      this.#slots.map(async (slot) => (slot.tier.size ? await slot.tier.size() : undefined)),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: reads

  #readL1(key: K, operation: CacheOperationName): CacheEntry<V> | undefined {
    try {
      const entry = this.#l1Sync!(key);
      if (entry === undefined || entry.tags.length === 0 || (entry.cachedAt ?? 0) > this.#latestTagAt)
        return entry;
      const vetted = this.#vet(entry);
      if (vetted === undefined) void this.#slots[0]!.tier.invalidate(key).catch(noop);
      return vetted;
    } catch (error) {
      this.#tierStats[0]!.errors++;
      this.#emit("tier_error", operation, key, this.#slots[0]!.name, { error });
      return undefined;
    }
  }

  #readShared(key: K, from: number, l1Stale: CacheEntry<V> | undefined): Promise<CacheEntry<V> | undefined> {
    if (!this.#stampede) return this.#getSlow(key, from, l1Stale);
    const existing = this.#reads.get(key);
    if (existing !== undefined) {
      this.#coalesced++;
      if (this.#observed()) this.#emit("coalesced", "get", key, undefined);
      return this.#valueMode === "clone" ? existing.then((entry) => entry && cloneEntry(entry)) : existing;
    }
    const read = this.#getSlow(key, from, l1Stale);
    this.#reads.set(key, read);
    const done = () => {
      if (this.#reads.get(key) === read) this.#reads.delete(key);
    };
    read.then(done, done);
    return read;
  }

  async #getSlow(
    key: K,
    from: number,
    l1Stale: CacheEntry<V> | undefined,
  ): Promise<CacheEntry<V> | undefined> {
    const ticket = this.#acquire(key);
    try {
      const found = await this.#readFrom(key, from, "get", ticket);
      const now = this.#clock.now();
      if (found.entry !== undefined) {
        this.#hits++;
        if (this.#ttr !== undefined)
          this.#maybeRefresh(key, found.entry, found.index, now, undefined, this.#policy);
        return isNegative(found.entry) ? undefined : this.#out(found.entry);
      }
      this.#misses++;
      const stale = newest(l1Stale, found.stale);
      if (
        stale !== undefined &&
        !isNegative(stale) &&
        this.#policy.swr > 0 &&
        now < stale.expiresAt! + this.#policy.swr
      ) {
        return this.#serveStale(stale, key, "get");
      }
      if (this.#observed()) this.#emit("miss", "get", key, undefined);
      return undefined;
    } finally {
      this.#release(ticket);
    }
  }

  /**
   * Asks tiers `from..n` in order until one has a fresh entry, promoting it into the tiers above.
   * Expired entries met on the way are remembered as stale candidates.
   */
  async #readFrom(
    key: K,
    from: number,
    operation: CacheOperationName,
    ticket: Ticket<K>,
  ): Promise<{ entry: CacheEntry<V> | undefined; index: number; stale: CacheEntry<V> | undefined }> {
    let stale: CacheEntry<V> | undefined;
    for (let i = from; i < this.#slots.length; i++) {
      const slot = this.#slots[i]!;
      if (i > 0 && this.#observed()) this.#emit("fallback", operation, key, slot.name);
      let entry = await this.#tierGet(slot, i, key, operation);
      if (entry === undefined) {
        this.#tierStats[i]!.misses++;
        if (this.#observed()) this.#emit("miss", operation, key, slot.name);
        continue;
      }
      let now = this.#clock.now();
      if (entry.tags.length !== 0) {
        if (this.#slots.length > 1) await this.#loadTagStates(entry.tags, now);
        now = this.#clock.now();
        const vetted = (entry.cachedAt ?? 0) > this.#latestTagAt ? entry : this.#vet(entry);
        if (vetted === undefined) {
          this.#tierStats[i]!.misses++;
          if (this.#observed()) this.#emit("miss", operation, key, slot.name);
          continue;
        }
        entry = vetted;
      }
      if (!entry.isExpiredAt(now)) {
        this.#tierStats[i]!.hits++;
        if (this.#observed()) this.#emit("hit", operation, key, slot.name);
        const shared = this.#share(entry);
        if (i > 0) this.#promote(key, shared, i, ticket, now, operation);
        return { entry: shared, index: i, stale };
      }
      this.#tierStats[i]!.misses++;
      if (this.#observed()) this.#emit("expired", operation, key, slot.name);
      stale = newest(stale, entry);
    }
    return { entry: undefined, index: -1, stale };
  }

  /** Copies `entry`, found in tier `index`, into the tiers above it that accept it. */
  #promote(
    key: K,
    entry: CacheEntry<V>,
    index: number,
    ticket: Ticket<K>,
    now: number,
    operation: CacheOperationName,
  ): void {
    if (!this.#isCurrent(ticket)) return;
    for (let j = index - 1; j >= 0; j--) {
      const slot = this.#slots[j]!;
      if (!slot.promotion.shouldPromote(entry)) continue;
      const copy = capTtl(entry, slot.ttl, now);
      if (slot.direct) {
        // An in-process tier without breaker or timeout: its insert is done when called.
        slot.tier
          .insert(key, copy)
          .catch((error: unknown) => this.#tierFailed(error, slot, j, operation, key));
        if (this.#observed()) this.#emit("promotion", operation, key, slot.name);
      } else {
        this.#track(
          this.#tierCall(slot, j, () => slot.tier.insert(key, copy), operation, key).then((error) => {
            if (error === undefined && this.#observed()) this.#emit("promotion", operation, key, slot.name);
          }),
        );
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: loads

  #getOrLoad(
    key: K,
    loader: Loader<K, V>,
    options: GetOrInsertOptions<V> | undefined,
    operation: "getOrInsert" | "optionallyGetOrInsert",
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
        if (
          (ttl === undefined || now < (entry.cachedAt ?? 0) + ttl) &&
          (!negative || operation === "optionallyGetOrInsert")
        ) {
          this.#hits++;
          this.#tierStats[0]!.hits++;
          if (this.#ttr !== undefined) {
            const policy = options === undefined ? this.#policy : this.#resolvePolicy(options);
            this.#maybeRefresh(key, entry, 0, now, { loader, operation }, policy);
          }
          if (this.#observed()) this.#emit("hit", operation, key, this.#slots[0]!.name);
          if (negative) return Promise.resolve(undefined);
          return Promise.resolve(this.#valueMode === "clone" ? structuredClone(entry.value) : entry.value);
        }
        stale = entry;
        this.#tierStats[0]!.misses++;
        if (this.#observed()) this.#emit("expired", operation, key, this.#slots[0]!.name);
      } else {
        this.#tierStats[0]!.misses++;
        if (this.#observed()) this.#emit("miss", operation, key, this.#slots[0]!.name);
      }
    }
    return this.#loadShared(key, loader, options, operation, from, stale);
  }

  #loadShared(
    key: K,
    loader: Loader<K, V>,
    options: GetOrInsertOptions<V> | undefined,
    operation: "getOrInsert" | "optionallyGetOrInsert",
    from: number,
    stale: CacheEntry<V> | undefined,
  ): Promise<V | undefined> {
    const signal = options?.signal;
    if (this.#stampede) {
      const existing = this.#flights.get(key);
      if (existing !== undefined) {
        this.#coalesced++;
        if (this.#observed()) this.#emit("coalesced", operation, key, undefined);
        return this.#waitValue(key, existing, signal, operation);
      }
    }
    const policy = options === undefined ? this.#policy : this.#resolvePolicy(options);
    const flight = new Flight<V>(false);
    if (this.#stampede) this.#flights.set(key, flight);
    const answer = this.#waitValue(key, flight, signal, operation);
    this.#track(this.#runFlight(key, flight, loader, policy, operation, from, stale));
    return answer;
  }

  /**
   * One caller's promise of a flight's value. Callers without a signal share one promise per
   * operation (a stampede of a thousand callers allocates nothing per caller), except in clone mode,
   * where each caller gets its own copy.
   */
  #waitValue(
    key: K,
    flight: Flight<V>,
    signal: AbortSignal | undefined,
    operation: "getOrInsert" | "optionallyGetOrInsert",
  ): Promise<V | undefined> {
    if (signal === undefined && this.#valueMode !== "clone") {
      flight.pinned = true;
      const shared = flight.values[operation];
      if (shared !== undefined) return shared;
      return (flight.values[operation] = flight.answer.then((entry) => this.#answerValue(entry)));
    }
    return flight.wait(signal, () => this.#abandon(key, flight)).then((entry) => this.#answerValue(entry));
  }

  #answerValue(entry: CacheEntry<V> | undefined): V | undefined {
    if (entry === undefined || isNegative(entry)) return undefined;
    return this.#valueMode === "clone" ? structuredClone(entry.value) : entry.value;
  }

  /** Every caller of a flight gave up: abort the loader and let new callers start afresh. */
  #abandon(key: K, flight: Flight<V>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    flight.abort(new CacheError("ABORTED", "every caller waiting on this load aborted"));
  }

  async #runFlight(
    key: K,
    flight: Flight<V>,
    loader: Loader<K, V>,
    policy: LoadPolicy<V>,
    operation: CacheOperationName,
    from: number,
    knownStale: CacheEntry<V> | undefined,
    background = false,
  ): Promise<void> {
    const ticket = this.#acquire(key);
    let lease: LockLease | undefined;
    let lastWrite: Promise<void> | undefined;
    try {
      let stale = knownStale;
      if (from < this.#slots.length) {
        const found = await this.#readFrom(key, from, operation, ticket);
        if (flight.aborted) return;
        if (
          found.entry !== undefined &&
          (!isNegative(found.entry) || operation === "optionallyGetOrInsert")
        ) {
          this.#hits++;
          flight.settle(found.entry);
          return;
        }
        stale = newest(stale, found.stale);
      }
      if (!background) {
        this.#misses++;
        if (this.#observed()) this.#emit("miss", operation, key, undefined);
      }
      if (stale !== undefined && isNegative(stale) && operation === "getOrInsert") stale = undefined;

      let now = this.#clock.now();
      const staleAge = stale === undefined ? Infinity : now - stale.expiresAt!;
      if (stale !== undefined && policy.swr > 0 && staleAge < policy.swr) {
        // Stale-while-revalidate: answer now, keep loading for the cache.
        flight.settle(this.#serveStale(stale, key, operation));
        if (this.#observed()) this.#emit("refresh_started", "refresh", key, undefined, { background: true });
        background = true;
      }
      // Only an expired entry stands in for a failed load; a refresh of a fresh entry just reports.
      const failSafeStale =
        stale !== undefined &&
        policy.failSafe !== undefined &&
        staleAge >= 0 &&
        staleAge < policy.failSafe.maxStaleAge
          ? stale
          : undefined;

      // Fleet-wide stampede protection: one process loads, the others wait for its result in L2.
      if (this.#lock !== undefined && !background) {
        const locked = await this.#lockOrWait(key, flight, operation, ticket);
        if (locked.entry !== undefined) {
          flight.settle(locked.entry);
          return;
        }
        lease = locked.lease;
        if (flight.aborted) return;
      }

      // Loader with soft and hard timeouts.
      this.#loads++;
      const started = now;
      if (this.#observed()) this.#emit("loader_started", operation, key, undefined, { background });
      let softTimer: unknown;
      let hardTimer: unknown;
      const usable = failSafeStale ?? (stale !== undefined && staleAge < policy.swr ? stale : undefined);
      if (policy.softTimeout !== undefined && usable !== undefined && !flight.settled) {
        softTimer = this.#clock.setTimeout(() => {
          softTimer = undefined;
          if (!flight.settled) {
            flight.settle(this.#serveStale(usable, key, operation));
            background = true;
          }
        }, policy.softTimeout);
      }
      let outcome: { ok: true; value: unknown } | { ok: false; error: unknown; timedOut: boolean };
      try {
        const ctx: LoaderContext<V> = {
          signal: flight.controller.signal,
          stale,
          background,
          fail: loaderFailure,
        };
        const trace = this.#traceLoader;
        const result = trace
          ? trace(this.#traced(key, operation, undefined, background), () =>
              Promise.resolve(loader(key, ctx)),
            )
          : loader(key, ctx);
        if (isPromiseLike(result)) {
          const hard = policy.hardTimeout;
          const signal = flight.controller.signal;
          outcome = await new Promise((resolve) => {
            // A loader that ignores its signal must not keep close() or the callers waiting.
            const onAbort = () => resolve({ ok: false, error: signal.reason as unknown, timedOut: false });
            if (signal.aborted) onAbort();
            else signal.addEventListener("abort", onAbort, { once: true });
            if (hard !== undefined) {
              hardTimer = this.#clock.setTimeout(() => {
                hardTimer = undefined;
                const error = new CacheError(
                  "TIMEOUT",
                  `the loader did not finish within the hard timeout (${hard} ms)`,
                );
                resolve({ ok: false, error, timedOut: true });
                flight.controller.abort(error);
              }, hard);
            }
            result.then(
              (value) => {
                signal.removeEventListener("abort", onAbort);
                resolve({ ok: true, value });
              },
              (error: unknown) => {
                signal.removeEventListener("abort", onAbort);
                resolve({ ok: false, error, timedOut: false });
              },
            );
          });
        } else {
          outcome = { ok: true, value: result };
        }
      } catch (error) {
        outcome = { ok: false, error, timedOut: false };
      } finally {
        if (softTimer !== undefined) this.#clock.clearTimeout(softTimer);
        if (hardTimer !== undefined) this.#clock.clearTimeout(hardTimer);
      }
      if (outcome.ok && isLoaderFailure(outcome.value)) {
        outcome = { ok: false, error: outcome.value.reason, timedOut: false };
      }
      now = this.#clock.now();
      const durationMs = now - started;

      if (!outcome.ok) {
        this.#loadErrors++;
        const error = outcome.error;
        if (this.#observed())
          this.#emit("loader_failed", operation, key, undefined, { error, durationMs, background });
        if (failSafeStale !== undefined && !flight.aborted) {
          // Fail-safe: serve the last good entry and keep it for `backoff` before trying again. Only
          // this instance's first tier keeps it: other processes must not read it from L2 as fresh.
          const backoff = policy.failSafe!.backoff;
          const kept = failSafeStale.with({
            ttl: now - failSafeStale.cachedAt! + backoff,
            staleFor: Math.max(0, failSafeStale.retainUntil! - (now + backoff)),
            isStale: false,
          });
          if (this.#isCurrent(ticket) && !flight.superseded) {
            this.#track(this.#writeAll(key, kept, background ? "refresh" : operation, false, 0));
          }
          this.#refreshNotBefore.set(key, now + backoff);
          if (this.#observed()) this.#emit("fail_safe", operation, key, undefined, { error });
          flight.settle(this.#serveStale(failSafeStale, key, operation));
          return;
        }
        if (background) {
          this.#refreshNotBefore.set(key, now + (policy.failSafe?.backoff ?? 1_000));
          if (this.#observed()) this.#emit("refresh_miss", "refresh", key, undefined, { error, background });
        }
        if (policy.hasFallback && !flight.aborted) {
          if (this.#observed()) this.#emit("fail_safe", operation, key, undefined, { error });
          flight.settle(new CacheEntry(policy.fallback as V, { cachedAt: now, ttl: 0, isStale: true }));
          return;
        }
        flight.fail(
          outcome.timedOut
            ? error
            : isCacheError(error) && (error.code === "CLOSED" || error.code === "ABORTED")
              ? error
              : new CacheError("LOADER", `the loader failed for ${operation}: ${describe(error)}`, {
                  cause: error,
                }),
        );
        return;
      }

      if (this.#observed()) this.#emit("loaded", operation, key, undefined, { durationMs, background });
      if (flight.aborted) return;
      const value = outcome.value as V | CacheEntry<V> | undefined;
      let entry: CacheEntry<V> | undefined;
      if (value === undefined) {
        if (operation === "optionallyGetOrInsert" && policy.negativeTtl !== undefined) {
          entry = new CacheEntry<V>(null as V, {
            cachedAt: now,
            ttl: policy.negativeTtl,
            // First, so that recognising an absence is one comparison; then the call's own tags.
            tags: policy.tags === undefined ? [NEGATIVE_TAG] : [NEGATIVE_TAG, ...policy.tags],
            staleFor: 0,
          });
        }
      } else {
        entry = this.#toEntry(value, policy, now);
      }
      if (entry !== undefined && this.#isCurrent(ticket) && !flight.superseded) {
        lastWrite = this.#writeAll(key, entry, background ? "refresh" : operation, false, undefined);
        this.#track(lastWrite);
        if (background && this.#observed())
          this.#emit("refresh_hit", "refresh", key, undefined, { background });
      }
      flight.settle(entry);
    } catch (error) {
      // Only a bug gets here; the callers still get an error rather than waiting forever.
      flight.fail(error);
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      this.#release(ticket);
      if (lease !== undefined) {
        // Waiting processes poll the shared tier: release only once the value is there.
        if (lastWrite !== undefined) await lastWrite.catch(noop);
        await this.#lock!.lock.release(lease).catch((error: unknown) =>
          this.#emit("tier_error", operation, key, "lock", { error }),
        );
      }
    }
  }

  /**
   * Takes the fleet-wide lock for `key`, or waits (polling the shared tiers) while another process
   * holds it. Resolves to the lease, to an entry another process stored, or to neither when the
   * lock service is down or the wait outlived the lease (then this process loads by itself).
   */
  async #lockOrWait(
    key: K,
    flight: Flight<V>,
    operation: CacheOperationName,
    ticket: Ticket<K>,
  ): Promise<{ lease?: LockLease; entry?: CacheEntry<V> }> {
    const config = this.#lock!;
    const lockKey = `${this.name}:${this.#busKeys.encode(key)}`;
    const giveUpAt = this.#clock.now() + config.lease;
    for (;;) {
      let lease: LockLease | undefined;
      try {
        lease = await config.lock.tryAcquire(lockKey, config.lease);
      } catch (error) {
        this.#emit("tier_error", operation, key, "lock", { error });
        return {};
      }
      if (lease !== undefined) return { lease };
      if (this.#observed()) this.#emit("coalesced", operation, key, "lock");
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, config.pollInterval));
      if (flight.aborted || this.#closed) return {};
      const found = await this.#readFrom(key, 1, operation, ticket);
      if (found.entry !== undefined) return { entry: found.entry };
      if (this.#clock.now() >= giveUpAt) return {};
    }
  }

  /**
   * Starts a background refresh when an entry is older than the time-to-refresh: by the loader when
   * there is one (getOrInsert), otherwise from the tiers below the one that answered (get).
   */
  #maybeRefresh(
    key: K,
    entry: CacheEntry<V>,
    index: number,
    now: number,
    load: { loader: Loader<K, V>; operation: "getOrInsert" | "optionallyGetOrInsert" } | undefined,
    policy: LoadPolicy<V>,
  ): void {
    if (entry.cachedAt === undefined || now - entry.cachedAt < this.#ttr! || this.#flights.has(key)) return;
    const notBefore = this.#refreshNotBefore.get(key);
    if (notBefore !== undefined) {
      if (now < notBefore) return;
      this.#refreshNotBefore.delete(key);
    }
    if (load === undefined && index + 1 >= this.#slots.length) return;
    if (this.#refreshNotBefore.size > 10_000) this.#refreshNotBefore.clear();
    // Whatever happens, this entry is not refreshed again for one refresh age unless something changes.
    this.#refreshNotBefore.set(key, now + Math.min(this.#ttr!, 1_000));
    const flight = new Flight<V>(true);
    this.#flights.set(key, flight);
    if (this.#observed()) this.#emit("refresh_started", "refresh", key, undefined, { background: true });
    if (load !== undefined) {
      this.#track(
        this.#runFlight(key, flight, load.loader, policy, load.operation, this.#slots.length, entry, true),
      );
    } else {
      this.#track(this.#refreshFromBelow(key, flight, entry, index));
    }
  }

  async #refreshFromBelow(key: K, flight: Flight<V>, current: CacheEntry<V>, index: number): Promise<void> {
    const ticket = this.#acquire(key);
    try {
      const found = await this.#readFrom(key, index + 1, "refresh", ticket);
      const fresher = found.entry !== undefined && (found.entry.cachedAt ?? 0) > (current.cachedAt ?? 0);
      if (fresher && this.#isCurrent(ticket) && !flight.superseded) {
        const entry = found.entry!;
        const now = this.#clock.now();
        // readFrom promoted according to policy; a refresh also replaces what the upper tiers had.
        for (let j = index; j >= 0; j--) {
          const slot = this.#slots[j]!;
          const copy = capTtl(entry, slot.ttl, now);
          this.#track(this.#tierCall(slot, j, () => slot.tier.insert(key, copy), "refresh", key));
        }
        if (this.#observed()) this.#emit("refresh_hit", "refresh", key, undefined, { background: true });
      } else if (this.#observed()) {
        this.#emit("refresh_miss", "refresh", key, undefined, { background: true });
      }
      flight.settle(found.entry);
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      this.#release(ticket);
    }
  }

  #serveStale(entry: CacheEntry<V>, key: K, operation: CacheOperationName): CacheEntry<V> {
    this.#staleServed++;
    if (this.#observed()) this.#emit("stale_served", operation, key, undefined);
    return this.#share(entry).with({ isStale: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: writes and tiers

  /**
   * Writes `entry` to every tier at once. All tier calls are issued synchronously, so a later write
   * to the same key is issued after this one on every tier.
   */
  async #writeAll(
    key: K,
    entry: CacheEntry<V>,
    operation: CacheOperationName,
    explicit: boolean,
    upTo: number | undefined,
  ): Promise<void> {
    const jitter = this.#jitter > 0 ? Math.floor(this.#random() * this.#jitter) : 0;
    const last = upTo ?? this.#slots.length - 1;
    const calls: Promise<CacheError | undefined>[] = [];
    let previousTtl: number | undefined = -1;
    let previous: CacheEntry<V> = entry;
    for (let i = 0; i <= last; i++) {
      const slot = this.#slots[i]!;
      // Jitter spreads default ttls; an entry's own ttl is kept exactly.
      let ttl = entry.ttl ?? slot.ttl;
      if (entry.ttl === undefined && ttl !== undefined) ttl += jitter;
      const forTier = ttl === entry.ttl ? entry : ttl === previousTtl ? previous : entry.with({ ttl });
      previousTtl = ttl;
      previous = forTier;
      calls.push(this.#tierCall(slot, i, () => slot.tier.insert(key, forTier), operation, key));
    }
    await this.#settleTiers(calls, explicit);
  }

  async #writeMany(writes: readonly (readonly [K, CacheEntry<V>, Ticket<K>])[]): Promise<void> {
    const current = writes.filter(([, , ticket]) => this.#isCurrent(ticket));
    if (current.length === 0) return;
    const calls = this.#slots.map((slot, i) => {
      const entries = current.map(([key, entry]) => {
        const ttl = entry.ttl ?? slot.ttl;
        return [key, ttl === entry.ttl ? entry : entry.with({ ttl })] as const;
      });
      return this.#tierCall(
        slot,
        i,
        () =>
          slot.tier.insertMany
            ? slot.tier.insertMany(entries)
            : Promise.all(entries.map(([key, entry]) => slot.tier.insert(key, entry))).then(noop),
        "getOrInsertMany",
      );
    });
    await this.#settleTiers(calls, false);
  }

  /** Waits for tier calls; with `.tierErrors("throw")` an explicit operation rethrows the first failure. */
  async #settleTiers(calls: Promise<CacheError | undefined>[], explicit: boolean): Promise<void> {
    const errors = await Promise.all(calls);
    if (!explicit) return;
    const first = errors.find((error) => error !== undefined);
    if (first === undefined) return;
    if (this.#tierErrors === "throw" || first.code === "CODEC" || first.code === "CLOSED") throw first;
  }

  /**
   * Runs one tier operation under the tier's breaker and timeout. Never rejects: resolves to the
   * error (wrapped as a `CacheError`) or `undefined`, after reporting it.
   */
  #tierCall(
    slot: TierSlot<K, V>,
    index: number,
    run: () => Promise<unknown>,
    operation: CacheOperationName = "insert",
    key?: K,
  ): Promise<CacheError | undefined> {
    return this.#guard(slot, index, run, operation, key).then(
      () => undefined,
      (error: unknown) => {
        const wrapped = this.#tierFailed(error, slot, index, operation, key);
        return wrapped;
      },
    );
  }

  #tierGet(
    slot: TierSlot<K, V>,
    index: number,
    key: K,
    operation: CacheOperationName,
  ): Promise<CacheEntry<V> | undefined> {
    return this.#guard(slot, index, () => slot.tier.get(key), operation, key).then(
      undefined,
      (error: unknown) => {
        const wrapped = this.#tierFailed(error, slot, index, operation, key);
        if (this.#tierErrors === "throw" || wrapped.code === "CLOSED") throw wrapped;
        return undefined;
      },
    );
  }

  async #tierGetMany(
    slot: TierSlot<K, V>,
    index: number,
    keys: readonly K[],
    operation: CacheOperationName,
  ): Promise<(CacheEntry<V> | undefined)[]> {
    try {
      if (index === 0 && this.#l1Sync !== undefined) return keys.map((key) => this.#readL1(key, operation));
      return await this.#guard(slot, index, () =>
        slot.tier.getMany ? slot.tier.getMany(keys) : Promise.all(keys.map((key) => slot.tier.get(key))),
      );
    } catch (error) {
      const wrapped = this.#tierFailed(error, slot, index, operation, undefined);
      if (this.#tierErrors === "throw" || wrapped.code === "CLOSED") throw wrapped;
      return keys.map(() => undefined);
    }
  }

  /** Wraps a tier's failure as a `CacheError`, counts and reports it (a skip by an open breaker is neither). */
  #tierFailed(
    error: unknown,
    slot: TierSlot<K, V>,
    index: number,
    operation: CacheOperationName,
    key: K | undefined,
  ): CacheError {
    const wrapped = toTierError(error, slot.name);
    if (wrapped.code !== "CIRCUIT_OPEN") {
      this.#tierStats[index]!.errors++;
      this.#emit("tier_error", operation, key, slot.name, { error: wrapped });
    }
    return wrapped;
  }

  /** Applies the tier's circuit breaker and operation timeout to one call. */
  #guard<T>(
    slot: TierSlot<K, V>,
    index: number,
    run: () => Promise<T>,
    operation: CacheOperationName = "get",
    key?: K,
  ): Promise<T> {
    const breaker = slot.breaker;
    if (breaker !== undefined && !breaker.tryAcquire()) {
      return Promise.reject(
        new CacheError("CIRCUIT_OPEN", `tier \`${slot.name}\` is skipped: its circuit breaker is open`, {
          tier: slot.name,
        }),
      );
    }
    let promise: Promise<T>;
    try {
      const trace = this.#traceTier;
      promise =
        trace !== undefined && index > 0 ? trace(this.#traced(key, operation, slot.name, false), run) : run();
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (slot.timeout !== undefined) promise = withTimeout(promise, slot.timeout, this.#clock, slot.name);
    if (breaker === undefined) return promise;
    return promise.then(
      (value) => {
        breaker.recordSuccess();
        return value;
      },
      (error: unknown) => {
        // A value the codec refuses says nothing about the tier's health.
        if (!(isCacheError(error) && (error.code === "CODEC" || error.code === "INVALID_OPTION")))
          breaker.recordFailure();
        throw error;
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: tags and the bus

  async #tagOperation(
    tags: readonly string[],
    type: "invalidate-tags" | "expire-tags",
    operation: "invalidateTags" | "expireTags",
  ): Promise<void> {
    if (this.#closed) throw this.#closedError();
    if (!isTagList(tags)) {
      throw new CacheError("INVALID_OPTION", `\`${operation}\` needs an array of non-empty tag strings`);
    }
    if (tags.length === 0) return;
    // Never earlier than a `cachedAt` this instance already stamped: after a first invalidation
    // in this millisecond, writes were stamped `at + 1` (the floor), and a second invalidation in
    // the same millisecond (or after the wall clock stepped back) must still cover them.
    const now = this.#clock.now();
    const at = now < this.#stampFloor ? this.#stampFloor : now;
    this.#applyTags(type, tags, at);
    // Shared tiers remember the times, for instances that start later or missed the bus.
    if (this.#slots.length > 1) {
      const markers = tags.map((tag) => {
        const state = this.#tags.get(tag)!;
        const marker = new CacheEntry(
          { expiredAt: state.expiredAt, invalidatedAt: state.invalidatedAt } as unknown as V,
          {
            cachedAt: at,
            ttl: this.#tagMarkerTtl,
          },
        );
        return [this.#markerKey(tag), marker] as const;
      });
      await this.#settleTiers(
        this.#slots
          .slice(1)
          .map((slot, i) =>
            this.#tierCall(slot, i + 1, () =>
              slot.tier.insertMany
                ? slot.tier.insertMany(markers)
                : Promise.all(markers.map(([k, m]) => slot.tier.insert(k, m))).then(noop),
            ),
          ),
        true,
      );
    }
    if (this.#bus !== undefined) await this.#publish({ type, cache: this.name, tags: [...tags], at });
    this.#emit("invalidated", operation, undefined, undefined);
  }

  /** Records tag times locally and stops loads in flight from writing entries made before them. */
  #applyTags(type: "invalidate-tags" | "expire-tags", tags: readonly string[], at: number): void {
    for (const tag of tags) {
      let state = this.#tags.get(tag);
      if (state === undefined) {
        state = { expiredAt: 0, invalidatedAt: 0, checkedAt: 0 };
        this.#tags.set(tag, state);
      }
      if (type === "invalidate-tags") state.invalidatedAt = Math.max(state.invalidatedAt, at);
      state.expiredAt = Math.max(state.expiredAt, at);
    }
    this.#stampFloor = Math.max(this.#stampFloor, at + 1);
    if (at > this.#latestTagAt) this.#latestTagAt = at;
    this.#supersedeAll();
  }

  /** Reads unknown tags' invalidation times from the shared tiers (once per tag per marker ttl). */
  async #loadTagStates(tags: readonly string[], now: number): Promise<void> {
    const unknown = tags.filter((tag) => {
      if (tag === NEGATIVE_TAG) return false;
      const state = this.#tags.get(tag);
      return state === undefined || (state.checkedAt !== 0 && now - state.checkedAt > TAG_RECHECK_MS);
    });
    if (unknown.length === 0) return;
    const keys = unknown.map((tag) => this.#markerKey(tag));
    const found: (CacheEntry<V> | undefined)[] = keys.map(() => undefined);
    for (let i = this.#slots.length - 1; i >= 1; i--) {
      const slot = this.#slots[i]!;
      const entries = await this.#tierGetMany(slot, i, keys, "get");
      entries.forEach((entry, j) => {
        if (entry !== undefined && found[j] === undefined) found[j] = entry;
      });
    }
    unknown.forEach((tag, j) => {
      const marker = found[j]?.value as unknown as
        { expiredAt?: unknown; invalidatedAt?: unknown } | undefined;
      const state = this.#tags.get(tag) ?? { expiredAt: 0, invalidatedAt: 0, checkedAt: 0 };
      if (marker !== undefined && typeof marker === "object") {
        if (typeof marker.expiredAt === "number")
          state.expiredAt = Math.max(state.expiredAt, marker.expiredAt);
        if (typeof marker.invalidatedAt === "number") {
          state.invalidatedAt = Math.max(state.invalidatedAt, marker.invalidatedAt);
        }
      }
      state.checkedAt = now;
      this.#latestTagAt = Math.max(this.#latestTagAt, state.expiredAt, state.invalidatedAt);
      this.#tags.set(tag, state);
    });
  }

  /**
   * Applies tag times to an entry: `undefined` when a tag invalidated it, an expired copy when a tag
   * expired it, the entry itself otherwise.
   */
  #vet(entry: CacheEntry<V>): CacheEntry<V> | undefined {
    const cachedAt = entry.cachedAt ?? 0;
    let expiredAt = 0;
    for (const tag of entry.tags) {
      const state = this.#tags.get(tag);
      if (state === undefined) continue;
      if (cachedAt <= state.invalidatedAt) return undefined;
      if (cachedAt <= state.expiredAt && state.expiredAt > expiredAt) expiredAt = state.expiredAt;
    }
    if (expiredAt === 0) return entry;
    const expiresAt = entry.expiresAt;
    if (expiresAt !== undefined && expiresAt <= expiredAt) return entry;
    // Expired by a tag: freshness ends at the tag's time; the retention past it is kept.
    const retainUntil = entry.retainUntil;
    const ttl = Math.max(0, expiredAt - cachedAt);
    return entry.with({
      ttl,
      staleFor: retainUntil === undefined ? entry.staleFor : Math.max(0, retainUntil - (cachedAt + ttl)),
    });
  }

  #markerKey(tag: string): K {
    return `${TAG_MARKER_PREFIX}${this.name}:${tag}` as unknown as K;
  }

  async #publish(message: CacheBusMessage): Promise<void> {
    try {
      await this.#bus!.publish(message);
    } catch (error) {
      // The bus queues what it cannot send; a bus that rejects anyway is reported, not thrown.
      this.#emit("tier_error", "bus", undefined, "bus", { error });
    }
  }

  #onBusMessage(message: CacheBusMessage): void {
    if (this.#closed || message.cache !== this.name) return;
    switch (message.type) {
      case "set":
      case "invalidate":
        for (const text of message.keys) {
          let key: K;
          try {
            key = this.#busKeys.decode(text);
          } catch {
            continue;
          }
          this.#supersede(key);
          this.#expireL1(key);
        }
        break;
      case "clear":
        this.#dropL1();
        break;
      case "expire-tags":
      case "invalidate-tags":
        // The receiver's own clock: an entry it cached before now may predate the invalidation.
        this.#applyTags(message.type, message.tags, Math.max(message.at, this.#clock.now()));
        break;
    }
    this.#emit("bus_received", "bus", undefined, undefined);
  }

  /**
   * Marks this instance's L1 copy of `key` as expired past the stale-while-revalidate window: the
   * next read goes to the shared tier, while the old value stays available to fail-safe.
   */
  #expireL1(key: K): void {
    const slot = this.#slots[0]!;
    const entry = this.#l1Sync !== undefined ? this.#readL1(key, "bus") : undefined;
    if (entry === undefined || entry.cachedAt === undefined || this.#policy.failSafe === undefined) {
      void slot.tier.invalidate(key).catch(noop);
      return;
    }
    const now = this.#clock.now();
    const retainUntil = entry.retainUntil ?? now + this.#policy.failSafe.maxStaleAge;
    const cachedAt = now - this.#policy.swr - 1;
    const expired = entry.with({ cachedAt, ttl: 0, staleFor: Math.max(0, retainUntil - cachedAt) });
    void slot.tier.insert(key, expired).catch(noop);
  }

  /** Forgets every L1 entry of this instance (after a clear elsewhere, or a bus gap). */
  #dropL1(): void {
    this.#supersedeAll();
    void this.#slots[0]!.tier.clear().catch(noop);
  }

  #supersedeAll(): void {
    this.#reads.clear();
    for (const fence of this.#fences.values()) fence.generation++;
    for (const flight of this.#flights.values()) flight.superseded = true;
    this.#flights.clear();
    this.#refreshNotBefore.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: entries, fences, events

  #toEntry(value: V | CacheEntry<V>, policy: LoadPolicy<V>, clockNow: number): CacheEntry<V> {
    const now = clockNow < this.#stampFloor ? this.#stampFloor : clockNow;
    const staleFor = Math.max(policy.swr, policy.failSafe?.maxStaleAge ?? 0);
    if (isCacheEntry(value)) {
      const entry = value;
      const tags = policy.tags === undefined ? entry.tags : mergeTags(entry.tags, policy.tags);
      if (this.#valueMode === "freeze") deepFreeze(entry.value);
      return new CacheEntry(entry.value, {
        cachedAt: entry.cachedAt ?? now,
        ttl: entry.ttl ?? policy.ttl,
        tags,
        staleFor: entry.staleFor > 0 ? entry.staleFor : staleFor,
      });
    }
    if (this.#valueMode === "freeze") deepFreeze(value);
    return new CacheEntry(value, { cachedAt: now, ttl: policy.ttl, tags: policy.tags, staleFor });
  }

  /** Prepares an entry that came from a tier for sharing between callers. */
  #share(entry: CacheEntry<V>): CacheEntry<V> {
    if (this.#valueMode === "freeze") deepFreeze(entry.value);
    return entry;
  }

  #out(entry: CacheEntry<V>): CacheEntry<V> {
    return this.#valueMode === "clone" ? cloneEntry(entry) : entry;
  }

  #resolvePolicy(options: GetOrInsertOptions<V>): LoadPolicy<V> {
    const base = this.#policy;
    const swr =
      options.staleWhileRevalidate === undefined
        ? base.swr
        : options.staleWhileRevalidate === false
          ? 0
          : toMilliseconds(options.staleWhileRevalidate, "staleWhileRevalidate");
    let failSafe = base.failSafe;
    let hasFallback = base.hasFallback;
    let fallback = base.fallback;
    if (options.failSafe === false) {
      failSafe = undefined;
      hasFallback = false;
      fallback = undefined;
    } else if (options.failSafe !== undefined) {
      failSafe = {
        maxStaleAge: toMilliseconds(options.failSafe.maxStaleAge, "failSafe.maxStaleAge"),
        backoff:
          options.failSafe.backoff === undefined
            ? 10_000
            : toMilliseconds(options.failSafe.backoff, "failSafe.backoff"),
      };
      hasFallback = "fallback" in options.failSafe;
      fallback = options.failSafe.fallback;
    }
    const timeouts = options.timeouts;
    return {
      ttl: options.ttl === undefined ? base.ttl : toMilliseconds(options.ttl, "ttl"),
      tags: options.tags ?? base.tags,
      swr,
      failSafe,
      hasFallback,
      fallback,
      softTimeout:
        timeouts?.soft === undefined ? base.softTimeout : toMilliseconds(timeouts.soft, "timeouts.soft"),
      hardTimeout:
        timeouts?.hard === undefined
          ? base.hardTimeout
          : toMilliseconds(timeouts.hard, "timeouts.hard", false),
      negativeTtl:
        options.negativeTtl === undefined
          ? base.negativeTtl
          : toMilliseconds(options.negativeTtl, "negativeTtl", false),
    };
  }

  /** Marks `key` as rewritten: loads and promotions that started earlier will not write. */
  #supersede(key: K): void {
    this.#reads.delete(key);
    const fence = this.#fences.get(key);
    if (fence !== undefined) fence.generation++;
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      flight.superseded = true;
      this.#flights.delete(key);
    }
    this.#refreshNotBefore.delete(key);
  }

  #acquire(key: K): Ticket<K> {
    let fence = this.#fences.get(key);
    if (fence === undefined) {
      fence = { refs: 0, generation: 0 };
      this.#fences.set(key, fence);
    }
    fence.refs++;
    return { key, fence, generation: fence.generation };
  }

  #release(ticket: Ticket<K>): void {
    if (--ticket.fence.refs === 0 && this.#fences.get(ticket.key) === ticket.fence)
      this.#fences.delete(ticket.key);
  }

  #isCurrent(ticket: Ticket<K>): boolean {
    return !this.#closed && ticket.fence.generation === ticket.generation;
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch(noop);
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  #traced(
    key: K | undefined,
    operation: CacheOperationName,
    tier: string | undefined,
    background: boolean,
  ): TracedCall {
    const call: { -readonly [P in keyof TracedCall]: TracedCall[P] } = {
      cache: this.name,
      operation,
      keyHash: key === undefined ? undefined : hashKey(key),
      background,
    };
    if (key !== undefined) call.key = key;
    if (tier !== undefined) call.tier = tier;
    return call;
  }

  #observed(): boolean {
    return this.#listeners.length !== 0 || cacheEventChannel.hasSubscribers;
  }

  #emit(
    type: CacheEventType,
    operation: CacheOperationName,
    key: K | undefined,
    tier: string | undefined,
    extra?: { durationMs?: number; error?: unknown; background?: boolean },
  ): void {
    if (!this.#observed()) return;
    const event = new CacheEventRecord(type, this.name, tier, operation, key);
    if (this.#eventKeys && key !== undefined) event.key = key;
    if (extra !== undefined) {
      if (extra.durationMs !== undefined) event.durationMs = extra.durationMs;
      if (extra.error !== undefined) event.error = extra.error;
      if (extra.background !== undefined) event.background = extra.background;
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener must not break the cache.
      }
    }
    if (cacheEventChannel.hasSubscribers) cacheEventChannel.publish(event);
  }

  /** @internal Used by integrations (bus, telemetry) to report events under this cache's name. */
  reportEvent(
    type: CacheEventType,
    operation: CacheOperationName,
    extra?: { tier?: string; error?: unknown; durationMs?: number },
  ): void {
    this.#emit(type, operation, undefined, extra?.tier, extra);
  }

  #rejectClosed(): Promise<never> {
    return Promise.reject(this.#closedError());
  }

  #closedError(): CacheError {
    return new CacheError("CLOSED", `cache \`${this.name}\` is closed`);
  }
}

// -----------------------------------------------------------------------------------------------

function noop(): void {}

type TraceHook = <T>(call: TracedCall, run: () => Promise<T>) => Promise<T>;

/** Nests several instrumentations' trace hooks into one (the first is outermost). */
function composeTrace(
  instrumentations: readonly CacheInstrumentation[],
  hook: "traceLoader" | "traceTier",
): TraceHook | undefined {
  const hooks = instrumentations.filter((i) => typeof i[hook] === "function");
  if (hooks.length === 0) return undefined;
  return <T>(call: TracedCall, run: () => Promise<T>): Promise<T> => {
    let next = run;
    for (let i = hooks.length - 1; i >= 0; i--) {
      const instrumentation = hooks[i]!;
      const inner = next;
      next = () => {
        let ran = false;
        const once = () => {
          ran = true;
          return inner();
        };
        try {
          return instrumentation[hook]!(call, once);
        } catch (error) {
          // A broken hook must not lose the call.
          return ran ? Promise.reject(error) : inner();
        }
      };
    }
    return next();
  };
}

function isTagList(tags: unknown): boolean {
  return Array.isArray(tags) && (tags as unknown[]).every((tag) => typeof tag === "string" && tag.length > 0);
}

function isNegative(entry: CacheEntry<unknown>): boolean {
  return entry.tags[0] === NEGATIVE_TAG;
}

function newest<V>(a: CacheEntry<V> | undefined, b: CacheEntry<V> | undefined): CacheEntry<V> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return (b.cachedAt ?? 0) > (a.cachedAt ?? 0) ? b : a;
}

/** A copy of `entry` for a tier whose own ttl is `ttl`: same `cachedAt`, never expiring later. */
function capTtl<V>(entry: CacheEntry<V>, ttl: Milliseconds | undefined, now: number): CacheEntry<V> {
  if (ttl === undefined || entry.cachedAt === undefined) return entry;
  const cap = now - entry.cachedAt + ttl;
  if (entry.ttl !== undefined && entry.ttl <= cap) return entry;
  return entry.with({ ttl: cap });
}

function cloneEntry<V>(entry: CacheEntry<V>): CacheEntry<V> {
  return new CacheEntry(structuredClone(entry.value), {
    cachedAt: entry.cachedAt,
    ttl: entry.ttl,
    tags: entry.tags,
    staleFor: entry.staleFor,
    isStale: entry.isStale,
  });
}

function mergeTags(a: readonly string[], b: readonly string[]): readonly string[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return [...new Set([...a, ...b])];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toTierError(error: unknown, tier: string): CacheError {
  if (isCacheError(error)) return error;
  return new CacheError("TIER_FAILURE", `tier \`${tier}\` failed: ${describe(error)}`, {
    tier,
    cause: error,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: Milliseconds, clock: Clock, tier: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(new CacheError("TIMEOUT", `tier \`${tier}\` did not answer within ${ms} ms`, { tier }));
    }, ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
