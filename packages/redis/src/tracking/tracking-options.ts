import { CacheError, assertKnownKeys, toPositiveMilliseconds } from "@cachet/tier";
import type { Duration, Milliseconds } from "@cachet/tier";

/**
 * The `tracking` option of `RedisTier`: Redis tells the cache which of the tier's keys changed,
 * whoever changed them, so in-process (L1) copies are dropped without a bus. See the README's
 * "Tracking" section for when to choose it, the bus, or both.
 */
export interface RedisTrackingOptions {
  /**
   * `"broadcast"`: Redis reports every change of a key under the tier's prefix (`BCAST PREFIX`),
   * read by this process or not. Costs Redis no per-key memory (one prefix entry per tracking
   * connection), and this process one message per change under the prefix.
   * (`"default"` mode, which tracks only the keys this process read, is not offered: the README
   * says why, under "Why broadcast mode only".)
   * @default "broadcast"
   */
  mode?: "broadcast";
  /**
   * On a Cluster, how often the set of masters is compared with the tracking connections, so a
   * failover or a new master is noticed even without traffic (the cache keeps no copies until
   * every master is tracked again).
   * @default 1000
   */
  topologyCheck?: Duration;
}

/** What a tier's tracking resolves to. @internal */
export interface ResolvedTracking {
  readonly topologyCheck: Milliseconds;
}

const KNOWN = ["mode", "topologyCheck"] as const;

/**
 * Validates the `tracking` option; `undefined` when tracking is off.
 * @throws CacheError `INVALID_OPTION` naming the bad key or value.
 */
export function resolveTracking(
  value: boolean | RedisTrackingOptions | undefined,
  tier: string,
): ResolvedTracking | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { topologyCheck: 1_000 };
  if (typeof value !== "object" || value === null) {
    throw new CacheError("INVALID_OPTION", "`tracking` must be a boolean or `{ mode, topologyCheck }`", {
      tier,
    });
  }
  assertKnownKeys(value, KNOWN, "tracking");
  if (value.mode !== undefined && value.mode !== "broadcast") {
    throw new CacheError(
      "INVALID_OPTION",
      `\`tracking.mode\` must be "broadcast" (got ${JSON.stringify(value.mode)}); default-mode tracking is not offered (the @cachet/redis README, "Why broadcast mode only", says why)`,
      { tier },
    );
  }
  const topologyCheck =
    value.topologyCheck === undefined
      ? 1_000
      : toPositiveMilliseconds(value.topologyCheck, "tracking.topologyCheck");
  return { topologyCheck };
}
