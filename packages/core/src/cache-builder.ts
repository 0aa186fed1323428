/**
 * The cache builder: collects options per tier and cache-wide, validates every one of them in
 * `build()` (throwing `INVALID_OPTION` naming the option) and hands a `CacheConfig` to the cache
 * factory it was given.
 *
 * It must never import `Cache` at runtime (the factory is handed in by `Cache.builder`, so there is
 * no import cycle). Length: about 650 lines, over the house limit on purpose: most of it is the
 * options' TSDoc, which is the options reference users read in their editor, and each option's
 * validation sits next to its setter. What could leave: the `build()` validation of the fleet lock
 * and conditional-write tombstones (a `build-checks.ts`), if it grows further.
 */
import {
  CacheError,
  CircuitBreaker,
  assertKnownKeys,
  systemClock,
  toMilliseconds,
  toPositiveMilliseconds,
} from "@cachet/tier";
import type {
  CacheBus,
  CacheTier,
  CircuitBreakerOptions,
  Clock,
  ConditionalWrites,
  DistributedLock,
  Duration,
} from "@cachet/tier";
import { MemoryTier } from "@cachet/memory";
import type { MemoryTierOptions } from "@cachet/memory";
import type { Cache } from "./cache.js";
import type { BusKeys, CacheConfig, LockConfig, TierSlot } from "./cache-config.js";
import type { LoadPolicy } from "./load-policy.js";
import type { CacheEventListener } from "@cachet/tier";
import type { CacheInstrumentation } from "./instrumentation.js";
import type { FailSafeOptions, LoaderTimeouts } from "./loader.js";
import {
  BUILDER_KEYS,
  BUS_KEYS,
  FAIL_SAFE_KEYS,
  LOCK_KEYS,
  MEMORY_KEYS,
  STORAGE_KEYS,
  TIMEOUT_KEYS,
} from "./option-keys.js";
import { PromotionPolicy } from "./promotion-policy.js";
import { DEFAULT_MAX_PENDING_WRITES } from "./write-recovery.js";
import type { ValueMode } from "./value-mode.js";

/** Makes the cache from a validated config (the `Cache` constructor, handed in by `Cache.builder`). */
type CacheFactory = <K, V>(config: CacheConfig<K, V>) => Cache<K, V>;

/** Options for {@link Cache.builder}. */
export interface CacheBuilderOptions {
  /** Time source for expiry, refresh, timeouts and backoff; tests pass a `ManualClock`. @default systemClock */
  clock?: Clock | undefined;
}

/** Options for {@link CacheBuilder.memory}: those of `MemoryTier`, minus what the builder supplies. */
export type MemoryOptions<K, V> = Omit<MemoryTierOptions<K, V>, "clock" | "ttl">;

type TierSource<K, V> =
  | { kind: "memory"; options: MemoryOptions<K, V> }
  | { kind: "storage"; tier: CacheTier<K, V>; close: boolean }
  | undefined;

/** Options for {@link CacheBuilder.distributedStampedeProtection}. */
export interface DistributedStampedeOptions {
  /** The fleet-wide lock, e.g. `RedisLock` from `@cachet/redis`. */
  lock: DistributedLock;
  /** How long a holder keeps the lock before it expires by itself. @default "10s" */
  lease?: Duration | undefined;
  /** How often waiting processes look for the holder's result in the shared tiers. @default "50ms" */
  pollInterval?: Duration | undefined;
}

const STRING_KEYS: BusKeys<string> = { encode: (key) => String(key), decode: (text) => text };

interface GlobalOptions<V> {
  name: string;
  timeToRefresh: Duration;
  stampede: boolean;
  valueMode: ValueMode;
  swr: Duration;
  failSafe: FailSafeOptions<V>;
  timeouts: LoaderTimeouts;
  negativeTtl: Duration;
  tierErrors: "miss" | "throw";
  eventKeys: boolean;
  jitter: Duration;
}

const VALUE_MODES: readonly ValueMode[] = ["freeze", "clone", "reference"];

/**
 * Builds a {@link Cache}. Each builder describes one tier (`.memory()` or `.storage()`), its ttl and
 * promotion policy; `.fallback(builder)` chains the next tier below it, to any depth. Cache-wide
 * options (name, refresh, stale-while-revalidate, fail-safe, timeouts...) belong on the outermost
 * builder.
 *
 * Every option is validated by {@link CacheBuilder.build}, which throws a `CacheError` with code
 * `INVALID_OPTION` naming the option. An options object with a key the method does not know
 * (`.memory({ maxEntrys })`) is refused at once, naming the key and the closest known one.
 *
 * @example
 * const l2 = Cache.builder<string, User>().storage(new RedisTier({ client: redis, prefix: "users" })).ttl("5m");
 * const users = Cache.builder<string, User>()
 *   .name("users")
 *   .memory({ maxEntries: 10_000 })
 *   .ttl("1m")
 *   .fallback(l2)
 *   .timeToRefresh("20s")
 *   .build();
 */
export class CacheBuilder<K, V> {
  #clock: Clock | undefined;
  #source: TierSource<K, V>;
  #sourceCount = 0;
  #ttl: Duration | undefined;
  #fallback: CacheBuilder<K, V> | undefined;
  #promotion: PromotionPolicy<V> | undefined;
  #tierTimeout: Duration | undefined;
  #breaker: CircuitBreakerOptions | CircuitBreaker | false | undefined;
  readonly #global: {
    name?: string;
    timeToRefresh?: Duration;
    stampede?: boolean;
    valueMode?: ValueMode;
    swr?: Duration;
    failSafe?: FailSafeOptions<V>;
    timeouts?: LoaderTimeouts;
    negativeTtl?: Duration;
    tierErrors?: "miss" | "throw";
    listeners: CacheEventListener[];
    eventKeys?: boolean;
    jitter?: Duration;
    random?: () => number;
    instrumentations: CacheInstrumentation[];
    bus?: CacheBus;
    busKeys?: BusKeys<K>;
    lock?: DistributedStampedeOptions;
    tagMarkerTtl?: Duration;
    maxPendingWrites?: number;
  } = { listeners: [], instrumentations: [] };
  readonly #globalSet = new Set<string>();
  readonly #create: CacheFactory;

  /**
   * @internal Use {@link Cache.builder}. `create` is how the builder makes the cache: it is handed
   * in rather than imported, so that this module never imports `Cache` at runtime (no cycle).
   */
  static start<K, V>(options: CacheBuilderOptions | undefined, create: CacheFactory): CacheBuilder<K, V> {
    return new CacheBuilder<K, V>(options, create);
  }

  /** Use {@link Cache.builder}. */
  private constructor(options: CacheBuilderOptions | undefined, create: CacheFactory) {
    assertKnownKeys(options, BUILDER_KEYS, "Cache.builder");
    this.#clock = options?.clock;
    this.#create = create;
  }

  /** Names the cache in events, errors and telemetry. @default "cache" */
  name(name: string): this {
    return this.#setGlobal("name", name);
  }

  /** Uses an in-process `MemoryTier` (lru-cache) as this tier. One of `maxEntries`/`maxBytes` is required. */
  memory(options: MemoryOptions<K, V>): this {
    if (typeof options === "object" && options !== null) {
      // Real `MemoryTier` options the builder supplies itself: say where they go.
      if (Object.hasOwn(options, "ttl")) throw invalid("`memory` takes no `ttl`: set it with `.ttl()`");
      if (Object.hasOwn(options, "clock"))
        throw invalid("`memory` takes no `clock`: pass it to `Cache.builder({ clock })`");
    }
    assertKnownKeys(options, MEMORY_KEYS, "memory");
    this.#source = { kind: "memory", options };
    this.#sourceCount++;
    return this;
  }

  /**
   * Uses any `CacheTier` as this tier (Redis, a `ServiceTier`, a `MockCache`...). `cache.close()`
   * closes it, unless `close: false` (for a tier several caches share).
   */
  storage(tier: CacheTier<K, V>, options?: { close?: boolean }): this {
    assertKnownKeys(options, STORAGE_KEYS, "storage");
    this.#source = { kind: "storage", tier, close: options?.close !== false };
    this.#sourceCount++;
    return this;
  }

  /** Default freshness of entries in this tier; a `CacheEntry`'s own ttl wins. Milliseconds or `"30s"`. */
  ttl(ttl: Duration): this {
    this.#ttl = ttl;
    return this;
  }

  /** On a miss in this tier, ask the tier `next` describes (which may have its own fallback). */
  fallback(next: CacheBuilder<K, V>): this {
    this.#fallback = next;
    return this;
  }

  /** Whether a hit in the fallback tier is copied into this tier. @default PromotionPolicy.always() */
  promotionPolicy(policy: PromotionPolicy<V>): this {
    this.#promotion = policy;
    return this;
  }

  /** Time limit for each operation on this tier; a slow tier counts as failed (a miss on reads). */
  tierTimeout(timeout: Duration): this {
    this.#tierTimeout = timeout;
    return this;
  }

  /**
   * Circuit breaker for this tier: after repeated failures the tier is skipped for a cool-down, then
   * probed with one call. Pass options, a shared `CircuitBreaker`, or `false` to turn it off. A
   * tier with `onReady` (RedisTier) makes an open breaker probe as soon as its client is ready again.
   * @default off for the first tier; for fallback tiers a breaker opening after 5 failures, with a
   * cool-down of 1 s doubling on each failed probe up to 5 s
   */
  circuitBreaker(breaker: CircuitBreakerOptions | CircuitBreaker | false): this {
    this.#breaker = breaker;
    return this;
  }

  /**
   * Once an entry is older than `age` (and still fresh), the next read returns it at once and starts
   * one background refresh: by the loader for `getOrInsert`, from the next tier for `get`.
   * Must be less than the ttl.
   */
  timeToRefresh(age: Duration): this {
    return this.#setGlobal("timeToRefresh", age);
  }

  /** Concurrent misses on one key share one load. @default true */
  stampedeProtection(enabled = true): this {
    return this.#setGlobal("stampede", enabled);
  }

  /** How values shared between callers are protected; see {@link ValueMode}. @default "freeze" */
  valueMode(mode: ValueMode): this {
    return this.#setGlobal("valueMode", mode);
  }

  /** After its ttl, serve an entry for up to `window` more while one background refresh runs. */
  staleWhileRevalidate(window: Duration): this {
    return this.#setGlobal("swr", window);
  }

  /** Serve the last good value when the loader fails; see {@link FailSafeOptions}. */
  failSafe(options: FailSafeOptions<V>): this {
    assertKnownKeys(options, FAIL_SAFE_KEYS, "failSafe");
    return this.#setGlobal("failSafe", options);
  }

  /** Loader time limits; see {@link LoaderTimeouts}. */
  timeouts(timeouts: LoaderTimeouts): this {
    assertKnownKeys(timeouts, TIMEOUT_KEYS, "timeouts");
    return this.#setGlobal("timeouts", timeouts);
  }

  /** Remember an `undefined` result of `optionallyGetOrInsert` as absent for this long. */
  negativeTtl(ttl: Duration): this {
    return this.#setGlobal("negativeTtl", ttl);
  }

  /**
   * What a failing tier means: `"miss"` (default) reports it and carries on (a read is a miss, a
   * write lands in the tiers that work); `"throw"` rejects the operation with the tier's error.
   */
  tierErrors(policy: "miss" | "throw"): this {
    return this.#setGlobal("tierErrors", policy);
  }

  /**
   * Adds up to `max` (random) to each written entry's ttl, so entries written together do not
   * all expire together. `random` may be injected for deterministic tests.
   */
  ttlJitter(max: Duration, random?: () => number): this {
    this.#setGlobal("jitter", max);
    if (random !== undefined) this.#global.random = random;
    return this;
  }

  /** Receives every event of the cache; see `CacheEvent`. Several listeners may be added. */
  onEvent(listener: CacheEventListener): this {
    this.#global.listeners.push(listener);
    this.#globalSet.add("onEvent");
    return this;
  }

  /**
   * Adds telemetry hooks (events, loader and tier tracing, size gauges); `@cachet/telemetry`
   * provides an OpenTelemetry one. Several may be added.
   */
  instrument(instrumentation: CacheInstrumentation): this {
    if (typeof instrumentation !== "object" || instrumentation === null) {
      throw invalid("`instrument` needs an instrumentation object");
    }
    this.#global.instrumentations.push(instrumentation);
    this.#globalSet.add("instrument");
    return this;
  }

  /**
   * Keeps the L1 of every instance coherent: after this instance's `insert`, `invalidate`, `clear`
   * or tag invalidation resolves, the bus tells the others, which expire their L1 copies (keeping
   * them for fail-safe) so their next read goes to the shared tier. Messages carry keys, not values.
   *
   * Keys travel as strings; for keys that are not strings pass `keys` to convert them.
   */
  bus(bus: CacheBus, options?: { keys?: BusKeys<K> }): this {
    if (
      typeof bus !== "object" ||
      bus === null ||
      typeof bus.publish !== "function" ||
      typeof bus.subscribe !== "function"
    ) {
      throw invalid("`bus` needs a CacheBus (publish, subscribe)");
    }
    assertKnownKeys(options, BUS_KEYS, "bus");
    this.#global.bus = bus;
    if (options?.keys !== undefined) this.#global.busKeys = options.keys;
    this.#globalSet.add("bus");
    return this;
  }

  /**
   * Fleet-wide stampede protection: concurrent misses on one key in different processes run the
   * loader once in the whole fleet. The process that takes `lock` loads; the others poll the shared
   * tiers every `pollInterval` for its result, and load by themselves if the lease runs out or the
   * lock service is unreachable. Needs a fallback (shared) tier.
   */
  distributedStampedeProtection(options: DistributedStampedeOptions): this {
    assertKnownKeys(options, LOCK_KEYS, "distributedStampedeProtection");
    this.#global.lock = options;
    this.#globalSet.add("distributedStampedeProtection");
    return this;
  }

  /**
   * How long tag invalidation times are kept in the shared tiers, so that instances starting later
   * still honour them. Must outlive the entries that carry tags.
   * @default the longest tier ttl plus the stale window, at least 1 hour (30 days without ttls)
   */
  tagMarkerTtl(ttl: Duration): this {
    this.#global.tagMarkerTtl = ttl;
    this.#globalSet.add("tagMarkerTtl");
    return this;
  }

  /**
   * How many writes a shared tier may owe this instance (see CONSISTENCY.md, write recovery):
   * past it, the recorded writes of that tier are replaced by one owed `clear` of it
   * (`write_overflow`), which never serves an old value but costs the tier's contents. A positive
   * integer.
   * @default 10_000
   */
  maxPendingWrites(limit: number): this {
    this.#global.maxPendingWrites = limit;
    this.#globalSet.add("maxPendingWrites");
    return this;
  }

  /** Include raw keys in events (they are hashed otherwise). @default false */
  eventKeys(include = true): this {
    return this.#setGlobal("eventKeys", include);
  }

  /**
   * Validates every option and builds the cache.
   * @throws CacheError `INVALID_OPTION` naming the first invalid option.
   */
  build(): Cache<K, V> {
    const g = this.#global;
    const clock = this.#clock ?? systemClock;
    if (typeof clock.now !== "function" || typeof clock.setTimeout !== "function") {
      throw invalid("`clock` must have `now`, `setTimeout` and `clearTimeout`");
    }
    const slots: TierSlot<K, V>[] = [];
    const seen = new Set<CacheBuilder<K, V>>();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking the fallback chain from this builder
    for (let b: CacheBuilder<K, V> | undefined = this; b !== undefined; b = b.#fallback) {
      if (seen.has(b)) throw invalid("`fallback` chain loops back on itself");
      seen.add(b);
      if (b !== this && b.#globalSet.size > 0) {
        throw invalid(`\`${[...b.#globalSet][0]}\` is a cache-wide option: set it on the outermost builder`);
      }
      slots.push(b.#slot(clock, slots.length, slots[slots.length - 1]?.ttl));
    }

    const name = g.name ?? "cache";
    if (typeof name !== "string" || name.length === 0) throw invalid("`name` must be a non-empty string");
    const ttl = slots[0]!.ttl;
    const timeToRefresh =
      g.timeToRefresh === undefined ? undefined : toPositiveMilliseconds(g.timeToRefresh, "timeToRefresh");
    if (timeToRefresh !== undefined && ttl !== undefined && timeToRefresh >= ttl) {
      throw invalid(`\`timeToRefresh\` (${timeToRefresh} ms) must be less than \`ttl\` (${ttl} ms)`);
    }
    const valueMode = g.valueMode ?? "freeze";
    if (!VALUE_MODES.includes(valueMode))
      throw invalid(`\`valueMode\` must be one of ${VALUE_MODES.join(", ")}`);
    const tierErrors = g.tierErrors ?? "miss";
    if (tierErrors !== "miss" && tierErrors !== "throw")
      throw invalid('`tierErrors` must be "miss" or "throw"');
    if (g.stampede !== undefined && typeof g.stampede !== "boolean")
      throw invalid("`stampedeProtection` must be a boolean");
    for (const listener of g.listeners) {
      if (typeof listener !== "function") throw invalid("`onEvent` needs a function");
    }
    const random = g.random ?? Math.random;
    if (typeof random !== "function") throw invalid("`ttlJitter` random source must be a function");

    const policy = this.#policy();
    assertTombstonesOutlastLoads(slots, policy.hardTimeout);
    // Each tier learns which cache it serves before that cache's first call: a RedisTier without a
    // prefix derives its namespace from a named cache (two caches never share keys by default),
    // and refuses an unnamed one or a second cache (INVALID_OPTION, thrown from here).
    for (const slot of slots) slot.tier.attach?.({ cacheName: name, isNamed: g.name !== undefined });
    const config: CacheConfig<K, V> = {
      name,
      clock,
      slots,
      timeToRefresh,
      stampedeProtection: g.stampede ?? true,
      valueMode,
      policy,
      tierErrors,
      listeners: g.listeners,
      eventKeys: g.eventKeys === true,
      ttlJitter: g.jitter === undefined ? 0 : toMilliseconds(g.jitter, "ttlJitter"),
      random,
      instrumentations: g.instrumentations,
      bus: g.bus,
      busKeys: g.busKeys ?? (STRING_KEYS as unknown as BusKeys<K>),
      lock: this.#lockConfig(slots.length, policy.hardTimeout),
      tagMarkerTtl: this.#markerTtl(slots, policy),
      maxPendingWrites: maxPendingWritesOf(g.maxPendingWrites),
    };
    return this.#create(config);
  }

  #lockConfig(tiers: number, hardTimeout: number | undefined): LockConfig | undefined {
    const options = this.#global.lock;
    if (options === undefined) return undefined;
    const lock = options.lock;
    if (
      typeof lock !== "object" ||
      lock === null ||
      typeof lock.tryAcquire !== "function" ||
      typeof lock.release !== "function"
    ) {
      throw invalid("`distributedStampedeProtection.lock` needs a DistributedLock (tryAcquire, release)");
    }
    if (tiers < 2) throw invalid("`distributedStampedeProtection` needs a fallback tier shared by the fleet");
    const lease = toPositiveMilliseconds(options.lease ?? 10_000, "distributedStampedeProtection.lease");
    const pollInterval = toPositiveMilliseconds(
      options.pollInterval ?? 50,
      "distributedStampedeProtection.pollInterval",
    );
    if (hardTimeout !== undefined && lease > hardTimeout) {
      throw invalid(
        `\`distributedStampedeProtection.lease\` (${lease} ms) must not exceed \`timeouts.hard\` (${hardTimeout} ms)`,
      );
    }
    if (pollInterval >= lease)
      throw invalid("`distributedStampedeProtection.pollInterval` must be less than `lease`");
    return { lock, lease, pollInterval };
  }

  #markerTtl(slots: readonly TierSlot<K, V>[], policy: LoadPolicy<V>): number {
    if (this.#global.tagMarkerTtl !== undefined)
      return toPositiveMilliseconds(this.#global.tagMarkerTtl, "tagMarkerTtl");
    if (slots.some((slot) => slot.ttl === undefined)) return 30 * 86_400_000;
    const longest = Math.max(...slots.map((slot) => slot.ttl!));
    const stale = Math.max(policy.swr, policy.failSafe?.maxStaleAge ?? 0);
    return Math.max(3_600_000, longest + stale);
  }

  #policy(): LoadPolicy<V> {
    const g = this.#global;
    const swr = g.swr === undefined ? 0 : toMilliseconds(g.swr, "staleWhileRevalidate");
    let failSafe: LoadPolicy<V>["failSafe"];
    if (g.failSafe !== undefined) {
      if (typeof g.failSafe !== "object" || g.failSafe === null)
        throw invalid("`failSafe` must be an options object");
      failSafe = {
        maxStaleAge: toPositiveMilliseconds(g.failSafe.maxStaleAge, "failSafe.maxStaleAge"),
        backoff:
          g.failSafe.backoff === undefined ? 10_000 : toMilliseconds(g.failSafe.backoff, "failSafe.backoff"),
      };
    }
    const soft =
      g.timeouts?.soft === undefined ? undefined : toPositiveMilliseconds(g.timeouts.soft, "timeouts.soft");
    const hard =
      g.timeouts?.hard === undefined ? undefined : toPositiveMilliseconds(g.timeouts.hard, "timeouts.hard");
    if (soft !== undefined && hard !== undefined && soft >= hard) {
      throw invalid(`\`timeouts.soft\` (${soft} ms) must be less than \`timeouts.hard\` (${hard} ms)`);
    }
    return {
      // Undefined: each tier applies its own default ttl unless a call or entry sets one.
      ttl: undefined,
      tags: undefined,
      swr,
      failSafe,
      hasFallback: g.failSafe !== undefined && "fallback" in g.failSafe,
      fallback: g.failSafe?.fallback,
      softTimeout: soft,
      hardTimeout: hard,
      negativeTtl:
        g.negativeTtl === undefined ? undefined : toPositiveMilliseconds(g.negativeTtl, "negativeTtl"),
    };
  }

  #slot(clock: Clock, index: number, inheritedTtl: number | undefined): TierSlot<K, V> {
    if (this.#sourceCount > 1) throw invalid("a builder takes one tier: call `memory()` or `storage()` once");
    const source = this.#source;
    if (source === undefined) {
      throw invalid(
        index === 0
          ? "no tier: call `memory({...})` or `storage(tier)`"
          : `fallback #${index} has no tier: call \`memory()\` or \`storage()\``,
      );
    }
    // A fallback tier without its own ttl uses the ttl of the tier above it.
    const ttl =
      this.#ttl === undefined
        ? inheritedTtl
        : toPositiveMilliseconds(this.#ttl, index === 0 ? "ttl" : `fallback #${index} ttl`);
    let tier: CacheTier<K, V>;
    if (source.kind === "memory") {
      if (typeof source.options !== "object" || source.options === null)
        throw invalid("`memory` needs options");
      tier = new MemoryTier<K & {}, V>({ ...source.options, clock });
    } else {
      tier = source.tier;
      const ok =
        typeof tier === "object" &&
        tier !== null &&
        typeof tier.get === "function" &&
        typeof tier.insert === "function" &&
        typeof tier.invalidate === "function" &&
        typeof tier.clear === "function";
      if (!ok) throw invalid("`storage` needs a CacheTier (get, insert, invalidate, clear)");
    }
    const name = typeof tier.name === "string" && tier.name.length > 0 ? tier.name : `tier${index}`;
    const promotion = this.#promotion ?? PromotionPolicy.always<V>();
    if (!(promotion instanceof PromotionPolicy)) throw invalid("`promotionPolicy` must be a PromotionPolicy");
    const timeout =
      this.#tierTimeout === undefined ? undefined : toPositiveMilliseconds(this.#tierTimeout, "tierTimeout");
    let breaker: CircuitBreaker | undefined;
    const breakerHook: { listener?: (state: string) => void } = {};
    const breakerOption = this.#breaker ?? (index > 0 ? {} : false);
    if (breakerOption instanceof CircuitBreaker) {
      // A breaker you made reports through its own onStateChange; the cache cannot hook it.
      breaker = breakerOption;
    } else if (breakerOption !== false) {
      const own = breakerOption.onStateChange;
      breaker = new CircuitBreaker({
        name,
        clock,
        ...breakerOption,
        onStateChange: (state, previous) => {
          breakerHook.listener?.(state);
          own?.(state, previous);
        },
      });
    }
    // An in-process tier without breaker or timeout is written directly on promotion.
    const direct = typeof tier.getSync === "function" && breaker === undefined && timeout === undefined;
    return {
      direct,
      tier,
      conditional: index > 0 ? conditionalOf(tier, name) : undefined,
      name,
      ttl,
      promotion,
      timeout,
      breaker,
      breakerHook,
      owned: source.kind === "memory" || source.close,
    };
  }

  #setGlobal<P extends keyof GlobalOptions<V>>(option: P, value: GlobalOptions<V>[P]): this {
    (this.#global as Record<string, unknown>)[option] = value;
    this.#globalSet.add(GLOBAL_NAMES[option] ?? option);
    return this;
  }
}

const GLOBAL_NAMES: Record<string, string> = {
  stampede: "stampedeProtection",
  swr: "staleWhileRevalidate",
  jitter: "ttlJitter",
};

/** The `maxPendingWrites` option, validated: a positive integer (default 10,000). */
function maxPendingWritesOf(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_MAX_PENDING_WRITES;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1)
    throw invalid(`\`maxPendingWrites\` must be a positive integer, got ${String(limit)}`);
  return limit;
}

/**
 * A shared tier's conditional writes, checked: an object with both methods and a positive
 * `tombstoneTtl`, or `undefined` when the tier has none.
 */
function conditionalOf<K, V>(tier: CacheTier<K, V>, name: string): ConditionalWrites<K, V> | undefined {
  const conditional = tier.conditionalWrites;
  if (conditional === undefined || conditional === null) return undefined;
  if (
    typeof conditional.getVersioned !== "function" ||
    typeof conditional.insertIfVersion !== "function" ||
    !(conditional.tombstoneTtl > 0)
  ) {
    throw invalid(
      `tier \`${name}\`: \`conditionalWrites\` needs getVersioned, insertIfVersion and a positive tombstoneTtl`,
    );
  }
  return conditional;
}

/**
 * A load that read a key before an invalidation must still find its tombstone when it writes
 * back; a load may run until the hard timeout, so every tombstone must last at least that long.
 * (A longer load is not wrong, only wasted: its write-back is refused as `expired-token`.)
 */
function assertTombstonesOutlastLoads<K, V>(
  slots: readonly TierSlot<K, V>[],
  hard: number | undefined,
): void {
  if (hard === undefined) return;
  for (const slot of slots) {
    const ttl = slot.conditional?.tombstoneTtl;
    if (ttl !== undefined && ttl < hard) {
      throw invalid(
        `tier \`${slot.name}\`: its \`conditionalWrites.tombstoneTtl\` (${ttl} ms) must be at least \`timeouts.hard\` (${hard} ms), so that a load still running finds the tombstone of an invalidation that came after its read`,
      );
    }
  }
}

function invalid(message: string): CacheError {
  return new CacheError("INVALID_OPTION", message);
}
