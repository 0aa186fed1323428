import { CacheEntry } from "@cachet/core";
import type { HandlerStore } from "./next-cache.js";
import type { TagDurations, UseCacheEntry, UseCacheHandler } from "./next-types.js";
import type { StoredUseCache } from "./stored-entry.js";

/** Reads a stream to its end into one byte array. Rejects when the stream errors. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** A new single-chunk stream over `bytes`: every `get` hands Next a stream of its own. */
function replay(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice());
      controller.close();
    },
  });
}

/**
 * Makes the `"use cache"` handler for `cacheHandlers`: each entry's RSC stream is drained into
 * bytes on `set` and replayed as a fresh stream on every `get`, stored as one cachet entry carrying
 * the entry's `cacheTag` tags, kept until Next's `expire`.
 *
 * Next serves an entry past `revalidate` (and within `expire`) and regenerates it in the
 * background; this handler reports tag changes: an expired tag is a miss, a stale one returns
 * the entry with `revalidate: -1`. `getExpiration` answers for the implicit (path) tags from the
 * tag ledger, which every replica keeps current.
 * @internal Reached through {@link NextCache.useCacheHandler}.
 */
export function createUseCacheHandler(store: HandlerStore): UseCacheHandler {
  // A `get` during a `set` of the same key waits for it (the contract asks for that). Only the
  // completion is kept, never Next's pending entry, which holds on to its request.
  const pending = new Map<string, Promise<void>>();

  return {
    async get(cacheKey: string, _softTags: string[]): Promise<UseCacheEntry | undefined> {
      try {
        const inFlight = pending.get(cacheKey);
        if (inFlight !== undefined) await inFlight;
        const entry = await store.cache.get(cacheKey);
        const stored = entry?.value;
        if (entry === undefined || stored?.kind !== "use-cache") return undefined;
        if (store.now() > stored.timestamp + stored.expire * 1000) return undefined;
        const verdict = await store.ledger.verdict(stored.tags, stored.timestamp);
        if (verdict === "expired") return undefined;
        const stale = verdict === "stale" || entry.isStale;
        return {
          value: replay(stored.bytes),
          tags: [...stored.tags],
          stale: stored.stale,
          timestamp: stored.timestamp,
          expire: stored.expire,
          revalidate: stale ? -1 : stored.revalidate,
        };
      } catch {
        return undefined; // fail-safe: Next runs the function instead
      }
    },

    async set(cacheKey: string, pendingEntry: Promise<UseCacheEntry>): Promise<void> {
      let done!: () => void;
      const completion = new Promise<void>((resolve) => (done = resolve));
      pending.set(cacheKey, completion);
      try {
        const entry = await pendingEntry;
        const bytes = await drain(entry.value);
        // An `expire: 0` entry is dynamic: Next regenerates it on every read, so it is not stored.
        if (entry.expire <= 0) return;
        const ttl = Math.min(entry.expire * 1000, store.maxTtl);
        const stored: StoredUseCache = {
          kind: "use-cache",
          bytes,
          tags: [...entry.tags],
          stale: entry.stale,
          timestamp: entry.timestamp,
          expire: entry.expire,
          revalidate: entry.revalidate,
          size: bytes.byteLength + 64 * entry.tags.length,
        };
        await store.cache.insert(
          cacheKey,
          new CacheEntry<StoredUseCache>(stored, { cachedAt: entry.timestamp, ttl, tags: entry.tags }),
        );
      } catch {
        // fail-safe: a stream that errors, or a cache that fails, leaves the key uncached
      } finally {
        if (pending.get(cacheKey) === completion) pending.delete(cacheKey);
        done();
      }
    },

    async refreshTags(): Promise<void> {
      // The bus keeps this process's tag knowledge current; unknown tags are read when asked for.
    },

    getExpiration(tags: string[]): Promise<number> {
      return store.ledger.expiration(tags).catch(() => 0);
    },

    updateTags(tags: string[], durations?: TagDurations): Promise<void> {
      return store.revalidateTags(tags, durations);
    },
  };
}
