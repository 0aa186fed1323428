/**
 * Wires a cache's collaborators from its config, in dependency order: counters and emitter, tier
 * guard, write recovery, tag ledger, tier stack, load coordinator (with the fleet lock), shared reads.
 *
 * Owns construction only; it keeps no state and must never import the `Cache` facade (the facade
 * passes in the two things the parts need from it: L1's vetted read and whether it is closed).
 */
import type { CacheBusMessage, CacheEventListener } from "@cachet/tier";
import type { CacheConfig } from "./cache-config.js";
import { CacheEmitter, composeTrace } from "./cache-emitter.js";
import { CacheCounters } from "./cache-stats.js";
import { BackgroundWork } from "./background-work.js";
import { FleetLock } from "./fleet-lock.js";
import { KeyFences } from "./key-fences.js";
import { LoadCoordinator } from "./load-coordinator.js";
import { SharedReads } from "./shared-reads.js";
import { TagLedger } from "./tag-ledger.js";
import { TierGuard } from "./tier-guard.js";
import { TierStack } from "./tier-stack.js";
import type { L1Reader } from "./tier-stack.js";
import { WriteRecovery } from "./write-recovery.js";
import { VersionedWrites } from "./versioned-writes.js";

/** Everything behind the facade. @internal */
export interface CacheParts<K, V> {
  readonly counters: CacheCounters;
  readonly emitter: CacheEmitter<K>;
  readonly fences: KeyFences<K>;
  readonly background: BackgroundWork;
  readonly tags: TagLedger<K, V>;
  readonly stack: TierStack<K, V>;
  readonly loads: LoadCoordinator<K, V>;
  readonly reads: SharedReads<K, V>;
  readonly recovery: WriteRecovery<K, V>;
}

/** What the parts need from the facade. */
export interface FacadeHooks<K, V> {
  /** The listener array the facade's `on()` adds to (shared by reference). */
  readonly listeners: CacheEventListener[];
  /** L1's synchronous vetted read, when L1 has `getSync`. */
  readonly readL1: L1Reader<K, V> | undefined;
  readonly isClosed: () => boolean;
  /** Sends a bus message (held back by a pending write until its replay). */
  readonly publish: (message: CacheBusMessage) => Promise<void>;
}

/** @internal */
export function createCacheParts<K, V>(
  config: CacheConfig<K, V>,
  facade: FacadeHooks<K, V>,
): CacheParts<K, V> {
  const { clock, slots } = config;
  const counters = new CacheCounters(slots.length);
  const emitter = new CacheEmitter<K>({
    cache: config.name,
    listeners: facade.listeners,
    eventKeys: config.eventKeys,
  });
  for (const slot of slots) {
    slot.breakerHook.listener = (state) => {
      if (state === "open") emitter.emit("breaker_open", "get", undefined, slot.name);
      else if (state === "closed") emitter.emit("breaker_closed", "get", undefined, slot.name);
    };
  }
  const fences = new KeyFences<K>();
  const background = new BackgroundWork();
  const guard = new TierGuard<K, V>({
    clock,
    tierErrors: config.tierErrors,
    counters,
    emitter,
    traceTier: composeTrace(config.instrumentations, "traceTier"),
  });
  const versioned = new VersionedWrites<K, V>({ slots, guard, emitter, counters, fences, background });
  const recovery = new WriteRecovery<K, V>({
    slots,
    guard,
    versioned,
    clock,
    emitter,
    counters,
    background,
    publish: facade.publish,
    overflowNotice: config.bus === undefined ? undefined : { type: "clear", cache: config.name },
    maxPending: config.maxPendingWrites,
  });
  const tags = new TagLedger<K, V>({
    cache: config.name,
    slots,
    guard,
    recovery,
    markerTtl: config.tagMarkerTtl,
  });
  const stack = new TierStack<K, V>({
    slots,
    clock,
    guard,
    tags,
    fences,
    counters,
    emitter,
    background,
    valueMode: config.valueMode,
    jitter: config.ttlJitter,
    random: config.random,
    readL1: facade.readL1,
    recovery,
    versioned,
  });
  const loads = new LoadCoordinator<K, V>({
    stack,
    fences,
    tags,
    counters,
    emitter,
    background,
    clock,
    policy: config.policy,
    valueMode: config.valueMode,
    stampede: config.stampedeProtection,
    timeToRefresh: config.timeToRefresh,
    traceLoader: composeTrace(config.instrumentations, "traceLoader"),
    fleetLock:
      config.lock === undefined
        ? undefined
        : new FleetLock<K, V>({
            config: config.lock,
            cache: config.name,
            keys: config.busKeys,
            clock,
            emitter,
          }),
    isClosed: facade.isClosed,
  });
  const reads = new SharedReads<K, V>({
    stack,
    loads,
    fences,
    counters,
    emitter,
    clock,
    policy: config.policy,
    valueMode: config.valueMode,
    stampede: config.stampedeProtection,
    timeToRefresh: config.timeToRefresh,
  });
  return { counters, emitter, fences, background, tags, stack, loads, reads, recovery };
}
