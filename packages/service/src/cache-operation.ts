import type { CacheEntry } from "@cachet/tier";
import type { Service } from "./service.js";

/**
 * One storage request, as a plain object: the methods of a `CacheTier` turned into data so that
 * layers can inspect, log, retry or route them. Discriminated by `op`.
 *
 * | `op` | fields | answered with |
 * |---|---|---|
 * | `"get"` | `key` | `{ op: "get", entry }` (`entry` is `undefined` on a miss) |
 * | `"insert"` | `key`, `entry` | `{ op: "insert" }` |
 * | `"invalidate"` | `key` | `{ op: "invalidate" }` |
 * | `"clear"` | | `{ op: "clear" }` |
 * | `"getMany"` | `keys` | `{ op: "getMany", entries }` (one per key, in order) |
 * | `"insertMany"` | `entries` | `{ op: "insertMany" }` |
 * | `"invalidateMany"` | `keys` | `{ op: "invalidateMany" }` |
 * | `"size"` | | `{ op: "size", size }` (`undefined` when the storage cannot count) |
 */
export type CacheOperation<K, V> =
  | GetOperation<K>
  | InsertOperation<K, V>
  | InvalidateOperation<K>
  | ClearOperation
  | GetManyOperation<K>
  | InsertManyOperation<K, V>
  | InvalidateManyOperation<K>
  | SizeOperation;

/** Reads the live entry for `key`. */
export interface GetOperation<K> {
  readonly op: "get";
  readonly key: K;
}

/** Stores `entry` under `key`, replacing any previous entry. */
export interface InsertOperation<K, V> {
  readonly op: "insert";
  readonly key: K;
  readonly entry: CacheEntry<V>;
}

/** Removes `key`; removing a missing key succeeds. */
export interface InvalidateOperation<K> {
  readonly op: "invalidate";
  readonly key: K;
}

/** Removes every entry of the storage. */
export interface ClearOperation {
  readonly op: "clear";
}

/** Reads several keys; the response has one entry (or `undefined`) per key, in order. */
export interface GetManyOperation<K> {
  readonly op: "getMany";
  readonly keys: readonly K[];
}

/** Stores several entries. Not atomic: after a failure some entries may be stored. */
export interface InsertManyOperation<K, V> {
  readonly op: "insertMany";
  readonly entries: readonly (readonly [K, CacheEntry<V>])[];
}

/** Removes several keys. */
export interface InvalidateManyOperation<K> {
  readonly op: "invalidateMany";
  readonly keys: readonly K[];
}

/** Asks for the approximate number of entries. */
export interface SizeOperation {
  readonly op: "size";
}

/**
 * The answer to a {@link CacheOperation}, discriminated by the same `op`. A storage service
 * answers an operation with the response of the same `op`; `ServiceTier` rejects any other answer
 * with `TIER_FAILURE`.
 */
export type CacheResponse<V> =
  | { readonly op: "get"; readonly entry: CacheEntry<V> | undefined }
  | { readonly op: "insert" }
  | { readonly op: "invalidate" }
  | { readonly op: "clear" }
  | { readonly op: "getMany"; readonly entries: readonly (CacheEntry<V> | undefined)[] }
  | { readonly op: "insertMany" }
  | { readonly op: "invalidateMany" }
  | { readonly op: "size"; readonly size: number | undefined };

/** The names of the storage operations: `"get"`, `"insert"`, and so on. */
export type CacheOperationName = CacheOperation<unknown, unknown>["op"];

/** The response type for one operation name, e.g. `ResponseFor<V, "get">`. */
export type ResponseFor<V, Op extends CacheOperationName> = Extract<CacheResponse<V>, { readonly op: Op }>;

/**
 * A storage backend as a service: takes a {@link CacheOperation}, answers with a
 * {@link CacheResponse}. `tierAsService` makes one from a tier; `ServiceTier` makes a tier from one.
 */
export type CacheService<K, V> = Service<CacheOperation<K, V>, CacheResponse<V>>;

/** Every operation name, in a stable order. */
export const CACHE_OPERATION_NAMES: readonly CacheOperationName[] = Object.freeze([
  "get",
  "insert",
  "invalidate",
  "clear",
  "getMany",
  "insertMany",
  "invalidateMany",
  "size",
]);
