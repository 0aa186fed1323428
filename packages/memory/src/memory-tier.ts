import { LRUCache } from "lru-cache";
import { CacheEntry, CacheError, assertKnownKeys, systemClock, toMilliseconds } from "@cachet/tier";
import type { CacheTier, Clock, Codec, Duration, Milliseconds } from "@cachet/tier";

/**
 * Options for {@link MemoryTier}. At least one of `maxEntries` and `maxBytes` is required, so that
 * nobody ships an unbounded in-process cache by accident.
 */
export interface MemoryTierOptions<K, V> {
  /**
   * Maximum number of entries before the least recently used is evicted. lru-cache preallocates
   * bookkeeping arrays of this length, so size it to what you mean to keep.
   */
  maxEntries?: number | undefined;
  /**
   * Maximum total size, in the units `sizeOf` returns (bytes when a `codec` is set). An entry larger
   * than `maxBytes` on its own is not stored (and any older entry for its key is removed).
   */
  maxBytes?: number | undefined;
  /**
   * Size of one entry, a positive integer. Required with `maxBytes` unless a `codec` is set, in which
   * case the encoded length is used.
   */
  sizeOf?: ((value: V, key: K) => number) | undefined;
  /** Default ttl for entries that carry none. @default no expiry */
  ttl?: Duration | undefined;
  /** Time source; tests pass a `ManualClock`. @default systemClock */
  clock?: Clock | undefined;
  /**
   * Stores values encoded through this codec and decodes a fresh copy on every read, so callers can
   * never mutate a cached object. Costs an encode per insert and a decode per hit.
   * @default undefined (values are stored by reference)
   */
  codec?: Codec<V> | undefined;
  /** Name used in errors, events and telemetry. @default "memory" */
  name?: string | undefined;
}

/** Returned by every successful `insert`: settled promises are immutable, so one serves all calls. */
const RESOLVED: Promise<void> = Promise.resolve();

/** Every key of {@link MemoryTierOptions}; the `Record` type keeps the list complete. */
const MEMORY_TIER_KEYS = Object.keys({
  maxEntries: true,
  maxBytes: true,
  sizeOf: true,
  ttl: true,
  clock: true,
  codec: true,
  name: true,
} satisfies Record<keyof MemoryTierOptions<unknown, unknown>, true>);

/**
 * In-process L1 tier backed by `lru-cache`, bounded by entry count and/or bytes.
 *
 * Reads are synchronous ({@link MemoryTier.getSync}), so the core answers an L1 hit without waiting
 * on a promise. Expiry is lazy: an expired entry is dropped when it is read or evicted, so
 * {@link MemoryTier.size} may count entries that have already expired.
 *
 * @example
 * const tier = new MemoryTier<string, User>({ maxEntries: 10_000, ttl: "1m" });
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache keys must be non-nullish
export class MemoryTier<K extends {}, V> implements CacheTier<K, V> {
  readonly name: string;
  readonly #lru: LRUCache<K, CacheEntry<unknown>>;
  readonly #clock: Clock;
  readonly #ttl: Milliseconds | undefined;
  readonly #codec: Codec<V> | undefined;
  #closed = false;

  /** @throws CacheError `INVALID_OPTION` naming the first invalid option. */
  constructor(options: MemoryTierOptions<K, V>) {
    const name = options?.name ?? "memory";
    const invalid = (message: string) => new CacheError("INVALID_OPTION", message, { tier: name });
    if (options === undefined || options === null)
      throw invalid("options with `maxEntries` or `maxBytes` are required");
    // Before the bound check, so that `{ maxEntrys: 10 }` is told about the typo.
    assertKnownKeys(options, MEMORY_TIER_KEYS, "MemoryTier");
    const { maxEntries, maxBytes, sizeOf, codec } = options;
    if (maxEntries === undefined && maxBytes === undefined) {
      throw invalid(
        "`maxEntries` or `maxBytes` is required: an unbounded in-process cache grows until the process dies",
      );
    }
    if (maxEntries !== undefined && !(Number.isInteger(maxEntries) && maxEntries > 0)) {
      throw invalid(`\`maxEntries\` must be a positive integer, got ${String(maxEntries)}`);
    }
    if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0)) {
      throw invalid(`\`maxBytes\` must be a positive integer, got ${String(maxBytes)}`);
    }
    if (sizeOf !== undefined && typeof sizeOf !== "function") throw invalid("`sizeOf` must be a function");
    if (maxBytes !== undefined && sizeOf === undefined && codec === undefined) {
      throw invalid("`sizeOf` is required with `maxBytes` unless a `codec` is set");
    }
    if (codec !== undefined && (typeof codec.encode !== "function" || typeof codec.decode !== "function")) {
      throw invalid("`codec` must have `encode` and `decode` functions");
    }
    this.name = name;
    this.#clock = options.clock ?? systemClock;
    this.#ttl = options.ttl === undefined ? undefined : toMilliseconds(options.ttl, "ttl");
    this.#codec = codec;

    const sizeCalculation = (entry: CacheEntry<unknown>, key: K): number => {
      const size =
        codec !== undefined && sizeOf === undefined
          ? (entry.value as Uint8Array).byteLength
          : sizeOf!(codec !== undefined ? codec.decode(entry.value as Uint8Array) : (entry.value as V), key);
      return Number.isInteger(size) && size > 0 ? size : 1;
    };
    const lruOptions: LRUCache.Options<K, CacheEntry<unknown>, unknown> = maxBytes === undefined
      ? { max: maxEntries! }
      : maxEntries === undefined
        ? { maxSize: maxBytes, sizeCalculation }
        : { max: maxEntries, maxSize: maxBytes, sizeCalculation };
    this.#lru = new LRUCache(lruOptions);
  }

  getSync(key: K): CacheEntry<V> | undefined {
    if (this.#closed) throw this.#closedError();
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    // Inlined `entry.retainUntil`: this is the L1 hit path.
    const ttl = entry.ttl;
    if (ttl !== undefined && this.#clock.now() >= entry.cachedAt! + ttl + entry.staleFor) {
      this.#lru.delete(key);
      return undefined;
    }
    if (this.#codec === undefined) return entry as CacheEntry<V>;
    return this.#decode(entry as CacheEntry<Uint8Array>);
  }

  get(key: K): Promise<CacheEntry<V> | undefined> {
    try {
      return Promise.resolve(this.getSync(key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Not `async`: this is how the core back-fills L1 after every lower-tier hit, and one shared
   * resolved promise costs nothing where an async function allocates its own (a throw still
   * becomes a rejection).
   */
  insert(key: K, entry: CacheEntry<V>): Promise<void> {
    try {
      this.#lru.set(key, this.#prepare(entry));
    } catch (error) {
      return Promise.reject(error);
    }
    return RESOLVED;
  }

  /**
   * {@link MemoryTier.insert} without a promise (the optional `CacheTier.insertSync`): the core
   * back-fills L1 with it after every lower-tier hit. Throws `CLOSED` after close, `CODEC` when a
   * `codec` refuses the value.
   */
  insertSync(key: K, entry: CacheEntry<V>): void {
    this.#lru.set(key, this.#prepare(entry));
  }

  invalidate(key: K): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#lru.delete(key);
    return Promise.resolve();
  }

  clear(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#lru.clear();
    return Promise.resolve();
  }

  /** Entries held, including expired ones not yet dropped. */
  size(): number {
    return this.#lru.size;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw becomes a rejection
  async getMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    return keys.map((key) => this.getSync(key));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw becomes a rejection
  async insertMany(entries: readonly (readonly [K, CacheEntry<V>])[]): Promise<void> {
    // Encode everything first, so a value the codec refuses leaves nothing half-written.
    const prepared = entries.map(([key, entry]) => [key, this.#prepare(entry)] as const);
    for (const [key, entry] of prepared) this.#lru.set(key, entry);
  }

  invalidateMany(keys: readonly K[]): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    for (const key of keys) this.#lru.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#lru.clear();
    return Promise.resolve();
  }

  #prepare(entry: CacheEntry<V>): CacheEntry<unknown> {
    if (this.#closed) throw this.#closedError();
    let stored: CacheEntry<unknown> = entry;
    if (
      entry.cachedAt === undefined ||
      (entry.ttl === undefined && this.#ttl !== undefined) ||
      entry.isStale
    ) {
      stored = entry.with({
        cachedAt: entry.cachedAt ?? this.#clock.now(),
        ttl: entry.ttl ?? this.#ttl,
        isStale: false,
      });
    }
    if (this.#codec !== undefined) {
      const bytes = this.#codec.encode(entry.value);
      stored = new CacheEntry<Uint8Array>(bytes, {
        cachedAt: stored.cachedAt,
        ttl: stored.ttl,
        tags: stored.tags,
        staleFor: stored.staleFor,
      });
    }
    return stored;
  }

  #decode(entry: CacheEntry<Uint8Array>): CacheEntry<V> {
    return new CacheEntry(this.#codec!.decode(entry.value), {
      cachedAt: entry.cachedAt,
      ttl: entry.ttl,
      tags: entry.tags,
      staleFor: entry.staleFor,
    });
  }

  #closedError(): CacheError {
    return new CacheError("CLOSED", `tier \`${this.name}\` is closed`, { tier: this.name });
  }
}
