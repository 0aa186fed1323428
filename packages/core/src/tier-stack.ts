/**
 * The tier stack: the cache's tiers in order, and every multi-tier read and write after an L1
 * miss — read down the tiers, promote a lower hit upwards, write all tiers, write many keys.
 *
 * Owns the order of tier calls and ttl handling per tier (tier default ttls, jitter, capping a
 * promoted copy so it never outlives its source). Every call goes through the {@link TierGuard}.
 * It must never start a load or decide on staleness for a caller (that is the load coordinator's
 * job), and never write without a current fence ticket when the write may race a newer one.
 *
 * About 640 lines, over the house's ~400: the single-key read is a chain of small steps (one per
 * outcome of a tier read, see `readFrom`) rather than one async loop, and has a fused form
 * (`readThen`, with `TierAnswer` in `tier-answer.ts`), because it runs on every L1 miss. Next split:
 * the single-key read (`readFrom`, `readThen` and their steps) into its own module.
 */
import type { CacheEntry, Clock, Milliseconds } from "@cachet/tier";
import type { CacheError } from "@cachet/tier";
import type { CacheOperationName } from "@cachet/tier";
import type { CacheEmitter } from "./cache-emitter.js";
import type { TierSlot } from "./cache-config.js";
import type { CacheCounters } from "./cache-stats.js";
import {
  asStale,
  capTtl,
  isKeptByFailSafe,
  isNegative,
  newest,
  outEntry,
  shareEntry,
} from "./entry-helpers.js";
import type { FenceTicket, KeyFences } from "./key-fences.js";
import type { BackgroundWork } from "./background-work.js";
import { noop } from "./background-work.js";
import type { TagLedger } from "./tag-ledger.js";
import type { TierGuard } from "./tier-guard.js";
import type { ValueMode } from "./value-mode.js";
import type { WriteRecovery } from "./write-recovery.js";
import type { VersionBook, VersionedWrites } from "./versioned-writes.js";
import type { CacheBusMessage } from "@cachet/tier";
import { TierAnswer } from "./tier-answer.js";

/** What a read down the tiers found. */
export interface TierRead<V> {
  /** The fresh entry found (already promoted), if any. */
  readonly entry: CacheEntry<V> | undefined;
  /** The tier that answered, or -1. */
  readonly index: number;
  /** The newest expired entry met on the way, a candidate for stale serving. */
  readonly stale: CacheEntry<V> | undefined;
}

/** Placeholder where the fused read served an entry without a {@link TierRead}. */
const NO_READ: TierRead<never> = { entry: undefined, index: -1, stale: undefined };

/** What {@link TierStack.readFrom} is asked: the first tier, the operation, the caller's fence ticket. */
export interface TierReadRequest<K> {
  readonly from: number;
  readonly operation: CacheOperationName;
  readonly ticket: FenceTicket<K>;
  /**
   * Where a tier with conditional writes is read with its version, and that version noted (the read
   * a later write-back or promotion into that tier is conditioned on); absent: plain reads.
   */
  readonly versions?: VersionBook | undefined;
}

/**
 * A read down the tiers that takes what it found in the tier call's own continuation (see
 * {@link TierStack.readThen}): the request, and where its outcome goes.
 */
export interface TierReadSink<K, V, R> extends TierReadRequest<K> {
  /** What the read found (as {@link TierRead}); its result is the read's. */
  found(entry: CacheEntry<V> | undefined, index: number, stale: CacheEntry<V> | undefined): R;
  /** The read failed (a tier error under `.tierErrors("throw")`, a closed tier): returns or throws. */
  failed(error: unknown): R;
}

/** One key's write in a batch, with the ticket that fences it and the versions it read. */
export type FencedWrite<K, V> = readonly [
  key: K,
  entry: CacheEntry<V>,
  ticket: FenceTicket<K>,
  versions?: VersionBook | undefined,
];

/** A synchronous, vetted read of L1 (the facade's; errors already reported as misses). */
export type L1Reader<K, V> = (key: K, operation: CacheOperationName) => CacheEntry<V> | undefined;

/** @internal */
export class TierStack<K, V> {
  readonly slots: readonly TierSlot<K, V>[];
  readonly #clock: Clock;
  readonly #guard: TierGuard<K, V>;
  readonly #tags: TagLedger<K, V>;
  readonly #fences: KeyFences<K>;
  readonly #counters: CacheCounters;
  readonly #emitter: CacheEmitter<K>;
  readonly #background: BackgroundWork;
  readonly #valueMode: ValueMode;
  readonly #jitter: Milliseconds;
  readonly #random: () => number;
  readonly #readL1: L1Reader<K, V> | undefined;
  readonly #recovery: WriteRecovery<K, V>;
  readonly versioned: VersionedWrites<K, V>;

  constructor(options: {
    slots: readonly TierSlot<K, V>[];
    clock: Clock;
    guard: TierGuard<K, V>;
    tags: TagLedger<K, V>;
    fences: KeyFences<K>;
    counters: CacheCounters;
    emitter: CacheEmitter<K>;
    background: BackgroundWork;
    valueMode: ValueMode;
    jitter: Milliseconds;
    random: () => number;
    readL1: L1Reader<K, V> | undefined;
    recovery: WriteRecovery<K, V>;
    versioned: VersionedWrites<K, V>;
  }) {
    this.slots = options.slots;
    this.#clock = options.clock;
    this.#guard = options.guard;
    this.#tags = options.tags;
    this.#fences = options.fences;
    this.#counters = options.counters;
    this.#emitter = options.emitter;
    this.#background = options.background;
    this.#valueMode = options.valueMode;
    this.#jitter = options.jitter;
    this.#random = options.random;
    this.#readL1 = options.readL1;
    this.#recovery = options.recovery;
    this.versioned = options.versioned;
  }

  /**
   * Asks tiers `from..n` in order until one has a fresh entry, promoting it into the tiers above
   * (if `ticket` is still current). Expired entries met on the way are remembered as stale candidates.
   * With `versions`, a tier with conditional writes is read with its version, noted there (the read
   * a later write-back or promotion into that tier is conditioned on).
   *
   * Written as a chain of one `then` per tier asked rather than an `async` loop: this runs on every
   * L1 miss, and an async frame (its promise, its saved registers, one more hop) cost about a tenth
   * of the miss path's own work (see `packages/bench/PROFILE.md`).
   */
  readFrom(key: K, read: TierReadRequest<K>): Promise<TierRead<V>> {
    try {
      const found = this.#readTier(key, read, read.from, undefined);
      return found instanceof Promise ? found : Promise.resolve(found);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * {@link TierStack.readFrom}, handing what it found to `sink` in the same continuation. In the
   * default configuration (the first tier asked read without a trace hook or timeout, not owed a
   * write, not read with its version) the guard's breaker and failure policy, this stack's vetting
   * and promotion and the caller's answer all run in ONE `then` on the tier's own promise, where
   * the general path chains three (guard, stack, caller): this is the read of every L1 miss, and
   * each layer's promise, reaction and closures were most of cachet's bytes on it
   * (`packages/bench/PROFILE.md`). Anything else, and every tier after the first, takes the
   * general path, with the same outcome.
   */
  readThen<R>(key: K, sink: TierReadSink<K, V, R>): Promise<Awaited<R>> {
    const i = sink.from;
    const slot = this.slots[i];
    const guard = this.#guard;
    try {
      if (
        slot === undefined ||
        !guard.readsDirect(slot) ||
        (sink.versions !== undefined && slot.conditional !== undefined) ||
        this.#recovery.blocks(i, key)
      )
        return this.#settle(Promise.resolve(this.#readTier(key, sink, i, undefined)), sink);
      if (i > 0 && this.#emitter.observed()) this.#emitter.emit("fallback", sink.operation, key, slot.name);
      const skipped = guard.admitRead(slot, i, key, sink.operation);
      if (skipped !== undefined)
        return this.#settle(
          skipped.then((entry) => this.#found(key, sink, i, undefined, entry)),
          sink,
        );
    } catch (error) {
      return this.#settle(Promise.reject(error), sink);
    }
    const tier = slot.tier;
    if (tier.getInto !== undefined) {
      // The tier answers into the read itself: no promise of the tier's, no reaction on one.
      const answer = new TierAnswer(this, key, sink);
      try {
        tier.getInto(key, answer);
      } catch (error) {
        answer.failed(error);
      }
      return answer.promise;
    }
    let reading: Promise<CacheEntry<V> | undefined>;
    try {
      reading = tier.get(key);
    } catch (error) {
      // A tier that throws instead of rejecting failed like one that rejects (breaker, policy).
      reading = Promise.reject(error);
    }
    return reading.then(
      (entry) => this.answered(key, sink, entry),
      (error: unknown) => this.erred(key, sink, error),
    ) as Promise<Awaited<R>>;
  }

  /**
   * The fused read's tier (`sink.from`) answered: the guard's success, then this stack's vetting
   * and promotion, then `sink`. Throws only what `sink.failed` throws. @internal
   */
  answered<R>(
    key: K,
    sink: TierReadSink<K, V, R>,
    entry: CacheEntry<V> | undefined,
  ): R | Promise<Awaited<R>> {
    const i = sink.from;
    // `sink` is called outside the `try`: it leaves its fence exactly once, answer or failure.
    let found: TierRead<V> | Promise<TierRead<V>>;
    let served: CacheEntry<V> | undefined;
    try {
      this.#guard.readSucceeded(this.slots[i]!, i);
      if (entry !== undefined && entry.tags.length === 0) {
        // The common hit, without a `TierRead` in between (as `#found` then `#fresh`).
        const now = this.#clock.now();
        if (!entry.isExpiredAt(now)) served = this.#serve(key, sink, i, entry, now);
      }
      found = served === undefined ? this.#found(key, sink, i, undefined, entry) : NO_READ;
    } catch (thrown) {
      return sink.failed(thrown);
    }
    if (served !== undefined) return sink.found(served, i, undefined);
    return found instanceof Promise
      ? this.#settle(found, sink)
      : sink.found(found.entry, found.index, found.stale);
  }

  /** The fused read's tier failed: the guard's failure policy, then a miss, or `sink.failed`. @internal */
  erred<R>(key: K, sink: TierReadSink<K, V, R>, error: unknown): R | Promise<Awaited<R>> {
    const i = sink.from;
    let found: TierRead<V> | Promise<TierRead<V>>;
    try {
      this.#guard.readFailed(error, this.slots[i]!, i, key, sink.operation);
      found = this.#found(key, sink, i, undefined, undefined);
    } catch (thrown) {
      return sink.failed(thrown);
    }
    return found instanceof Promise
      ? this.#settle(found, sink)
      : sink.found(found.entry, found.index, found.stale);
  }

  /** Hands the general path's outcome to `sink`. */
  #settle<R>(found: Promise<TierRead<V>>, sink: TierReadSink<K, V, R>): Promise<Awaited<R>> {
    return found.then(
      (read) => sink.found(read.entry, read.index, read.stale),
      (error: unknown) => sink.failed(error),
    ) as Promise<Awaited<R>>;
  }

  /** Reads tier `i`, or on a miss the next tier that may answer; resolves when one has a fresh entry. */
  #readTier(
    key: K,
    read: TierReadRequest<K>,
    from: number,
    stale: CacheEntry<V> | undefined,
  ): TierRead<V> | Promise<TierRead<V>> {
    const emitter = this.#emitter;
    for (let i = from; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (i > 0 && emitter.observed()) emitter.emit("fallback", read.operation, key, slot.name);
      // This process owes the tier a write of this key: what it holds is what that write replaced.
      if (this.#recovery.blocks(i, key)) {
        this.#missed(i, read.operation, key);
        continue;
      }
      const reading =
        read.versions !== undefined && slot.conditional !== undefined
          ? this.versioned.read(i, key, read.operation, read.versions)
          : this.#guard.get(slot, i, key, read.operation);
      return reading.then((entry) => this.#found(key, read, i, stale, entry));
    }
    return { entry: undefined, index: -1, stale };
  }

  /** What tier `i` answered: vetted against tag times, then served, or the next tier asked. */
  #found(
    key: K,
    read: TierReadRequest<K>,
    i: number,
    stale: CacheEntry<V> | undefined,
    entry: CacheEntry<V> | undefined,
  ): TierRead<V> | Promise<TierRead<V>> {
    if (entry === undefined) {
      this.#missed(i, read.operation, key);
      return this.#readTier(key, read, i + 1, stale);
    }
    if (entry.tags.length === 0) return this.#fresh(key, read, i, stale, entry, this.#clock.now());
    if (this.slots.length > 1) {
      return this.#tags
        .loadStates(entry.tags, this.#clock.now())
        .then(() => this.#vetted(key, read, i, stale, entry));
    }
    return this.#vetted(key, read, i, stale, entry);
  }

  /** A tagged entry, once its tags' times are known: a miss if a tag operation came after it. */
  #vetted(
    key: K,
    read: TierReadRequest<K>,
    i: number,
    stale: CacheEntry<V> | undefined,
    entry: CacheEntry<V>,
  ): TierRead<V> | Promise<TierRead<V>> {
    const now = this.#clock.now();
    const vetted = (entry.cachedAt ?? 0) > this.#tags.latestTagAt ? entry : this.#tags.vet(entry);
    if (vetted === undefined) {
      this.#missed(i, read.operation, key);
      return this.#readTier(key, read, i + 1, stale);
    }
    return this.#fresh(key, read, i, stale, vetted, now);
  }

  /** A fresh entry is shared, promoted and served; an expired one is a stale candidate. */
  #fresh(
    key: K,
    read: TierReadRequest<K>,
    i: number,
    stale: CacheEntry<V> | undefined,
    entry: CacheEntry<V>,
    now: number,
  ): TierRead<V> | Promise<TierRead<V>> {
    if (!entry.isExpiredAt(now)) return { entry: this.#serve(key, read, i, entry, now), index: i, stale };
    this.#counters.tiers[i]!.misses++;
    if (this.#emitter.observed()) this.#emitter.emit("expired", read.operation, key, this.slots[i]!.name);
    return this.#readTier(key, read, i + 1, newest(stale, entry));
  }

  /** A fresh entry from tier `i`: counted, shared, promoted; what the caller is handed. */
  #serve(key: K, read: TierReadRequest<K>, i: number, entry: CacheEntry<V>, now: number): CacheEntry<V> {
    const { operation } = read;
    const emitter = this.#emitter;
    const slot = this.slots[i]!;
    this.#counters.tiers[i]!.hits++;
    if (emitter.observed()) emitter.emit("hit", operation, key, slot.name);
    let shared = shareEntry(entry, this.#valueMode);
    if (i > 0) this.promote(key, shared, i, read.ticket, now, operation, read.versions);
    if (isKeptByFailSafe(shared)) {
      // Kept by fail-safe past its ttl: it reads as stale, whichever tier holds it.
      this.#counters.staleServed++;
      if (emitter.observed()) emitter.emit("stale_served", operation, key, slot.name);
      shared = asStale(shared);
    }
    return shared;
  }

  #missed(i: number, operation: CacheOperationName, key: K): void {
    this.#counters.tiers[i]!.misses++;
    if (this.#emitter.observed()) this.#emitter.emit("miss", operation, key, this.slots[i]!.name);
  }

  /**
   * Reads many keys: L1 answers what it can, then each lower tier is asked for the rest in one batch
   * call. Hits are promoted; remembered absences come back `undefined`. Results follow `keys`.
   */
  async readMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    const emitter = this.#emitter;
    const results = new Array<CacheEntry<V> | undefined>(keys.length);
    let pending: number[] = keys.map((_, i) => i);
    const now = this.#clock.now();
    for (let t = 0; t < this.slots.length && pending.length > 0; t++) {
      const slot = this.slots[t]!;
      const batchKeys = pending.map((i) => keys[i]!);
      const tickets = t > 0 ? batchKeys.map((key) => this.#fences.acquire(key)) : undefined;
      let found: (CacheEntry<V> | undefined)[];
      try {
        const readL1 = this.#readL1;
        found =
          t === 0 && readL1 !== undefined
            ? batchKeys.map((key) => readL1(key, "getMany"))
            : await this.#readUnblocked(slot, t, batchKeys);
      } finally {
        if (tickets) for (const ticket of tickets) this.#fences.release(ticket);
      }
      // Lower tiers' entries go through the tag times as in `readFrom` (L1 reads are vetted already).
      if (t > 0) found = await this.#vetMany(found);
      const still: number[] = [];
      const at = this.#clock.now();
      for (let j = 0; j < pending.length; j++) {
        const index = pending[j]!;
        const entry = found[j];
        if (entry !== undefined && !entry.isExpiredAt(Math.max(now, at))) {
          if (emitter.observed()) emitter.emit("hit", "getMany", keys[index], slot.name);
          this.#counters.tiers[t]!.hits++;
          this.#counters.hits++;
          if (t > 0 && tickets) this.promote(keys[index]!, entry, t, tickets[j]!, at, "getMany", undefined);
          if (isKeptByFailSafe(entry)) {
            this.#counters.staleServed++;
            if (emitter.observed()) emitter.emit("stale_served", "getMany", keys[index], slot.name);
            results[index] = asStale(outEntry(entry, this.#valueMode));
          } else {
            results[index] = outEntry(entry, this.#valueMode);
          }
        } else {
          if (emitter.observed())
            emitter.emit(entry === undefined ? "miss" : "expired", "getMany", keys[index], slot.name);
          this.#counters.tiers[t]!.misses++;
          still.push(index);
        }
      }
      pending = still;
    }
    this.#counters.misses += pending.length;
    return results.map((entry) => (entry !== undefined && isNegative(entry) ? undefined : entry));
  }

  /** Applies the tag times to a lower tier's batch of entries, loading unknown tags' times first. */
  async #vetMany(found: (CacheEntry<V> | undefined)[]): Promise<(CacheEntry<V> | undefined)[]> {
    const tags = new Set<string>();
    for (const entry of found) if (entry !== undefined) for (const tag of entry.tags) tags.add(tag);
    if (tags.size === 0) return found;
    await this.#tags.loadStates([...tags], this.#clock.now());
    return found.map((entry) =>
      entry === undefined || entry.tags.length === 0 || (entry.cachedAt ?? 0) > this.#tags.latestTagAt
        ? entry
        : this.#tags.vet(entry),
    );
  }

  /**
   * Copies `entry`, found in tier `index` (at `now`, by `operation`, under `ticket`), into the tiers
   * above it that accept it. A tier with conditional writes takes it only on the version `versions`
   * holds for it (none: no copy). Positional parameters, not an options object: this runs on every
   * lower-tier hit.
   */
  promote(
    key: K,
    entry: CacheEntry<V>,
    index: number,
    ticket: FenceTicket<K>,
    now: number,
    operation: CacheOperationName,
    versions: VersionBook | undefined,
  ): void {
    if (!this.#fences.isCurrent(ticket)) return;
    const emitter = this.#emitter;
    for (let j = index - 1; j >= 0; j--) {
      const slot = this.slots[j]!;
      if (!slot.promotion.shouldPromote(entry)) continue;
      const copy = capTtl(entry, slot.ttl, now);
      if (slot.direct) {
        // An in-process tier without breaker or timeout: its insert is done when called. One with
        // `insertSync` is called without a promise at all (no `.catch` on a settled promise).
        const tier = slot.tier;
        if (tier.insertSync !== undefined) {
          try {
            tier.insertSync(key, copy);
          } catch (error) {
            this.#guard.failed(error, slot, j, { operation, key });
            continue;
          }
        } else {
          tier
            .insert(key, copy)
            .catch((error: unknown) => this.#guard.failed(error, slot, j, { operation, key }));
        }
        if (emitter.observed()) emitter.emit("promotion", operation, key, slot.name);
      } else if (slot.conditional !== undefined) {
        const version = versions?.[j];
        if (version === undefined) continue;
        this.#background.track(this.versioned.write(j, key, copy, { version, operation, ticket }));
      } else {
        this.#background.track(
          this.#guard
            .call(slot, j, () => slot.tier.insert(key, copy), { operation, key })
            .then((error) => {
              if (error === undefined && emitter.observed())
                emitter.emit("promotion", operation, key, slot.name);
            }),
        );
      }
    }
  }

  /**
   * Replaces what tiers `0..index` hold for `key` with `entry` (a refresh found it below them),
   * ignoring promotion policies: the upper tiers held an older copy.
   */
  replaceAbove(key: K, entry: CacheEntry<V>, index: number, versions: VersionBook | undefined): void {
    const now = this.#clock.now();
    const operation = "refresh";
    for (let j = index; j >= 0; j--) {
      const slot = this.slots[j]!;
      const copy = capTtl(entry, slot.ttl, now);
      this.#background.track(
        slot.conditional !== undefined
          ? this.versioned.write(j, key, copy, { version: versions?.[j], operation })
          : this.#guard.call(slot, j, () => slot.tier.insert(key, copy), { operation, key }),
      );
    }
  }

  /**
   * Writes `entry` to every tier (or tiers `0..upTo`) at once. All tier calls are issued
   * synchronously, so a later write to the same key is issued after this one on every tier.
   * `explicit`: the caller asked for this write (insert), so failures follow `.tierErrors()`;
   * otherwise (a load's write-back) they are only reported.
   */
  async writeAll(
    key: K,
    entry: CacheEntry<V>,
    write: {
      operation: CacheOperationName;
      explicit: boolean;
      upTo?: number;
      /** An explicit write's bus message, held back while a shared tier owes this write. */
      notice?: CacheBusMessage | undefined;
      /**
       * What a write-back read before its work began: tiers with conditional writes are written
       * only if the key is still at that version (no version: not written). Not for explicit writes.
       */
      versions?: VersionBook | undefined;
    },
  ): Promise<void> {
    const jitter = this.#jitter > 0 ? Math.floor(this.#random() * this.#jitter) : 0;
    const last = write.upTo ?? this.slots.length - 1;
    const { operation, explicit } = write;
    const ticket = this.#fences.acquire(key);
    const calls: Promise<CacheError | undefined>[] = [];
    let previousTtl: number | undefined = -1;
    let previous: CacheEntry<V> = entry;
    for (let i = 0; i <= last; i++) {
      const slot = this.slots[i]!;
      // Jitter spreads default ttls; an entry's own ttl is kept exactly.
      let ttl = entry.ttl ?? slot.ttl;
      if (entry.ttl === undefined && ttl !== undefined) ttl += jitter;
      const forTier = ttl === entry.ttl ? entry : ttl === previousTtl ? previous : entry.with({ ttl });
      previousTtl = ttl;
      previous = forTier;
      const run = () => slot.tier.insert(key, forTier);
      const versions = write.versions;
      calls.push(
        explicit && i > 0
          ? this.#recovery.write(slot, i, { key, entry: forTier, operation, notice: write.notice }, run)
          : versions !== undefined && slot.conditional !== undefined
            ? this.versioned.write(i, key, forTier, { version: versions[i], operation, ticket })
            : this.#guard.call(slot, i, run, { operation, key }),
      );
    }
    try {
      const errors = await Promise.all(calls);
      if (errors.some((error) => error?.code === "CODEC") && this.#fences.isCurrent(ticket)) {
        // Nothing partial: a value one tier refuses is taken back from the tiers that took it.
        await this.#takeBack(key, errors, operation);
      }
      await this.#guard.settle(
        errors.map((error) => Promise.resolve(error)),
        { explicit },
      );
    } finally {
      this.#fences.release(ticket);
    }
  }

  /** Removes `key` from every tier whose write succeeded (`errors[i] === undefined`). */
  async #takeBack(
    key: K,
    errors: readonly (CacheError | undefined)[],
    operation: CacheOperationName,
  ): Promise<void> {
    const calls: Promise<CacheError | undefined>[] = [];
    errors.forEach((error, i) => {
      if (error !== undefined) return;
      const slot = this.slots[i]!;
      const run = () => slot.tier.invalidate(key);
      calls.push(
        i > 0
          ? this.#recovery.write(slot, i, { key, entry: undefined, operation, notice: undefined }, run)
          : this.#guard.call(slot, i, run, { operation, key }),
      );
    });
    await Promise.all(calls);
  }

  /** `getMany` on tier `t` for the keys it may answer; keys this process owes a write are misses. */
  async #readUnblocked(
    slot: TierSlot<K, V>,
    t: number,
    keys: readonly K[],
  ): Promise<(CacheEntry<V> | undefined)[]> {
    if (!keys.some((key) => this.#recovery.blocks(t, key)))
      return this.#guard.getMany(slot, t, keys, "getMany");
    const open = keys.filter((key) => !this.#recovery.blocks(t, key));
    const found = open.length === 0 ? [] : await this.#guard.getMany(slot, t, open, "getMany");
    let j = 0;
    return keys.map((key) => (this.#recovery.blocks(t, key) ? undefined : found[j++]));
  }

  /** Writes a batch load's entries whose tickets are still current, one batch call per tier. */
  async writeMany(writes: readonly FencedWrite<K, V>[]): Promise<void> {
    const current = writes.filter(([, , ticket]) => this.#fences.isCurrent(ticket));
    if (current.length === 0) return;
    const calls = this.slots.map((slot, i) => {
      if (slot.conditional !== undefined) return this.versioned.writeBatch(i, current);
      const entries = current.map(([key, entry]) => {
        const ttl = entry.ttl ?? slot.ttl;
        return [key, ttl === entry.ttl ? entry : entry.with({ ttl })] as const;
      });
      return this.#guard.call(
        slot,
        i,
        () =>
          slot.tier.insertMany
            ? slot.tier.insertMany(entries)
            : Promise.all(entries.map(([key, entry]) => slot.tier.insert(key, entry))).then(noop),
        { operation: "getOrInsertMany" },
      );
    });
    await this.#guard.settle(calls, { explicit: false });
  }

  /**
   * Removes `key` from every tier, concurrently. A shared tier that cannot take the removal owes
   * it (see `write-recovery.ts`), and holds back `notice` until it is replayed.
   */
  async invalidateAll(key: K, notice?: CacheBusMessage): Promise<void> {
    const operation = "invalidate";
    await this.#guard.settle(
      this.slots.map((slot, i) => {
        const run = () => slot.tier.invalidate(key);
        return i > 0
          ? this.#recovery.write(slot, i, { key, entry: undefined, operation, notice }, run)
          : this.#guard.call(slot, i, run, { operation, key });
      }),
      { explicit: true },
    );
  }

  /** Removes every entry from every tier, concurrently; a shared tier that cannot owes the clear. */
  async clearAll(notice?: CacheBusMessage): Promise<void> {
    const operation = "clear";
    await this.#guard.settle(
      this.slots.map((slot, i) =>
        i > 0
          ? this.#recovery.wipe(slot, i, { operation, notice })
          : this.#guard.call(slot, i, () => slot.tier.clear(), { operation }),
      ),
      { explicit: true },
    );
  }
}
