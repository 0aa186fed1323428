import { EventEmitter } from "node:events";
import { CacheEntry, CacheError } from "@cachet/tier";
import type { Cache, CacheNamespace } from "@cachet/core";
import type { KeyvStoreAdapter, StoredData } from "keyv";

/** Options for {@link keyvStore}. Unknown options are rejected. */
export interface CachetKeyvStoreOptions {
  /**
   * Whether Keyv's `disconnect()` (called by cache-manager's `disconnect()` and by
   * `@nestjs/cache-manager` on module destroy) closes the cache. Off by default: the cache is
   * yours and may have other users.
   * @default false
   */
  closeOnDisconnect?: boolean;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(["closeOnDisconnect"]);

/**
 * A cachet `Cache` as a Keyv (v5) storage adapter, so `new Keyv({ store })`, cache-manager 7,
 * `@nestjs/cache-manager` and cacheable-request read and write through cachet's tiers, with its
 * stampede protection on reads (concurrent reads of one key share one read of the lower tiers),
 * its circuit breakers, and its bus (a write or delete here invalidates other instances' L1).
 *
 * How Keyv's contract maps onto the cache:
 * - **Values.** Keyv serializes before calling the store (`{ value, expires }` as a JSON string by
 *   default, or whatever its `serialize` returns; the raw object when `serialize` is off), and the
 *   cache stores that as is. Keyv checks `expires` itself on every read.
 * - **ttl.** `set(key, value, ttl)` gets a relative ttl in milliseconds, which becomes the entry's
 *   ttl in every tier. Keyv turns a ttl of `0` into none; without one the entry takes the cache's
 *   default ttl, if any (like any store, the cache may drop an entry early).
 * - **Namespaces.** Keyv prefixes keys with `<namespace>:` and sets `store.namespace`. Writes go
 *   through `cache.namespace(namespace)` (a `:` in it nests), which stores them under the same key
 *   and tags them, so `clear()` removes exactly that namespace, in every tier and every instance,
 *   without a scan. Without a namespace, `clear()` clears the whole cache.
 * - **Stale entries** (stale-while-revalidate, fail-safe) are misses here: Keyv has no notion of
 *   a stale value, and would delete it on seeing its own `expires` in the past.
 * - No `iterator`: cachet tiers do not enumerate keys, so `keyv.iterator` is undefined. No
 *   `setMany` either: Keyv then calls `set` per entry, which gives it the per-entry results.
 */
export class CachetKeyvStore<V = unknown> extends EventEmitter implements KeyvStoreAdapter {
  /** Adapter options, as Keyv adapters expose them (Keyv and its test suite read `opts`). */
  opts: Record<string, unknown>;
  /** Set by Keyv to its namespace; scopes `clear()`. */
  namespace?: string | undefined;
  readonly #cache: Cache<string, V>;
  readonly #closeOnDisconnect: boolean;
  readonly #views = new Map<string, CacheNamespace<V>>();

  /** @throws CacheError `INVALID_OPTION` for a missing cache or an unknown option. */
  constructor(cache: Cache<string, V>, options: CachetKeyvStoreOptions = {}) {
    super();
    if (
      typeof cache !== "object" ||
      cache === null ||
      typeof cache.get !== "function" ||
      typeof cache.namespace !== "function"
    ) {
      throw new CacheError("INVALID_OPTION", "`cache` must be a cachet Cache<string, V>");
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new CacheError(
          "INVALID_OPTION",
          `unknown option \`${key}\` (known: ${[...KNOWN_OPTIONS].join(", ")})`,
        );
      }
    }
    if (options.closeOnDisconnect !== undefined && typeof options.closeOnDisconnect !== "boolean") {
      throw new CacheError("INVALID_OPTION", "`closeOnDisconnect` must be a boolean");
    }
    this.#cache = cache;
    this.#closeOnDisconnect = options.closeOnDisconnect ?? false;
    this.opts = { dialect: "cachet", cache: cache.tiers.join(",") };
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const entry = await this.#cache.get(this.#cacheKey(key));
    return live(entry) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<StoredData<Value | undefined>[]> {
    const entries = await this.#cache.getMany(keys.map((k) => this.#cacheKey(k)));
    // Dense on purpose: Keyv walks the result with `for...in`, which skips the holes of a sparse
    // array (the cache's getMany may leave misses as holes) and would shift every later value.
    return Array.from(keys, (_, i) => live(entries[i])) as StoredData<Value | undefined>[];
  }

  async has(key: string): Promise<boolean> {
    return live(await this.#cache.get(this.#cacheKey(key))) !== undefined;
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    const entries = await this.#cache.getMany(keys.map((k) => this.#cacheKey(k)));
    return Array.from(keys, (_, i) => live(entries[i]) !== undefined);
  }

  /** Stores `value` (already serialized by Keyv) with a relative `ttl` in milliseconds. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const entry =
      ttl === undefined || ttl === 0
        ? new CacheEntry(value as V)
        : new CacheEntry(value as V, { ttl: checkTtl(ttl) });
    const [view, local] = this.#target(key);
    await (view === undefined ? this.#cache.insert(local, entry) : view.insert(local, entry));
    return true;
  }

  /** Resolves to whether a live entry was there. */
  async delete(key: string): Promise<boolean> {
    const cacheKey = this.#cacheKey(key);
    const existed = live(await this.#cache.get(cacheKey)) !== undefined;
    await this.#cache.invalidate(cacheKey);
    return existed;
  }

  /** Resolves to whether any of the keys had a live entry (Keyv 5 returns one boolean here). */
  async deleteMany(keys: string[]): Promise<boolean> {
    const cacheKeys = keys.map((k) => this.#cacheKey(k));
    const entries = await this.#cache.getMany(cacheKeys);
    await Promise.all(cacheKeys.map((k) => this.#cache.invalidate(k)));
    return entries.some((e: CacheEntry<V> | undefined) => live(e) !== undefined);
  }

  /** Clears this store's namespace (every tier, every instance on the bus), or the whole cache. */
  async clear(): Promise<void> {
    const namespace = this.namespace;
    await (namespace ? this.#view(namespace).clear() : this.#cache.clear());
  }

  /** Closes the cache when `closeOnDisconnect` is set; otherwise does nothing. */
  async disconnect(): Promise<void> {
    if (this.#closeOnDisconnect) await this.#cache.close();
  }

  /** The key the cache stores `key` under: Keyv's prefixed key, prefixed here if Keyv did not. */
  #cacheKey(key: string): string {
    const [view, local] = this.#target(key);
    return view === undefined ? local : view.keyOf(local);
  }

  /** The namespace view to write through, and the key inside it. */
  #target(key: string): [CacheNamespace<V> | undefined, string] {
    const namespace = this.namespace;
    if (!namespace) return [undefined, key];
    const prefix = `${namespace}:`;
    return [this.#view(namespace), key.startsWith(prefix) ? key.slice(prefix.length) : key];
  }

  #view(namespace: string): CacheNamespace<V> {
    let view = this.#views.get(namespace);
    if (view === undefined) {
      const [first, ...rest] = namespace.split(":");
      view = rest.reduce((v, part) => v.namespace(part), this.#cache.namespace(first!));
      this.#views.set(namespace, view);
    }
    return view;
  }
}

/** The value of a fresh entry; a stale or missing one is a miss for Keyv. */
function live<V>(entry: CacheEntry<V> | undefined): V | undefined {
  return entry === undefined || entry.isStale ? undefined : entry.value;
}

function checkTtl(ttl: number): number {
  if (typeof ttl !== "number" || !(ttl > 0) || !Number.isFinite(ttl)) {
    throw new CacheError("INVALID_OPTION", `\`ttl\` must be a positive number of milliseconds, got ${ttl}`);
  }
  return ttl;
}

/**
 * A cachet `Cache<string, V>` as a Keyv storage adapter.
 *
 * @example
 * const keyv = new Keyv({ store: keyvStore(cache), namespace: "users" });
 * CacheModule.register({ stores: [keyvStore(cache)] }); // @nestjs/cache-manager
 */
export function keyvStore<V>(cache: Cache<string, V>, options?: CachetKeyvStoreOptions): CachetKeyvStore<V> {
  return new CachetKeyvStore(cache, options);
}
