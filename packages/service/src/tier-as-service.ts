import { CacheError } from "@cachet/tier";
import type { CacheEntry, CacheTier } from "@cachet/tier";
import type { CacheOperation, CacheResponse, CacheService } from "./cache-operation.js";

/**
 * Turns a tier into a storage service, so it can be wrapped in layers (`timeout`, `retry`,
 * `circuitBreaker`, …) and, through `ServiceTier`, used as a tier again.
 *
 * Each {@link CacheOperation} becomes the matching tier call. Batch operations use the tier's
 * batch method when it has one and fall back to one call per key otherwise. `size` answers
 * `undefined` when the tier has no `size` method. The tier's rejections pass through unchanged.
 *
 * @throws CacheError `INVALID_OPTION` when `tier` lacks `get`, `insert`, `invalidate` or `clear`.
 * The returned service rejects with `INVALID_OPTION` for an unknown `op`.
 *
 * @example
 * const service = tierAsService(new MockCache<string, User>());
 * const { entry } = await service.call({ op: "get", key: "user:1" });
 */
export function tierAsService<K, V>(tier: CacheTier<K, V>): CacheService<K, V> {
  if (
    typeof tier !== "object" ||
    tier === null ||
    typeof tier.get !== "function" ||
    typeof tier.insert !== "function" ||
    typeof tier.invalidate !== "function" ||
    typeof tier.clear !== "function"
  ) {
    throw new CacheError(
      "INVALID_OPTION",
      "`tier` must be a CacheTier with get, insert, invalidate and clear",
    );
  }
  return {
    call: (operation) => perform(tier, operation),
  };
}

async function perform<K, V>(
  tier: CacheTier<K, V>,
  operation: CacheOperation<K, V>,
): Promise<CacheResponse<V>> {
  switch (operation?.op) {
    case "get":
      return { op: "get", entry: await tier.get(operation.key) };
    case "insert":
      await tier.insert(operation.key, operation.entry);
      return { op: "insert" };
    case "invalidate":
      await tier.invalidate(operation.key);
      return { op: "invalidate" };
    case "clear":
      await tier.clear();
      return { op: "clear" };
    case "getMany": {
      const entries: readonly (CacheEntry<V> | undefined)[] = tier.getMany
        ? await tier.getMany(operation.keys)
        : await Promise.all(operation.keys.map((key) => tier.get(key)));
      return { op: "getMany", entries };
    }
    case "insertMany":
      if (tier.insertMany) await tier.insertMany(operation.entries);
      else await Promise.all(operation.entries.map(([key, entry]) => tier.insert(key, entry)));
      return { op: "insertMany" };
    case "invalidateMany":
      if (tier.invalidateMany) await tier.invalidateMany(operation.keys);
      else await Promise.all(operation.keys.map((key) => tier.invalidate(key)));
      return { op: "invalidateMany" };
    case "size":
      return { op: "size", size: tier.size ? await tier.size() : undefined };
    default:
      throw new CacheError(
        "INVALID_OPTION",
        `\`op\` must be a cache operation name, got ${JSON.stringify((operation as { op?: unknown } | undefined)?.op)}`,
        { tier: tier.name },
      );
  }
}
