/**
 * The variant store: how responses sit in the user's {@link HttpCacheStore}. A response that does
 * not vary is stored under its primary key; responses that vary are stored under variant keys, and
 * the primary key holds a {@link StoredVariants} index naming the varied fields and a generation
 * (replacing or invalidating the index makes every older variant unreachable at once).
 *
 * Owns: reading and writing entries, and the index's lifetime (it lives as long as its
 * longest-lived variant). Must never: let a store failure escape (it is reported to `onError` and
 * treated as a miss or a skipped write), or decide freshness (the engine does, from the stored data).
 */
import { randomUUID } from "node:crypto";
import { CacheEntry } from "@cachet/tier";
import type { Clock } from "@cachet/tier";
import { normalizeVaryValue, sameValues, variantKeyOf } from "./cache-key.js";
import type { HttpRequestInfo } from "./http-cache-options.js";
import type { HttpCacheStore, HttpCacheValue, StoredResponse, StoredVariants } from "./stored-response.js";

/** A stored response selected for a request, with where it was found. */
export interface Found {
  readonly stored: StoredResponse;
  /** The key it is stored under (the primary key, or a variant key). */
  readonly storeKey: string;
  /** The index that selected it, when the response varies. */
  readonly index: StoredVariants | undefined;
  /** Time left on the primary key's entry, when the store reports it. */
  readonly primaryTtlLeft: number | undefined;
}

/** Where the variant for a request is stored, as its index selected it. */
interface VariantAt {
  readonly storeKey: string;
  /** The request's normalized values of the index's fields. */
  readonly values: readonly string[];
  readonly index: StoredVariants;
  readonly primaryTtlLeft: number | undefined;
}

/** A variants index and the time left on its entry. */
export interface IndexAt {
  readonly index: StoredVariants;
  readonly ttlLeft: number | undefined;
}

/** Reads and writes stored responses and their variant indexes. */
export class VariantStore {
  readonly #store: HttpCacheStore;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  readonly #getSync: ((key: string) => CacheEntry<HttpCacheValue> | undefined) | undefined;

  constructor(store: HttpCacheStore, clock: Clock, onError: (error: unknown) => void) {
    this.#store = store;
    this.#getSync = typeof store.getSync === "function" ? store.getSync.bind(store) : undefined;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** True when the store reads synchronously ({@link HttpCacheStore.getSync}), so {@link lookupSync} works. */
  get canReadSync(): boolean {
    return this.#getSync !== undefined;
  }

  /** The stored response for `request` under `key` (following the index when it varies), or `undefined`. */
  async lookup(key: string, request: HttpRequestInfo): Promise<Found | undefined> {
    const entry = await this.#get(key);
    if (entry === undefined) return undefined;
    const selected = this.#select(key, entry, request);
    if (selected === undefined || "stored" in selected) return selected;
    return this.#variant(selected, await this.#get(selected.storeKey));
  }

  /**
   * {@link lookup} without waiting, on a store with `getSync`. A store failure is thrown, not
   * reported: the caller falls back to {@link lookup}, which reads again and reports it.
   */
  lookupSync(key: string, request: HttpRequestInfo): Found | undefined {
    const getSync = this.#getSync!;
    const entry = getSync(key);
    if (entry === undefined) return undefined;
    const selected = this.#select(key, entry, request);
    if (selected === undefined || "stored" in selected) return selected;
    return this.#variant(selected, getSync(selected.storeKey));
  }

  /** The response a primary entry holds for the request, or where its variant is stored. */
  #select(
    key: string,
    entry: CacheEntry<HttpCacheValue>,
    request: HttpRequestInfo,
  ): Found | VariantAt | undefined {
    const value = entry.value;
    const primaryTtlLeft = this.#ttlLeft(entry);
    if (value.kind === "response") {
      return value.varyFields.length === 0
        ? { stored: value, storeKey: key, index: undefined, primaryTtlLeft }
        : undefined;
    }
    const values = value.fields.map((f) => normalizeVaryValue(f, request.header(f)));
    return { storeKey: variantKeyOf(key, value.generation, values), values, index: value, primaryTtlLeft };
  }

  /** The variant read at `at.storeKey`, when it is a response for the same field values. */
  #variant(at: VariantAt, variant: CacheEntry<HttpCacheValue> | undefined): Found | undefined {
    if (variant === undefined || variant.value.kind !== "response") return undefined;
    if (!sameValues(variant.value.varyValues, at.values)) return undefined;
    return {
      stored: variant.value,
      storeKey: at.storeKey,
      index: at.index,
      primaryTtlLeft: at.primaryTtlLeft,
    };
  }

  /** The variants index under `key`, or `undefined` when there is none (or a plain response). */
  async lookupIndex(key: string): Promise<IndexAt | undefined> {
    const entry = await this.#get(key);
    if (entry?.value.kind !== "variants") return undefined;
    return { index: entry.value, ttlLeft: this.#ttlLeft(entry) };
  }

  /**
   * Stores `value` for `key`: under the key itself when it does not vary, otherwise as a variant
   * under the current index (`existing`, read again when absent), replacing the index when the
   * varied fields changed and extending it when the new variant outlives it.
   */
  async save(key: string, value: StoredResponse, ttl: number, existing: IndexAt | undefined): Promise<void> {
    const fields = value.varyFields;
    if (fields.length === 0) {
      await this.put(key, value, ttl);
      return;
    }
    const current = existing ?? (await this.lookupIndex(key));
    const isReused = current !== undefined && sameValues(current.index.fields, fields);
    const index: StoredVariants = isReused
      ? current.index
      : { kind: "variants", fields, generation: randomUUID() };
    await this.put(variantKeyOf(key, index.generation, value.varyValues), value, ttl);
    // The index lives as long as its longest-lived variant.
    if (!isReused || (current.ttlLeft !== undefined && current.ttlLeft < ttl))
      await this.put(key, index, ttl);
  }

  /** Rewrites a refreshed response where it was found, extending its index when it now outlives it. */
  async refresh(key: string, found: Found, value: StoredResponse, ttl: number): Promise<void> {
    await this.put(found.storeKey, value, ttl);
    if (found.index !== undefined && (found.primaryTtlLeft === undefined || found.primaryTtlLeft < ttl)) {
      await this.put(key, found.index, ttl);
    }
  }

  /** Writes one entry; a failure is reported and the write skipped. */
  async put(key: string, value: HttpCacheValue, ttl: number): Promise<void> {
    const tags = value.kind === "response" ? value.tags : undefined;
    try {
      await this.#store.insert(
        key,
        new CacheEntry(value, { ttl: Math.ceil(ttl), cachedAt: this.#clock.now(), tags }),
      );
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Removes one entry; a failure is reported. */
  async remove(key: string): Promise<void> {
    try {
      await this.#store.invalidate(key);
    } catch (error) {
      this.#onError(error);
    }
  }

  async #get(key: string): Promise<CacheEntry<HttpCacheValue> | undefined> {
    try {
      return await this.#store.get(key);
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }

  // Computed by hand: a structural store may hand back plain objects without CacheEntry's methods.
  #ttlLeft(entry: CacheEntry<HttpCacheValue>): number | undefined {
    return entry.ttl === undefined || entry.cachedAt === undefined
      ? undefined
      : entry.cachedAt + entry.ttl - this.#clock.now();
  }
}
