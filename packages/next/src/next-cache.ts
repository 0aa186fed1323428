import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Cache, systemClock } from "@cachet/core";
import type { Clock } from "@cachet/core";
import type { CacheBus } from "@cachet/core";
import { RedisBus, RedisTier } from "@cachet/redis";
import { createIncrementalCacheHandler } from "./incremental-cache-handler.js";
import type { IncrementalCacheHandlerClass, TagDurations, UseCacheHandler } from "./next-types.js";
import { resolveOptions } from "./next-cache-options.js";
import type { NextCacheOptions, ResolvedNextCacheOptions } from "./next-cache-options.js";
import { ENTRY_OVERHEAD } from "./stored-entry.js";
import type { StoredEntry } from "./stored-entry.js";
import { TagLedger } from "./tag-ledger.js";
import { createUseCacheHandler } from "./use-cache-handler.js";

/**
 * What both handlers share in one process: the cachet cache, the tag ledger, and the rules that
 * map Next's lifetimes and tag revalidations onto them. @internal
 */
export interface HandlerStore {
  readonly cache: Cache<string, StoredEntry>;
  readonly ledger: TagLedger;
  /** Longest lifetime of an entry, ms. */
  readonly maxTtl: number;
  now(): number;
  /** `revalidateTag` / `updateTags`: never rejects. */
  revalidateTags(tags: readonly string[], durations: TagDurations | undefined): Promise<void>;
}

function readBuildId(): string | undefined {
  try {
    const id = readFileSync(join(process.cwd(), ".next", "BUILD_ID"), "utf8").trim();
    return id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The wall clock read on every call. cachet's `systemClock` caches `Date.now()` for a millisecond
 * of event-loop progress, which can lag behind Next's own timestamps across a long chain of
 * microtasks; a page cache reads the clock a few times per request, where 100 ns do not matter.
 */
const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
  clearTimeout: (handle) => systemClock.clearTimeout(handle),
};

function buildCache(
  options: ResolvedNextCacheOptions,
  observeBus: (bus: CacheBus) => CacheBus,
): Cache<string, StoredEntry> {
  const buildId = options.buildId === false ? undefined : (options.buildId ?? readBuildId());
  const builder = Cache.builder<string, StoredEntry>({ clock: options.clock ?? wallClock })
    .name(options.name)
    .memory({ maxBytes: options.memoryBytes, sizeOf: (value) => value.size + ENTRY_OVERHEAD })
    // Next owns the values it hands over and never mutates them after `set`, as with its own
    // in-memory cache; freezing would also fail on Buffers.
    .valueMode("reference")
    .staleWhileRevalidate(options.staleWindow);
  if (options.onEvent !== undefined) builder.onEvent(options.onEvent);
  if (options.redis !== undefined) {
    const prefix = buildId === undefined ? options.prefix : `${options.prefix}:${buildId}`;
    builder
      .fallback(
        Cache.builder<string, StoredEntry>()
          .storage(
            new RedisTier<string, StoredEntry>({
              client: options.redis,
              prefix,
              commandTimeout: options.redisTimeout,
              clock: options.clock ?? wallClock,
            }),
          )
          .tierTimeout(options.redisTimeout)
          .circuitBreaker({ cooldown: options.breakerCooldown }),
      )
      .bus(
        observeBus(
          new RedisBus({
            client: options.redis,
            transport: options.busTransport,
            channel: `${options.prefix}:bus`,
          }),
        ),
      );
  }
  return builder.build();
}

/**
 * The Next.js cache handlers on one cachet `Cache`: an L1 in memory, Redis as the shared L2, and a
 * Redis bus so that every replica sees every tag revalidation.
 *
 * Next loads handlers from files named in `next.config`, so an application exports
 * {@link NextCache.CacheHandler} from one file and {@link NextCache.useCacheHandler} from another
 * (or uses the ready-made `@cachet/next/cache-handler` and `@cachet/next/use-cache-handler`, which
 * read `REDIS_URL`). Both share this object, and so one cache and one set of connections.
 *
 * Fail-safe: no handler method ever rejects because the cache failed. A Redis that is down or slow
 * is a miss (after `redisTimeout`, then skipped by a circuit breaker), a write lands in L1 only, and a
 * tag revalidation still reaches this process and, through the bus's retry queue, the others.
 *
 * @example
 * // cachet.mjs
 * import { createNextCache } from "@cachet/next";
 * export const nextCache = createNextCache({ redis: process.env.REDIS_URL });
 * // cache-handler.mjs
 * import { nextCache } from "./cachet.mjs";
 * export default nextCache.CacheHandler;
 * // use-cache-handler.mjs
 * import { nextCache } from "./cachet.mjs";
 * export default nextCache.useCacheHandler;
 */
export class NextCache {
  /** The cachet cache behind both handlers (for events, stats, or invalidation from outside Next). */
  readonly cache: Cache<string, StoredEntry>;
  /** The incremental cache handler class: `cacheHandler` in `next.config`. */
  readonly CacheHandler: IncrementalCacheHandlerClass;
  /** The `"use cache"` handler: a value of `cacheHandlers` in `next.config`. */
  readonly useCacheHandler: UseCacheHandler;
  readonly #store: HandlerStore;

  /** @throws CacheError `INVALID_OPTION` naming an unknown or invalid option. */
  constructor(options?: NextCacheOptions) {
    const resolved = resolveOptions(options);
    // One clock for entry stamps, tag times and cachet's own: an entry written in the same
    // millisecond as a revalidation counts as older than it (rendered from data it may predate).
    const clock = resolved.clock ?? wallClock;
    const now = (): number => clock.now();
    const ledger = new TagLedger(now);
    const cache = resolved.cache ?? buildCache(resolved, (bus) => ledger.observe(bus));
    ledger.attach(cache);
    this.cache = cache;
    this.#store = {
      cache,
      ledger,
      maxTtl: resolved.maxTtl,
      now,
      revalidateTags: (tags, durations) => revalidate(cache, ledger, tags, durations),
    };
    this.CacheHandler = createIncrementalCacheHandler(this.#store);
    this.useCacheHandler = createUseCacheHandler(this.#store);
  }

  /**
   * Revalidates `tags` on every replica, as `revalidateTag` does inside Next: with no `durations`
   * (or `expire: 0`) tagged entries become a miss at once; with `durations`, they are served stale
   * once while a fresh render runs, and expire after `durations.expire` seconds.
   */
  revalidateTags(tags: readonly string[], durations?: TagDurations): Promise<void> {
    return this.#store.revalidateTags(tags, durations);
  }

  /** Closes the cache, its Redis connections and the bus. */
  close(): Promise<void> {
    return this.cache.close();
  }
}

async function revalidate(
  cache: Cache<string, StoredEntry>,
  ledger: TagLedger,
  tags: readonly string[],
  durations: TagDurations | undefined,
): Promise<void> {
  if (!Array.isArray(tags)) return;
  const list = tags.filter((tag) => typeof tag === "string" && tag.length > 0);
  if (list.length === 0) return;
  // No durations: expire now (Next's `updateTag`, and `revalidateTag` without a profile). With
  // durations (a cacheLife profile): stale now, expired `expire` seconds later.
  const expireIn =
    durations === undefined
      ? 0
      : durations.expire === undefined
        ? undefined
        : Math.max(0, durations.expire * 1000);
  const immediate = expireIn === 0;
  const ledgerWrite = ledger.record(list, expireIn);
  try {
    if (immediate) await cache.invalidateTags(list);
    else await cache.expireTags(list);
  } catch {
    // Fail-safe: the ledger above still answers for this process.
  }
  await ledgerWrite;
}
