/**
 * The resolved configuration a builder hands to a cache: tiers with their policy, and the
 * cache-wide settings.
 *
 * Types only. The builder produces these after validating every option; the cache and its parts
 * trust them and never validate again.
 */
import type {
  CacheBus,
  CacheTier,
  Clock,
  ConditionalWrites,
  DistributedLock,
  Milliseconds,
} from "@cachet/tier";
import type { CacheEventListener } from "@cachet/tier";
import type { CacheInstrumentation } from "./instrumentation.js";
import type { LoadPolicy } from "./load-policy.js";
import type { PromotionPolicy } from "./promotion-policy.js";
import type { ValueMode } from "./value-mode.js";

/** The breaker surface the core needs; `CircuitBreaker` from `@cachet/tier` provides it. @internal */
export interface TierBreaker {
  tryAcquire(): boolean;
  recordSuccess(): void;
  recordFailure(): void;
  /** Turns an open breaker half-open at once (the backend said it is ready again). */
  recovered?(): void;
}

/** One tier with the policy the builder chain gave it. @internal */
export interface TierSlot<K, V> {
  readonly tier: CacheTier<K, V>;
  readonly name: string;
  /** Default ttl for entries written to this tier without their own. */
  readonly ttl: Milliseconds | undefined;
  /** Whether an entry found below this tier is copied into it. */
  readonly promotion: PromotionPolicy<V>;
  /** Per-operation time limit for this tier. */
  readonly timeout: Milliseconds | undefined;
  readonly breaker: TierBreaker | undefined;
  /** An in-process tier (it has `getSync`) with no breaker or timeout: promotions call it directly. */
  readonly direct: boolean;
  /** Whether `close()` closes this tier (false for a tier shared with other caches). */
  readonly owned: boolean;
  /**
   * The tier's conditional writes, for a tier below L1 that offers them (`tier.conditionalWrites`):
   * loads, refreshes, promotions into it and replays then write it only if the key did not change
   * since their read (see `versioned-writes.ts`). `undefined` for L1 and for tiers without them.
   */
  readonly conditional: ConditionalWrites<K, V> | undefined;
  /** Receives the breaker's state changes, once the cache is built. */
  readonly breakerHook: { listener?: (state: string) => void };
}

/** Everything `build()` resolved and validated. @internal */
export interface CacheConfig<K, V> {
  readonly name: string;
  readonly clock: Clock;
  readonly slots: readonly TierSlot<K, V>[];
  readonly timeToRefresh: Milliseconds | undefined;
  readonly stampedeProtection: boolean;
  readonly valueMode: ValueMode;
  readonly policy: LoadPolicy<V>;
  readonly tierErrors: "miss" | "throw";
  readonly listeners: readonly CacheEventListener[];
  readonly eventKeys: boolean;
  readonly ttlJitter: Milliseconds;
  readonly random: () => number;
  readonly instrumentations: readonly CacheInstrumentation[];
  readonly bus: CacheBus | undefined;
  readonly busKeys: BusKeys<K>;
  readonly lock: LockConfig | undefined;
  readonly tagMarkerTtl: Milliseconds;
  /** Writes a shared tier may owe before its queue becomes one owed clear (write recovery). */
  readonly maxPendingWrites: number;
}

/** How keys travel on the bus and in the distributed lock: as strings. */
export interface BusKeys<K> {
  encode(key: K): string;
  decode(text: string): K;
}

/** Fleet-wide stampede protection settings. @internal */
export interface LockConfig {
  readonly lock: DistributedLock;
  readonly lease: Milliseconds;
  readonly pollInterval: Milliseconds;
}
