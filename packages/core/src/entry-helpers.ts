/**
 * Pure helpers on {@link CacheEntry}: remembered absences (negative entries), ttl capping for a
 * tier, value modes (freeze, clone), tag merging, and turning a loaded value into an entry.
 *
 * Owns no state. Nothing here may read a clock or a tier: callers pass `now` in, so that one
 * operation uses one instant throughout.
 */
import { CacheEntry, isCacheEntry } from "@cachet/tier";
import type { Milliseconds } from "@cachet/tier";
import type { LoadPolicy } from "./load-policy.js";
import { deepFreeze, freezeDecoded } from "./value-mode.js";
import type { ValueMode } from "./value-mode.js";

/**
 * Tag that marks a remembered absence (negative caching); always an absence entry's first tag, so
 * recognising one is a single comparison. Reserved: never use it as a tag yourself.
 * @internal
 */
export const NEGATIVE_TAG = "cachet:absent";

/**
 * Tag that marks an entry kept by fail-safe past its ttl (for the backoff after a failed load);
 * always the entry's last tag, so that it survives every tier's codec (`isStale` is not stored).
 * Reserved: never use it as a tag yourself. Entries carrying it are handed out with
 * `isStale === true` and without this tag.
 * @internal
 */
export const FAIL_SAFE_TAG = "cachet:fail-safe";

/** True for an entry kept by fail-safe (see {@link FAIL_SAFE_TAG}). @internal */
export function isKeptByFailSafe(entry: CacheEntry<unknown>): boolean {
  const tags = entry.tags;
  return tags.length !== 0 && tags[tags.length - 1] === FAIL_SAFE_TAG;
}

/** `entry` marked as kept by fail-safe, with the ttl and stale window of the backoff. @internal */
export function keepForFailSafe<V>(
  entry: CacheEntry<V>,
  window: { ttl: Milliseconds; staleFor: Milliseconds },
): CacheEntry<V> {
  const tags = isKeptByFailSafe(entry) ? entry.tags : [...entry.tags, FAIL_SAFE_TAG];
  return entry.with({ ttl: window.ttl, staleFor: window.staleFor, tags, isStale: true });
}

/** How a stale entry is handed out: `isStale === true`, without the fail-safe tag. @internal */
export function asStale<V>(entry: CacheEntry<V>): CacheEntry<V> {
  if (!isKeptByFailSafe(entry)) return entry.isStale ? entry : entry.with({ isStale: true });
  return entry.with({ isStale: true, tags: entry.tags.slice(0, -1) });
}

/** True for a remembered absence. @internal */
export function isNegative(entry: CacheEntry<unknown>): boolean {
  return entry.tags[0] === NEGATIVE_TAG;
}

/** The entry that remembers "the loader found nothing" for `policy.negativeTtl`. @internal */
export function negativeEntry<V>(policy: LoadPolicy<V>, now: number): CacheEntry<V> {
  return new CacheEntry<V>(null as V, {
    cachedAt: now,
    ttl: policy.negativeTtl,
    // First, so that recognising an absence is one comparison; then the call's own tags.
    tags: policy.tags === undefined ? [NEGATIVE_TAG] : [NEGATIVE_TAG, ...policy.tags],
    staleFor: 0,
  });
}

/** The more recently cached of two entries (either may be missing). @internal */
export function newest<V>(
  a: CacheEntry<V> | undefined,
  b: CacheEntry<V> | undefined,
): CacheEntry<V> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return (b.cachedAt ?? 0) > (a.cachedAt ?? 0) ? b : a;
}

/** A copy of `entry` for a tier whose own ttl is `ttl`: same `cachedAt`, never expiring later. @internal */
export function capTtl<V>(entry: CacheEntry<V>, ttl: Milliseconds | undefined, now: number): CacheEntry<V> {
  if (ttl === undefined || entry.cachedAt === undefined) return entry;
  const cap = now - entry.cachedAt + ttl;
  if (entry.ttl !== undefined && entry.ttl <= cap) return entry;
  return entry.with({ ttl: cap });
}

/** A copy of `entry` with a structured clone of its value (value mode `"clone"`). @internal */
export function cloneEntry<V>(entry: CacheEntry<V>): CacheEntry<V> {
  return new CacheEntry(structuredClone(entry.value), {
    cachedAt: entry.cachedAt,
    ttl: entry.ttl,
    tags: entry.tags,
    staleFor: entry.staleFor,
    isStale: entry.isStale,
  });
}

/** Union of two tag lists, without allocating when either is empty. @internal */
export function mergeTags(a: readonly string[], b: readonly string[]): readonly string[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return [...new Set([...a, ...b])];
}

/** Prepares an entry that came from a tier for sharing between callers. @internal */
export function shareEntry<V>(entry: CacheEntry<V>, valueMode: ValueMode): CacheEntry<V> {
  if (valueMode === "freeze") freezeDecoded(entry.value);
  return entry;
}

/** What a caller receives: the shared entry, or its own copy in clone mode. @internal */
export function outEntry<V>(entry: CacheEntry<V>, valueMode: ValueMode): CacheEntry<V> {
  return valueMode === "clone" ? cloneEntry(entry) : entry;
}

/**
 * Turns a value (or an entry with its own ttl and tags) into the entry to store, under `policy`.
 * `stampedAt` is the write time, already raised to the tag ledger's floor by the caller.
 * @internal
 */
export function toEntry<V>(
  value: V | CacheEntry<V>,
  at: { readonly policy: LoadPolicy<V>; readonly stampedAt: number; readonly valueMode: ValueMode },
): CacheEntry<V> {
  const { policy, stampedAt: now, valueMode } = at;
  const staleFor = Math.max(policy.swr, policy.failSafe?.maxStaleAge ?? 0);
  if (isCacheEntry(value)) {
    const entry = value;
    const tags = policy.tags === undefined ? entry.tags : mergeTags(entry.tags, policy.tags);
    if (valueMode === "freeze") deepFreeze(entry.value);
    return new CacheEntry(entry.value, {
      cachedAt: entry.cachedAt ?? now,
      ttl: entry.ttl ?? policy.ttl,
      tags,
      staleFor: entry.staleFor > 0 ? entry.staleFor : staleFor,
    });
  }
  if (valueMode === "freeze") deepFreeze(value);
  return new CacheEntry(value, { cachedAt: now, ttl: policy.ttl, tags: policy.tags, staleFor });
}
