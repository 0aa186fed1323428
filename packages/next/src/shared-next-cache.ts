import { NextCache } from "./next-cache.js";

const SHARED = Symbol.for("@cachet/next:shared");

type Holder = { [SHARED]?: NextCache };

/**
 * The process-wide {@link NextCache} configured from the environment, created on first use:
 * `CACHET_REDIS_URL` (or `REDIS_URL`) for Redis, `CACHET_NEXT_PREFIX` for the key prefix. Without a
 * URL it is memory-only, which is what `next build` gets when the build runs without Redis.
 *
 * It lives on `globalThis`, so the two handler entry points share it even when Next loads one
 * through `import` (the ESM build) and the other through `require` (the CJS build).
 * @throws CacheError `INVALID_OPTION` when `CACHET_NEXT_PREFIX` is set but empty.
 */
export function sharedNextCache(): NextCache {
  const holder = globalThis as Holder;
  const existing = holder[SHARED];
  if (existing !== undefined) return existing;
  const redis = process.env.CACHET_REDIS_URL || process.env.REDIS_URL || undefined;
  const prefix = process.env.CACHET_NEXT_PREFIX;
  const created = new NextCache({ redis, prefix });
  holder[SHARED] = created;
  return created;
}
