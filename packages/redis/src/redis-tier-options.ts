/**
 * The options of `RedisTier`: their types (whose TSDoc is the options reference) and the list of
 * known keys the constructor checks. Validation of each value stays next to its use in the tier
 * (and in `tracking/tracking-options.ts` for `tracking`).
 */
import type { Clock, Codec, Duration } from "@cachet/tier";
import type { RedisConnectOptions } from "./connect-options.js";
import type { IORedisLike } from "./ioredis-adapter.js";
import type { NodeRedisClientLike, NodeRedisClusterLike } from "./node-redis-adapter.js";
import type { RedisAdapter } from "./redis-adapter.js";
import type { RedisTierEvent } from "./redis-tier-event.js";
import type { RedisTrackingOptions } from "./tracking/tracking-options.js";

/**
 * What {@link RedisTierOptions.client} accepts: a client you made (ioredis `Redis` or `Cluster`,
 * node-redis client or cluster, or any {@link RedisAdapter}), which the tier never closes; or a
 * URL / connection settings, from which the tier creates an ioredis client that it owns.
 */
export type RedisClientInput =
  string | RedisConnectOptions | IORedisLike | NodeRedisClientLike | NodeRedisClusterLike | RedisAdapter;

/** Options for {@link RedisTier}. */
export interface RedisTierOptions<K = string, V = unknown> {
  /**
   * The Redis connection. A client you pass stays yours: the tier never closes it and cannot
   * change its settings (queueing, reconnection), so it enforces `commandTimeout` itself. A URL
   * (`redis://user:pass@host:6379/0`, `rediss://` for TLS) or {@link RedisConnectOptions} makes the
   * tier create an ioredis client with fail-fast settings, and close it in {@link RedisTier.close}.
   */
  client: RedisClientInput;
  /**
   * Namespace of this tier's keys: each entry is stored at `<prefix>:<key>`. `clear()` and
   * `size()` touch only keys under it. Two tiers with the same prefix on one server share entries.
   * A prefix with a hash tag such as `"{app}"` puts every key in one Cluster slot (and on one node):
   * batch commands become single commands, but nothing is spread over the cluster.
   *
   * Without it, the tier takes `cachet.<cache name>` when a named cache attaches it (see
   * {@link RedisTier.attach}), so two caches never share keys by accident; until then (or used on
   * its own) its keyed calls reject with `INVALID_OPTION`.
   * @default `cachet.<cache name>`, from the cache the tier is attached to
   */
  prefix?: string;
  /**
   * Converts values to bytes. The default keeps `Date`, `Map`, `Set`, `BigInt`, typed arrays and
   * Buffers. Tiers sharing a prefix must use the same codec: an entry written with another
   * codec reads as a miss plus a `corrupt-entry` event.
   * @default structuredCodec
   */
  codec?: Codec<V>;
  /** Default ttl for entries inserted without one. Without it, such entries never expire. */
  ttl?: Duration;
  /**
   * Time source for `cachedAt` stamps and logical expiry. Redis's own expiry (`PX`) is computed
   * from it too: the key lives `cachedAt + ttl + staleFor - clock.now()` ms of real time.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Upper bound, in real time, on each call (for `clear()` and `size()`, on each SCAN page and its
   * deletes). A call that takes longer rejects with `TIMEOUT`, so a hung server cannot hang callers.
   * @default 1000
   */
  commandTimeout?: Duration;
  /** Name used in errors and events. @default "redis" */
  name?: string;
  /**
   * Turns a key into a string. Required when `K` is not `string`; it must be injective (distinct
   * keys give distinct strings).
   * @default the key itself, for string keys
   */
  serializeKey?: (key: K) => string;
  /**
   * The inverse of `serializeKey`, needed with `tracking` when `K` is not `string`: Redis reports
   * changed keys as strings, and the cache drops its copies by key.
   */
  deserializeKey?: (text: string) => K;
  /** Keys asked for per SCAN page in `clear()` and `size()`. @default 1000 */
  scanCount?: number;
  /**
   * Fail fast while the client has never connected: a call made before the first connection is
   * up rejects at once with `TIER_FAILURE` (like ioredis `enableOfflineQueue: false`), instead of
   * waiting up to `commandTimeout` for it. Useful when Redis may be down at boot: the cache serves
   * from L1 and the loader without each first call paying the full timeout until the circuit
   * breaker opens. The connection attempt goes on in the background either way.
   * @default false
   */
  failFastBeforeConnect?: boolean;
  /**
   * Receives events that do not fail a call: unreadable bytes under the prefix, errors of the
   * client the tier owns. Exceptions thrown by the callback are ignored.
   */
  onEvent?: (event: RedisTierEvent) => void;
  /**
   * Versioned, conditional writes (`tier.conditionalWrites`, see `ConditionalWrites` in
   * `@cachet/tier`): every entry carries a version set by Redis, `invalidate` leaves a tombstone
   * for `tombstoneTtl`, and `insertIfVersion` stores only if nobody wrote or invalidated the key
   * since a read, all in one Lua script per key. Costs one `EVALSHA` instead of `SET` per write
   * (reads stay `GET`/`MGET`), and a small tombstone per invalidated key. Every tier sharing the
   * prefix should turn it on: a writer without it is not ordered against the others. `true`
   * uses the default `tombstoneTtl`, which must be at least as long as any load may run.
   * @default false
   */
  conditionalWrites?: boolean | { tombstoneTtl?: Duration } | undefined;
  /**
   * Server-assisted coherence of the caches above this tier (`tier.externalChanges`, see
   * `ExternalChanges` in `@cachet/tier`): Redis `CLIENT TRACKING` in broadcast mode reports every
   * change of a key under the prefix, by any client (a script, another service, an instance
   * without a bus), expiry and eviction included, and the cache drops its L1 copy. Opens one
   * connection of its own per master (RESP2, made with the client's `duplicate()`). While a
   * tracking connection is down, or a Cluster's masters changed, the cache keeps no L1 copies of
   * this tier's keys (and reports `external_reset`). Needs Redis 6+; a server that refuses it
   * rejects {@link RedisTier.trackingReady} and is reported through `onEvent`, and the cache
   * then never keeps L1 copies. `true` uses the defaults of {@link RedisTrackingOptions}.
   * @default false
   */
  tracking?: boolean | RedisTrackingOptions | undefined;
}

export const DEFAULT_COMMAND_TIMEOUT = 1_000;

export const KNOWN_OPTIONS = [
  "client",
  "prefix",
  "codec",
  "ttl",
  "clock",
  "commandTimeout",
  "name",
  "serializeKey",
  "deserializeKey",
  "tracking",
  "scanCount",
  "failFastBeforeConnect",
  "conditionalWrites",
  "onEvent",
];
