import type { IncrementalValue, NextCacheControl } from "./next-types.js";

/**
 * A page, route handler response, `fetch` result or redirect from the incremental cache, as stored.
 * `value` is kept as Next handed it (Buffers, a `Map` of segment Buffers, strings): the Redis tier's
 * structured codec round-trips all of them.
 */
export interface StoredIncremental {
  readonly kind: "incremental";
  readonly lastModified: number;
  /** When the entry's own lifetime ends (epoch ms), or `undefined` for never. */
  readonly expiresAt: number | undefined;
  readonly value: IncrementalValue | null;
  readonly cacheControl: NextCacheControl | undefined;
  /** Approximate bytes, for the L1 byte budget. */
  readonly size: number;
}

/** A `"use cache"` entry, as stored: its stream drained into bytes, with Next's metadata. */
export interface StoredUseCache {
  readonly kind: "use-cache";
  readonly bytes: Uint8Array;
  readonly tags: readonly string[];
  readonly stale: number;
  readonly timestamp: number;
  readonly expire: number;
  readonly revalidate: number;
  readonly size: number;
}

/** When a tag was last made stale and last expired (epoch ms; 0 for never). */
export interface StoredTagTimes {
  readonly kind: "tag-times";
  readonly stale: number;
  readonly expired: number;
  readonly size: number;
}

/** Everything this package keeps in its cachet `Cache`. */
export type StoredEntry = StoredIncremental | StoredUseCache | StoredTagTimes;

const OVERHEAD = 256;

/** Approximate size of an incremental cache value in bytes (strings as UTF-16 length, Buffers by length). */
export function sizeOfValue(value: unknown, depth = 0): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "string") return value.length;
  if (typeof value === "number" || typeof value === "boolean") return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (depth > 4) return OVERHEAD;
  if (value instanceof Map) {
    let total = 0;
    for (const [k, v] of value as Map<unknown, unknown>)
      total += sizeOfValue(k, depth + 1) + sizeOfValue(v, depth + 1);
    return total;
  }
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + sizeOfValue(item, depth + 1), 0);
  if (typeof value === "object") {
    let total = 0;
    for (const [k, v] of Object.entries(value)) total += k.length + sizeOfValue(v, depth + 1);
    return total;
  }
  return OVERHEAD;
}

/** The fixed per-entry overhead counted on top of the value's size. */
export const ENTRY_OVERHEAD = OVERHEAD;
