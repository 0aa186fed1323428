/**
 * Wires a cache's collaborators from its config, in dependency order: counters and emitter, bus
 * link, tier guard, write recovery, tag ledger, tier stack, load coordinator (with the fleet lock),
 * shared reads, L1 coherence, explicit writes.
 *
 * Owns construction only; it keeps no state and must never import the `Cache` facade (the facade
 * passes in the two things the parts need from it: L1's vetted read and whether it is closed).
 */
import type { CacheEventListener } from "@cachet/tier";
import { BusLink } from "./bus-link.js";
import type { CacheConfig } from "./cache-config.js";
import { CacheEmitter, composeTrace } from "./cache-emitter.js";
import { CacheCounters } from "./cache-stats.js";
import { BackgroundWork } from "./background-work.js";
import { ExplicitWrites } from "./explicit-writes.js";
import { FleetLock } from "./fleet-lock.js";
import { KeyFences } from "./key-fences.js";
import { L1Coherence } from "./l1-coherence.js";
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
  readonly coherence: L1Coherence<K, V>;
  readonly bus: BusLink<K>;
  readonly writes: ExplicitWrites<K, V>;
}

/** What the parts need from the facade. */
export interface FacadeHooks<K, V> {
  /** The listener array the facade's `on()` adds to (shared by reference). */
  readonly listeners: CacheEventListener[];
  /** L1's synchronous vetted read, when L1 has `getSync`. */
  readonly readL1: L1Reader<K, V> | undefined;
  readonly isClosed: () => boolean;
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
  const bus = new BusLink<K>({ name: config.name, bus: config.bus, keys: config.busKeys, emitter });
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
    publish: (message) => bus.publish(message),
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
  const coherence = new L1Coherence<K, V>({
    l1: slots[0]!,
    readL1: facade.readL1,
    policy: config.policy,
    clock,
    reads,
    loads,
    tags,
    recovery,
  });
  const writes = new ExplicitWrites<K, V>({
    clock,
    policy: config.policy,
    valueMode: config.valueMode,
    stack,
    tags,
    loads,
    coherence,
    recovery,
    bus,
    emitter,
  });
  return {
    counters,
    emitter,
    fences,
    background,
    tags,
    stack,
    loads,
    reads,
    recovery,
    coherence,
    bus,
    writes,
  };
}
