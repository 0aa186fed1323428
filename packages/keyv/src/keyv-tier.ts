import { CacheError, isCacheError, jsonCodec, systemClock, toMilliseconds } from "@cachet/tier";
import type { CacheTier, Clock, Codec, Duration, Milliseconds, CacheEntry } from "@cachet/tier";
import { decodeEnvelope, encodeEnvelope } from "./entry-envelope.js";
import type { KeyvStorageAdapterLike } from "./keyv-storage.js";

/** Options for {@link KeyvTier}. Unknown options are rejected. */
export interface KeyvTierOptions<V> {
  /**
   * The Keyv storage adapter to store entries in, e.g. `new KeyvSqlite("sqlite://cache.db")` or
   * `new KeyvRedis(url, { throwOnErrors: true })`. Give each tier its own adapter object: the tier
   * sets the adapter's `namespace`, as Keyv does.
   */
  store: KeyvStorageAdapterLike;
  /**
   * Scope of this tier's keys inside the store: keys are stored as `<namespace>:<key>` and `clear()`
   * removes only them. Letters, digits, `-` and `:`; a `:` is stored as `.` so that `clear()` of
   * `"a"` cannot reach `"a:b"` (adapters match `clear()` with SQL `LIKE` or a Redis glob, where
   * `_`, `%`, `*` and `?` are wildcards, which is why those are refused). SQL adapters compare
   * case-insensitively, so do not use two namespaces that differ only in case.
   * @default "cachet"
   */
  namespace?: string;
  /** Name used in errors, events and telemetry. @default "keyv" */
  name?: string;
  /** Default ttl for entries inserted without one. @default none (such entries never expire) */
  ttl?: Duration;
  /** Time source for `cachedAt` stamps and expiry; tests pass a `ManualClock`. @default systemClock */
  clock?: Clock;
  /** Turns values into bytes. @default jsonCodec (stored as readable UTF-8 text) */
  codec?: Codec<V>;
  /**
   * Maps a cache key to the key stored in the adapter, for backends that cannot store some
   * strings: PostgreSQL text rejects NUL, and `@keyv/postgres` and `@keyv/mysql` cap keys at
   * `keySize` characters (255 by default). It must be injective (distinct keys, distinct results).
   * @default the key as is
   */
  encodeKey?: (key: string) => string;
  /**
   * Whether `close()` also calls the adapter's `disconnect()`. Off by default because the adapter
   * was made by you and may be shared; turn it on when the tier owns it.
   * @default false
   */
  closeStore?: boolean;
  /**
   * Receives the adapter's `"error"` events (adapters that emit instead of rejecting, such as
   * `@keyv/redis` without `throwOnErrors`). Without it, such events are dropped.
   */
  onError?: (error: unknown) => void;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "store",
  "namespace",
  "name",
  "ttl",
  "clock",
  "codec",
  "closeStore",
  "onError",
  "encodeKey",
]);

const NAMESPACE = /^[A-Za-z0-9:-]+$/;

/**
 * A cachet tier over any Keyv storage adapter: a SQLite file, a Postgres or MySQL table, MongoDB,
 * Memcached, Redis through `@keyv/redis`... as an L2 or L3 of a `Cache`.
 *
 * Each entry is one string value (see `entry-envelope.ts`: metadata header plus the codec's
 * payload) under `<namespace>:<key>`. Expiry is checked on the tier's clock on every read; the
 * adapter also gets the time left (`cachedAt + ttl + staleFor - now`) so that backends with native
 * expiry (Redis, Mongo, Memcached) reclaim space by themselves. Backends without it (SQLite,
 * Postgres) keep an expired row until it is read, when the tier deletes it.
 *
 * Invariant: a key the tier writes always starts with `<stored namespace>:`, and the stored
 * namespace contains no `:`, so `clear()` of one namespace never matches another's keys.
 */
export class KeyvTier<V> implements CacheTier<string, V> {
  readonly name: string;
  /** Present when the adapter can iterate; counts this namespace's entries by iterating them. */
  readonly size?: () => Promise<number>;
  readonly #store: KeyvStorageAdapterLike;
  readonly #namespace: string;
  readonly #prefix: string;
  readonly #ttl: Milliseconds | undefined;
  readonly #clock: Clock;
  readonly #codec: Codec<V>;
  readonly #closeStore: boolean;
  readonly #absoluteExpiry: boolean;
  readonly #onError: (error: unknown) => void;
  readonly #encodeKey: ((key: string) => string) | undefined;
  #closed = false;

  /** @throws CacheError `INVALID_OPTION` naming the first unknown or invalid option. */
  constructor(options: KeyvTierOptions<V>) {
    if (typeof options !== "object" || options === null) {
      throw new CacheError("INVALID_OPTION", "KeyvTier needs options with a `store`");
    }
    const name = options.name ?? "keyv";
    if (typeof name !== "string" || name === "") {
      throw new CacheError("INVALID_OPTION", "`name` must be a non-empty string");
    }
    const invalid = (message: string) => new CacheError("INVALID_OPTION", message, { tier: name });
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw invalid(`unknown option \`${key}\` (known: ${[...KNOWN_OPTIONS].join(", ")})`);
      }
    }
    const store = options.store;
    if (
      typeof store !== "object" ||
      store === null ||
      typeof store.get !== "function" ||
      typeof store.set !== "function" ||
      typeof store.delete !== "function" ||
      typeof store.clear !== "function"
    ) {
      throw invalid("`store` must be a Keyv storage adapter (get, set, delete and clear methods)");
    }
    const namespace = options.namespace ?? "cachet";
    if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) {
      throw invalid(
        `\`namespace\` must be letters, digits, \`-\` and \`:\`, got ${JSON.stringify(namespace)} ` +
          "(adapters match clear() with SQL LIKE or a Redis glob, where other characters are wildcards)",
      );
    }
    const codec = options.codec ?? jsonCodec;
    if (typeof codec?.encode !== "function" || typeof codec.decode !== "function") {
      throw invalid("`codec` must have `encode` and `decode` functions");
    }
    if (options.clock !== undefined && typeof options.clock?.now !== "function") {
      throw invalid("`clock` must have a `now()` function");
    }
    if (options.closeStore !== undefined && typeof options.closeStore !== "boolean") {
      throw invalid("`closeStore` must be a boolean");
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw invalid("`onError` must be a function");
    }
    if (options.encodeKey !== undefined && typeof options.encodeKey !== "function") {
      throw invalid("`encodeKey` must be a function");
    }

    this.name = name;
    this.#store = store;
    this.#namespace = namespace.replaceAll(":", ".");
    this.#prefix = `${this.#namespace}:`;
    this.#ttl = options.ttl === undefined ? undefined : toMilliseconds(options.ttl, "ttl");
    this.#clock = options.clock ?? systemClock;
    this.#codec = codec;
    this.#closeStore = options.closeStore ?? false;
    this.#absoluteExpiry = store.capabilities?.expires === true;
    this.#encodeKey = options.encodeKey;
    const onError = options.onError;
    this.#onError = (error) => onError?.(error);
    store.namespace = this.#namespace;
    store.on?.("error", this.#onError);
    if (typeof store.iterator === "function") this.size = () => this.#size();
  }

  async get(key: string): Promise<CacheEntry<V> | undefined> {
    const raw = await this.#call("get", () => this.#store.get(this.#key(key)));
    const [entry] = await this.#readAll([key], [raw]);
    return entry;
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry<V> | undefined)[]> {
    if (keys.length === 0) return this.#call("getMany", () => []);
    const store = this.#store;
    const stored = keys.map((k) => this.#key(k));
    const raws = await this.#call("getMany", () =>
      store.getMany ? store.getMany(stored) : Promise.all(stored.map((k) => store.get(k))),
    );
    return this.#readAll(keys, raws);
  }

  async insert(key: string, entry: CacheEntry<V>): Promise<void> {
    await this.#write(key, entry);
  }

  async insertMany(entries: readonly (readonly [string, CacheEntry<V>])[]): Promise<void> {
    await Promise.all(entries.map(([key, entry]) => this.#write(key, entry)));
  }

  async invalidate(key: string): Promise<void> {
    await this.#call("invalidate", () => this.#store.delete(this.#key(key)));
  }

  async invalidateMany(keys: readonly string[]): Promise<void> {
    const store = this.#store;
    const stored = keys.map((k) => this.#key(k));
    await this.#call("invalidateMany", () =>
      stored.length === 0
        ? undefined
        : store.deleteMany
          ? store.deleteMany(stored)
          : Promise.all(stored.map((k) => store.delete(k))),
    );
  }

  async clear(): Promise<void> {
    await this.#call("clear", () => {
      // Keyv reassigns `namespace` on a shared adapter; put ours back before the adapter reads it.
      this.#store.namespace = this.#namespace;
      return this.#store.clear();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const store = this.#store;
    if (store.off) store.off("error", this.#onError);
    else store.removeListener?.("error", this.#onError);
    if (this.#closeStore) {
      try {
        await store.disconnect?.();
      } catch (cause) {
        throw this.#failure("close", cause);
      }
    }
  }

  async #size(): Promise<number> {
    return this.#call("size", async () => {
      let count = 0;
      this.#store.namespace = this.#namespace;
      for await (const item of this.#store.iterator!(this.#namespace)) {
        const key = Array.isArray(item) ? (item as unknown[])[0] : undefined;
        // Adapters yield keys with or without the prefix they add themselves; ours is always there.
        if (typeof key === "string" && key.startsWith(this.#prefix)) count++;
      }
      return count;
    });
  }

  async #write(key: string, entry: CacheEntry<V>): Promise<void> {
    if (this.#closed) throw this.#closedError();
    const now = this.#clock.now();
    const stamped = entry.with({ cachedAt: entry.cachedAt ?? now, ttl: entry.ttl ?? this.#ttl });
    // Encode first: a value the codec refuses is a CODEC error and nothing is stored or deleted.
    const value = encodeEnvelope(stamped, this.#codec);
    const retainUntil = stamped.retainUntil;
    const stored = this.#key(key);
    if (retainUntil !== undefined && retainUntil <= now) {
      await this.#call("insert", () => this.#store.delete(stored));
      return;
    }
    const left = retainUntil === undefined ? undefined : retainUntil - now;
    // Keyv 6 adapters that declare `capabilities.expires` take an absolute wall-clock instant.
    const expiry = left === undefined || !this.#absoluteExpiry ? left : Date.now() + left;
    await this.#call("insert", () => this.#store.set(stored, value, expiry));
  }

  /** Decodes raw values; drops (and deletes) entries past `cachedAt + ttl + staleFor`. */
  async #readAll(keys: readonly string[], raws: readonly unknown[]): Promise<(CacheEntry<V> | undefined)[]> {
    const now = this.#clock.now();
    const expired: string[] = [];
    const entries = keys.map((key, i) => {
      const raw = raws[i];
      if (raw === undefined || raw === null) return undefined;
      const entry = decodeEnvelope(raw, this.#codec, this.name);
      const retainUntil = entry.retainUntil;
      if (retainUntil !== undefined && now >= retainUntil) {
        expired.push(key);
        return undefined;
      }
      return entry;
    });
    // Backends without native expiry keep the row; a read that finds it expired removes it.
    if (expired.length > 0) await this.invalidateMany(expired);
    return entries;
  }

  #key(key: string): string {
    return this.#prefix + (this.#encodeKey === undefined ? key : this.#encodeKey(key));
  }

  async #call<T>(operation: string, run: () => T | Promise<T>): Promise<T> {
    if (this.#closed) throw this.#closedError();
    try {
      return await run();
    } catch (cause) {
      throw isCacheError(cause) ? cause : this.#failure(operation, cause);
    }
  }

  #failure(operation: string, cause: unknown): CacheError {
    const message = cause instanceof Error ? cause.message : String(cause);
    return new CacheError("TIER_FAILURE", `tier \`${this.name}\` failed on ${operation}: ${message}`, {
      tier: this.name,
      cause,
    });
  }

  #closedError(): CacheError {
    return new CacheError("CLOSED", `tier \`${this.name}\` is closed`, { tier: this.name });
  }
}
