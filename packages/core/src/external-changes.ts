/**
 * External changes: what the cache does when a lower tier reports that keys changed in its backend
 * outside this cache (the optional `externalChanges` capability of the tier contract; `RedisTier`
 * offers it with `tracking`).
 *
 * Owns the subscriptions to those tiers and the gate of the tiers above them. It must never let a
 * tier above a blind tier (one that reports `isWatching: false`) take a copy that a missed change
 * could outdate: while any tier below is blind, the gated tiers' writes become removals (entries
 * kept by fail-safe excepted: they are always served as stale). It must never add work to an L1
 * hit: the gate wraps only the writes of the tiers above, and hands their synchronous read through
 * unchanged.
 *
 * The read-then-invalidate race (a change reported while a read that will fill L1 is in flight) is
 * closed by the write fences: every reported key is superseded, so a promotion or load that took
 * its ticket before the report no longer writes (see `key-fences.ts`).
 */
import type { CacheEntry, CacheTier, ExternalChange } from "@cachet/tier";
import type { CacheConfig, TierSlot } from "./cache-config.js";
import type { CacheEmitter } from "./cache-emitter.js";
import { noop } from "./background-work.js";
import { isKeptByFailSafe } from "./entry-helpers.js";

/** What the watch needs from the facade: the same steps as a bus message. @internal */
export interface ExternalChangeHooks<K> {
  readonly emitter: CacheEmitter<K>;
  /** One key changed elsewhere: fence it, tell the write recovery, expire L1's copy. */
  readonly changed: (key: K) => void;
  /** Anything may have changed: fence every key, tell the write recovery, clear L1. */
  readonly changedAll: () => void;
}

/** @internal */
export class ExternalChangeWatch<K, V> {
  /** The config with the tiers above a watched tier gated; hand it to the parts. */
  readonly config: CacheConfig<K, V>;
  /** Indexes of the watched tiers that are blind now. */
  readonly #blind = new Set<number>();
  readonly #watched: readonly number[];

  /** Returns `undefined` when no tier below L1 reports external changes (nothing to wire). */
  static over<K, V>(config: CacheConfig<K, V>): ExternalChangeWatch<K, V> | undefined {
    const watched: number[] = [];
    config.slots.forEach((slot, i) => {
      if (i > 0 && slot.tier.externalChanges !== undefined) watched.push(i);
    });
    return watched.length === 0 ? undefined : new ExternalChangeWatch(config, watched);
  }

  private constructor(config: CacheConfig<K, V>, watched: readonly number[]) {
    this.#watched = watched;
    const lowest = Math.max(...watched);
    const slots = config.slots.map((slot, j): TierSlot<K, V> => {
      if (j >= lowest) return slot;
      return { ...slot, tier: new GatedTier(slot.tier, () => this.#isBlindBelow(j)) };
    });
    for (const i of watched) if (!config.slots[i]!.tier.externalChanges!.isWatching) this.#blind.add(i);
    this.config = { ...config, slots };
  }

  /** Subscribes to every watched tier; returns the function that unsubscribes from all of them. */
  start(hooks: ExternalChangeHooks<K>): () => void {
    const offs = this.#watched.map((i) => {
      const slot = this.config.slots[i]!;
      return slot.tier.externalChanges!.subscribe((change) => this.#onChange(i, slot.name, change, hooks));
    });
    return () => {
      for (const off of offs) off();
    };
  }

  #isBlindBelow(j: number): boolean {
    if (this.#blind.size === 0) return false;
    for (const i of this.#blind) if (i > j) return true;
    return false;
  }

  #onChange(index: number, tier: string, change: ExternalChange<K>, hooks: ExternalChangeHooks<K>): void {
    const { emitter } = hooks;
    if (change.type === "keys") {
      for (const key of change.keys) {
        hooks.changed(key);
        // Tiers between L1 and the reporting tier (rare) lose their copy outright.
        for (let j = 1; j < index; j++) void this.config.slots[j]!.tier.invalidate(key).catch(noop);
        emitter.emit("external_change", "external", key, tier);
      }
      return;
    }
    // Blind from the moment the tier says so: the gate closes before L1 is cleared, so nothing
    // read meanwhile can refill it.
    if (change.isWatching) this.#blind.delete(index);
    else this.#blind.add(index);
    hooks.changedAll();
    for (let j = 1; j < index; j++) void this.config.slots[j]!.tier.clear().catch(noop);
    emitter.emit("external_reset", "external", undefined, tier, {
      reason: `${change.reason}: ${change.detail}`,
    });
  }
}

/**
 * A tier above a watched tier: reads pass through untouched (the same `getSync` function, so an
 * L1 hit costs nothing more), writes are dropped (as removals) while `isBlind()`.
 */
class GatedTier<K, V> implements CacheTier<K, V> {
  readonly name: string;
  readonly getSync?: (key: K) => CacheEntry<V> | undefined;
  readonly size?: () => number | Promise<number>;
  readonly getMany?: (keys: readonly K[]) => Promise<(CacheEntry<V> | undefined)[]>;
  readonly invalidateMany?: (keys: readonly K[]) => Promise<void>;
  readonly onReady?: (listener: () => void) => () => void;
  readonly close?: () => Promise<void>;
  readonly #tier: CacheTier<K, V>;
  readonly #isBlind: () => boolean;

  constructor(tier: CacheTier<K, V>, isBlind: () => boolean) {
    this.#tier = tier;
    this.#isBlind = isBlind;
    this.name = tier.name;
    if (tier.getSync) this.getSync = tier.getSync.bind(tier);
    if (tier.size) this.size = tier.size.bind(tier);
    if (tier.getMany) this.getMany = tier.getMany.bind(tier);
    if (tier.invalidateMany) this.invalidateMany = tier.invalidateMany.bind(tier);
    if (tier.onReady) this.onReady = tier.onReady.bind(tier);
    if (tier.close) this.close = tier.close.bind(tier);
  }

  get(key: K): Promise<CacheEntry<V> | undefined> {
    return this.#tier.get(key);
  }

  insert(key: K, entry: CacheEntry<V>): Promise<void> {
    if (this.#isBlind() && !isKeptByFailSafe(entry)) return this.#tier.invalidate(key);
    return this.#tier.insert(key, entry);
  }

  async insertMany(entries: readonly (readonly [K, CacheEntry<V>])[]): Promise<void> {
    const tier = this.#tier;
    const blind = this.#isBlind();
    const kept = blind ? entries.filter(([, entry]) => isKeptByFailSafe(entry)) : entries;
    const dropped = blind ? entries.filter(([, entry]) => !isKeptByFailSafe(entry)) : [];
    await Promise.all([
      kept.length === 0
        ? undefined
        : tier.insertMany
          ? tier.insertMany(kept)
          : Promise.all(kept.map(([key, entry]) => tier.insert(key, entry))),
      ...dropped.map(([key]) => tier.invalidate(key)),
    ]);
  }

  invalidate(key: K): Promise<void> {
    return this.#tier.invalidate(key);
  }

  clear(): Promise<void> {
    return this.#tier.clear();
  }
}
