import { CacheError, toPositiveMilliseconds } from "@cachet/core";
import type { Cache, CacheEventListener, Clock, Duration } from "@cachet/core";
import type { IORedisClient, IORedisLike } from "@cachet/redis";
import type { StoredEntry } from "./stored-entry.js";

/** Options for {@link createNextCache}. Every option is optional. */
export interface NextCacheOptions {
  /**
   * The shared tier and bus: a `redis://` URL or an ioredis `Redis` client (yours to close). Without it the cache is one
   * process's memory only (what `next build` needs, and a single replica).
   * @default process.env.CACHET_REDIS_URL ?? process.env.REDIS_URL (only in the env-configured
   * entry points `@cachet/next/cache-handler` and `@cachet/next/use-cache-handler`)
   */
  redis?: string | (IORedisClient & IORedisLike) | undefined;
  /**
   * Key prefix in Redis. The build id is appended, so two deployments sharing a Redis never serve
   * each other's pages (their HTML names different asset files).
   * @default "next"
   */
  prefix?: string | undefined;
  /**
   * Scopes the entries to one build. `undefined` reads `.next/BUILD_ID` under the working directory
   * when it exists (as under `next start`); `false` turns scoping off.
   * @default the contents of `<cwd>/.next/BUILD_ID`, if present
   */
  buildId?: string | false | undefined;
  /** Byte budget of the in-process L1 (approximate: value sizes plus a fixed overhead). @default 64 MiB */
  memoryBytes?: number | undefined;
  /**
   * The longest an entry is kept, whatever Next asks for (`expire` of a page or `"use cache"`
   * entry; `fetch` results and never-revalidated pages have none).
   * @default "30d"
   */
  maxTtl?: Duration | undefined;
  /**
   * How long after `revalidateTag(tag, profile)` an entry carrying the tag is still served once
   * (stale) while Next renders a fresh one. Past it, the entry is a miss and the next request
   * renders while it waits.
   * @default "1d"
   */
  staleWindow?: Duration | undefined;
  /** How long a Redis call may take before it counts as a miss (fail-safe). @default "500ms" */
  redisTimeout?: Duration | undefined;
  /**
   * How long Redis is skipped after 5 failures in a row before one call probes it again (while it
   * is skipped, a miss costs nothing extra and pages render at full speed).
   * @default "5s"
   */
  breakerCooldown?: Duration | undefined;
  /** `"pubsub"` (lowest latency) or `"stream"` (replays missed messages after a reconnect). @default "pubsub" */
  busTransport?: "pubsub" | "stream" | undefined;
  /** Cache name: events, errors and the bus scope. @default "next" */
  name?: string | undefined;
  /**
   * Time source for entry stamps, tag times and the cache (tests pass a `ManualClock`). Next stamps
   * `"use cache"` entries with its own wall-clock time, so production keeps the default.
   * @default the wall clock, read on every call
   */
  clock?: Clock | undefined;
  /** Receives every cachet cache event (hits, misses, tier errors, bus messages). */
  onEvent?: CacheEventListener | undefined;
  /**
   * Use this cachet cache instead of building one. It must store values as given
   * (`valueMode("reference")`) and should have a stale-while-revalidate window; the options above
   * that shape the cache are then ignored. Its bus is not observed, so this process learns of other
   * replicas' revalidations of soft (path) tags from the shared records, re-read at most once a
   * second per tag, rather than at once.
   */
  cache?: Cache<string, StoredEntry> | undefined;
}

/** The options after defaults and validation. */
export interface ResolvedNextCacheOptions {
  redis: string | (IORedisClient & IORedisLike) | undefined;
  prefix: string;
  buildId: string | false | undefined;
  memoryBytes: number;
  maxTtl: number;
  staleWindow: number;
  redisTimeout: number;
  breakerCooldown: number;
  busTransport: "pubsub" | "stream";
  name: string;
  clock: Clock | undefined;
  onEvent: CacheEventListener | undefined;
  cache: Cache<string, StoredEntry> | undefined;
}

const KNOWN = new Set([
  "redis",
  "prefix",
  "buildId",
  "memoryBytes",
  "maxTtl",
  "staleWindow",
  "redisTimeout",
  "breakerCooldown",
  "busTransport",
  "name",
  "clock",
  "onEvent",
  "cache",
]);

function invalid(option: string, message: string): CacheError {
  return new CacheError("INVALID_OPTION", `\`${option}\` ${message}`);
}

function nonEmpty(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.length === 0) throw invalid(option, "must be a non-empty string");
  return value;
}

/**
 * Validates {@link NextCacheOptions} and fills in defaults.
 * @throws CacheError `INVALID_OPTION` naming the first unknown or invalid option.
 */
export function resolveOptions(options: NextCacheOptions = {}): ResolvedNextCacheOptions {
  if (typeof options !== "object" || options === null) throw invalid("options", "must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalid(key, "is not an option of createNextCache");
  }
  const { redis, buildId, memoryBytes, busTransport, onEvent, cache, clock } = options;
  if (redis !== undefined && !(typeof redis === "string" ? redis.length > 0 : typeof redis === "object")) {
    throw invalid("redis", "must be a redis:// URL or an ioredis client");
  }
  if (buildId !== undefined && buildId !== false && (typeof buildId !== "string" || buildId.length === 0)) {
    throw invalid("buildId", "must be a non-empty string or false");
  }
  if (memoryBytes !== undefined && !(Number.isInteger(memoryBytes) && memoryBytes > 0)) {
    throw invalid("memoryBytes", "must be a positive integer");
  }
  if (busTransport !== undefined && busTransport !== "pubsub" && busTransport !== "stream") {
    throw invalid("busTransport", 'must be "pubsub" or "stream"');
  }
  if (onEvent !== undefined && typeof onEvent !== "function") throw invalid("onEvent", "must be a function");
  if (
    clock !== undefined &&
    (typeof clock !== "object" || clock === null || typeof clock.now !== "function")
  ) {
    throw invalid("clock", "must be a Clock");
  }
  if (
    cache !== undefined &&
    (typeof cache !== "object" || cache === null || typeof cache.get !== "function")
  ) {
    throw invalid("cache", "must be a cachet Cache");
  }
  return {
    redis,
    prefix: nonEmpty("prefix", options.prefix, "next"),
    buildId,
    memoryBytes: memoryBytes ?? 64 * 1024 * 1024,
    maxTtl: toPositiveMilliseconds(options.maxTtl ?? "30d", "maxTtl"),
    staleWindow: toPositiveMilliseconds(options.staleWindow ?? "1d", "staleWindow"),
    redisTimeout: toPositiveMilliseconds(options.redisTimeout ?? "500ms", "redisTimeout"),
    breakerCooldown: toPositiveMilliseconds(options.breakerCooldown ?? "5s", "breakerCooldown"),
    busTransport: busTransport ?? "pubsub",
    name: nonEmpty("name", options.name, "next"),
    clock,
    onEvent,
    cache,
  };
}
