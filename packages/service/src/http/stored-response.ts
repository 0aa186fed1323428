import type { CacheEntry } from "@cachet/tier";

/**
 * Header fields as `[name, value]` pairs, names in lowercase. A field that occurs more than once
 * (`set-cookie`) appears once per value.
 */
export type HeaderPairs = readonly (readonly [string, string])[];

/**
 * A response as the HTTP cache stores it: status, the header fields it kept, the body bytes and the
 * timing data RFC 9111 §4.2.3 needs to compute the response's age later.
 *
 * The value is plain data (numbers, strings, arrays and one `Uint8Array`), so any tier whose codec
 * keeps a `Uint8Array` (the structured codec does; plain JSON does not) can hold it.
 */
export interface StoredResponse {
  /** Discriminant; see {@link HttpCacheValue}. */
  readonly kind: "response";
  /** The origin's status code. A stored response is always served with this status. */
  readonly status: number;
  /** The end-to-end header fields that were kept (hop-by-hop and non-allowlisted fields removed). */
  readonly headers: HeaderPairs;
  /** The body bytes; empty for bodiless statuses. Gzip-compressed when {@link StoredResponse.isCompressed}. */
  readonly body: Uint8Array;
  /** True when the cache compressed {@link StoredResponse.body} itself (the `compress` policy). */
  readonly isCompressed: boolean;
  /** Length of the body as served, after any decompression by the cache. */
  readonly bodyLength: number;
  /** When the response (or its latest validation) was received, epoch ms. */
  readonly responseAt: number;
  /** `corrected_initial_age` of RFC 9111 §4.2.3, in ms, at {@link StoredResponse.responseAt}. */
  readonly initialAge: number;
  /** Freshness lifetime in ms (RFC 9111 §4.2.1), as decided when stored or last validated. */
  readonly freshFor: number;
  /** Request header fields this response varies on (lowercase), sorted; empty when it does not vary. */
  readonly varyFields: readonly string[];
  /** The normalized values of {@link StoredResponse.varyFields} on the request that produced it. */
  readonly varyValues: readonly string[];
  /** Tags the response was stored with, for tag purge. */
  readonly tags: readonly string[];
  /** The stored `ETag`, or `""`. */
  readonly etag: string;
  /** The stored `Last-Modified`, or `""`. */
  readonly lastModified: string;
  /** True when every reuse needs a successful validation first (response `no-cache`). */
  readonly isNoCache: boolean;
  /** True when the response may never be served stale (`must-revalidate`, and in a shared cache `proxy-revalidate` / `s-maxage`). */
  readonly isMustRevalidate: boolean;
  /** True when a shared cache may answer a request carrying `Authorization` with it (RFC 9111 §3.5). */
  readonly isAuthorizedReuseAllowed: boolean;
  /** The response's `stale-while-revalidate` window in ms (0 when absent). */
  readonly staleWhileRevalidate: number;
  /** The response's `stale-if-error` window in ms (0 when absent). */
  readonly staleIfError: number;
}

/**
 * The record kept at a primary key when the responses for it vary: which request fields select a
 * variant, and a generation that makes older variants unreachable once the index is replaced or
 * invalidated.
 */
export interface StoredVariants {
  /** Discriminant; see {@link HttpCacheValue}. */
  readonly kind: "variants";
  /** Request header fields (lowercase, sorted) that select a variant. */
  readonly fields: readonly string[];
  /** Random id mixed into every variant key of this index. */
  readonly generation: string;
}

/** Everything the HTTP cache writes into its store. */
export type HttpCacheValue = StoredResponse | StoredVariants;

/**
 * The storage the HTTP cache needs: any `Cache<string, HttpCacheValue>` from `@cachet/core`, or
 * any `CacheTier<string, HttpCacheValue>` from `@cachet/tier` (a `MemoryTier`, a `RedisTier`, a
 * `MockCache`) fits this shape as is.
 *
 * The cache writes each entry with `ttl` set to how long the response must be kept, which includes
 * the `stale-while-revalidate` / `stale-if-error` windows and the time a stale response with
 * validators stays around for revalidation. It computes freshness itself from the stored timing data,
 * so a store only has to drop entries when their ttl has elapsed.
 */
export interface HttpCacheStore {
  /** Returns the live entry for `key`, or `undefined`. A rejection is treated as a miss. */
  get(key: string): Promise<CacheEntry<HttpCacheValue> | undefined>;
  /**
   * Optional synchronous read, for in-process stores that answer without I/O (a `MemoryTier` has
   * it). When present, a fresh hit is answered without waiting for a promise. Same semantics as
   * {@link HttpCacheStore.get}; after a throw the cache reads with `get` instead.
   */
  getSync?(key: string): CacheEntry<HttpCacheValue> | undefined;
  /** Stores `entry` under `key`. A rejection is reported and otherwise ignored. */
  insert(key: string, entry: CacheEntry<HttpCacheValue>): Promise<void>;
  /** Removes `key`. */
  invalidate(key: string): Promise<void>;
  /**
   * Removes every entry carrying one of `tags`. When absent, {@link HttpCache.purgeTags} rejects
   * with `INVALID_OPTION`, because no key index is kept to emulate it.
   */
  invalidateTags?(tags: readonly string[]): Promise<void>;
}
