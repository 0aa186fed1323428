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
  /**
   * Which Keyv storage contract to speak. `5` (Keyv 5, which cache-manager 7, `@nestjs/cache-manager`
   * and every `@keyv/*` adapter use): `set` and `setMany` take a relative ttl, `deleteMany`
   * resolves to one boolean. Keyv 6 also accepts such a store, through its `KeyvBridgeAdapter`,
   * except that `keyv.delete([keys])` then reports one "any deleted" boolean for every key. `6`:
   * a native Keyv 6 adapter (`capabilities.expires`), where `set` and `setMany` take an absolute
   * expiry in epoch ms and `deleteMany` resolves to one boolean per key; for Keyv 6 only.
   * @default 5
   */
  keyv?: 5 | 6;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(["closeOnDisconnect", "keyv"]);

/** What a Keyv 6 store declares so that Keyv 6 uses it directly, without its bridge. */
const V6_CAPABILITIES = Object.freeze({ compatible: true, store: "keyvStorage", expires: true });

/**
 * A cachet `Cache` as a Keyv storage adapter, so `new Keyv({ store })`, cache-manager 7,
 * `@nestjs/cache-manager` and other Keyv users read and write through cachet's tiers, with its
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
 * - No `iterator`: cachet tiers do not enumerate keys, so `keyv.iterator` is undefined.
 */
export class CachetKeyvStore<V = unknown> extends EventEmitter implements KeyvStoreAdapter {
  /** Adapter options, as Keyv adapters expose them (Keyv and its test suite read `opts`). */
  opts: Record<string, unknown>;
  /** Set by Keyv to its namespace; scopes `clear()`. */
  namespace?: string | undefined;
  readonly #cache: Cache<string, V>;
  readonly #closeOnDisconnect: boolean;
  readonly #views = new Map<string, CacheNamespace<V>>();
  readonly #v6: boolean;

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
    if (options.keyv !== undefined && options.keyv !== 5 && options.keyv !== 6) {
      throw new CacheError("INVALID_OPTION", `\`keyv\` must be 5 or 6, got ${String(options.keyv)}`);
    }
    this.#cache = cache;
    this.#closeOnDisconnect = options.closeOnDisconnect ?? false;
    this.#v6 = options.keyv === 6;
    this.opts = { dialect: "cachet", cache: cache.tiers.join(",") };
  }

  /** Declared only with `keyv: 6`: tells Keyv 6 that `set` takes an absolute `expires`. */
  get capabilities(): { readonly expires: true } | undefined {
    return this.#v6 ? V6_CAPABILITIES : undefined;
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

  /**
   * Stores `value` (already serialized by Keyv). The third argument is a relative ttl in
   * milliseconds (Keyv 5), or with `keyv: 6` an absolute expiry in epoch ms; `undefined` (and a
   * ttl of `0`) means none. With `keyv: 6`, an expiry already past removes the key.
   */
  async set(key: string, value: unknown, ttlOrExpires?: number): Promise<boolean> {
    let ttl = ttlOrExpires;
    if (this.#v6 && ttlOrExpires !== undefined) {
      // Keyv 6 computed the instant from Date.now(); turn it back into the time left.
      ttl = ttlOrExpires - Date.now();
      if (!(ttl > 0)) {
        await this.#cache.invalidate(this.#cacheKey(key));
        return true;
      }
    }
    const entry =
      ttl === undefined || ttl === 0
        ? new CacheEntry(value as V)
        : new CacheEntry(value as V, { ttl: checkTtl(ttl) });
    const [view, local] = this.#target(key);
    await (view === undefined ? this.#cache.insert(local, entry) : view.insert(local, entry));
    return true;
  }

  /**
   * Stores several entries (Keyv 5 hands back these results from `keyv.setMany`). Having it also
   * makes Keyv 6 treat this store as a full adapter that scopes `clear()` by its own `namespace`.
   */
  // Typed as Keyv 5 declares it (`Promise<void>`), so the store fits `KeyvStoreAdapter`
  // everywhere (CacheModule's `stores`); it resolves to the per-entry results, which Keyv 5 hands
  // back from `keyv.setMany` and Keyv 6 expects.
  async setMany(entries: { key: string; value: unknown; ttl?: number; expires?: number }[]): Promise<void> {
    const results = await Promise.all(
      entries.map(({ key, value, ttl, expires }) => this.set(key, value, this.#v6 ? expires : ttl)),
    );
    return results as unknown as void;
  }

  /** Resolves to whether a live entry was there. */
  async delete(key: string): Promise<boolean> {
    const cacheKey = this.#cacheKey(key);
    const existed = live(await this.#cache.get(cacheKey)) !== undefined;
    await this.#cache.invalidate(cacheKey);
    return existed;
  }

  /**
   * Resolves to whether any of the keys had a live entry (Keyv 5), or with `keyv: 6` to whether
   * each one had (a `boolean[]`, as Keyv 6 expects; the declared type is Keyv 5's).
   */
  async deleteMany(keys: string[]): Promise<boolean> {
    const cacheKeys = keys.map((k) => this.#cacheKey(k));
    const entries = await this.#cache.getMany(cacheKeys);
    await Promise.all(cacheKeys.map((k) => this.#cache.invalidate(k)));
    const existed = Array.from(keys, (_, i) => live(entries[i]) !== undefined);
    return this.#v6 ? (existed as unknown as boolean) : existed.includes(true);
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
