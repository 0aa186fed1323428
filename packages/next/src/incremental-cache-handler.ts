import { CacheEntry } from "@cachet/core";
import type { HandlerStore } from "./next-cache.js";
import type {
  IncrementalCacheHandler,
  IncrementalCacheHandlerClass,
  IncrementalGetContext,
  IncrementalHit,
  IncrementalSetContext,
  IncrementalValue,
  NextCacheControl,
  TagDurations,
} from "./next-types.js";
import { ENTRY_OVERHEAD, sizeOfValue } from "./stored-entry.js";
import type { StoredIncremental } from "./stored-entry.js";

/** The response header in which Next lists a page's or route's tags (explicit and implicit). */
const TAGS_HEADER = "x-next-cache-tags";
/** The revalidate period reported for an entry a tag made stale (Next's smallest valid one). */
const STALE_PERIOD_MS = 1_000;

function headerTags(value: IncrementalValue | null): string[] {
  const header = value?.headers?.[TAGS_HEADER];
  if (typeof header !== "string" || header.length === 0) return [];
  return header.split(",").filter((tag) => tag.length > 0);
}

function entryTags(value: IncrementalValue | null, ctx: IncrementalSetContext): string[] {
  if (ctx.fetchCache === true) return [...(ctx.tags ?? value?.tags ?? [])];
  return headerTags(value);
}

/** The entry's hard lifetime in ms: Next's `expire`, capped by `maxTtl`. */
function lifetime(cacheControl: NextCacheControl | undefined, maxTtl: number): number {
  const expire = cacheControl?.expire;
  return typeof expire === "number" && expire > 0 ? Math.min(expire * 1000, maxTtl) : maxTtl;
}

/**
 * Makes the incremental cache handler class for `cacheHandler`: pages, route handlers, `fetch`
 * results and redirects, one cachet entry per key, tagged with the entry's tags (for a page or route,
 * Next's `x-next-cache-tags`, which include the implicit path tags `revalidatePath` uses; for a
 * `fetch`, its `next.tags`).
 *
 * Next creates an instance per request; instances only hold the shared store. Next decides
 * freshness itself from `lastModified` and the stored `cacheControl`; the handler reports what tags
 * changed: an expired tag is a miss, a stale one returns the entry marked for a background
 * re-render (a revalidate period that has passed for a page or route, an old `lastModified` for a
 * `fetch`).
 * @internal Reached through {@link NextCache.CacheHandler}.
 */
export function createIncrementalCacheHandler(store: HandlerStore): IncrementalCacheHandlerClass {
  return class CachetIncrementalCacheHandler implements IncrementalCacheHandler {
    // Next passes its context (fs, dist dir, flags); nothing in it is needed here.
    constructor(_context?: unknown) {}

    async get(cacheKey: string, ctx: IncrementalGetContext): Promise<IncrementalHit | null> {
      try {
        const entry = await store.cache.get(cacheKey);
        const stored = entry?.value;
        if (entry === undefined || stored?.kind !== "incremental") return null;
        const now = store.now();
        if (stored.expiresAt !== undefined && now >= stored.expiresAt) return null;
        const isFetch = stored.value?.kind === "FETCH";
        const tags = isFetch
          ? [...(stored.value?.tags ?? []), ...(ctx.tags ?? []), ...(ctx.softTags ?? [])]
          : headerTags(stored.value);
        const verdict = await store.ledger.verdict(tags, stored.lastModified);
        if (verdict === "expired") return null;
        // `isStale` is set when a tag expired the entry in cachet (on any replica, via the bus).
        const stale = verdict === "stale" || entry.isStale;
        if (!stale) {
          return stored.cacheControl === undefined
            ? { lastModified: stored.lastModified, value: stored.value }
            : { lastModified: stored.lastModified, value: stored.value, cacheControl: stored.cacheControl };
        }
        if (isFetch) return { lastModified: 1, value: stored.value };
        // Stale by a tag: a one-second revalidate period that has already passed makes Next serve
        // this copy once and render a fresh one in the background (0 is not a valid period).
        return {
          lastModified: Math.min(stored.lastModified, now - STALE_PERIOD_MS - 1),
          value: stored.value,
          cacheControl: { revalidate: STALE_PERIOD_MS / 1000, expire: stored.cacheControl?.expire },
        };
      } catch {
        return null; // fail-safe: a cache that fails is a miss, never an error page
      }
    }

    async set(cacheKey: string, data: IncrementalValue | null, ctx: IncrementalSetContext): Promise<void> {
      try {
        const now = store.now();
        const cacheControl = ctx.fetchCache === true ? undefined : ctx.cacheControl;
        const ttl = lifetime(cacheControl, store.maxTtl);
        const stored: StoredIncremental = {
          kind: "incremental",
          lastModified: now,
          expiresAt: now + ttl,
          value: data,
          cacheControl,
          size: sizeOfValue(data) + ENTRY_OVERHEAD,
        };
        await store.cache.insert(
          cacheKey,
          new CacheEntry<StoredIncremental>(stored, { cachedAt: now, ttl, tags: entryTags(data, ctx) }),
        );
      } catch {
        // fail-safe: the page was rendered and is served; it is just not cached
      }
    }

    revalidateTag(tags: string | string[], durations?: TagDurations): Promise<void> {
      return store.revalidateTags(typeof tags === "string" ? [tags] : tags, durations);
    }

    resetRequestCache(): void {}
  };
}
