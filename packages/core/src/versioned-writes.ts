/**
 * Versioned writes: how the cache uses a shared tier's conditional writes (`tier.conditionalWrites`,
 * see `ConditionalWrites` in `@cachet/tier`) so that a write based on an old read never lands over
 * a newer write or invalidation, even one made by another process.
 *
 * Every write the cache makes on its own initiative (a load's write-back, a refresh, SWR's
 * background load, a promotion into a shared tier, a replay of a recorded write) is based on a read
 * of the key made before the work began. With conditional writes, that read is the versioned read
 * ({@link VersionedWrites.read}: the read the load does anyway, so a hit costs what it did), and the
 * write is `insertIfVersion` with the version it returned. A refused write stores nothing: the newer
 * state wins, the caller still gets its value, and the refusal is reported (`write_refused`) and
 * counted (`stats().tiers[i].refused`); this process's L1 copy of the refused value is taken back.
 *
 * Invariants:
 * - A shared tier with the capability is never written by such work without a version read before
 *   the work began (no version, no write: the next reader loads).
 * - Explicit writes (`insert`, `invalidate`) stay unconditional: they are the newer state.
 * - L1 (index 0) is this process's own and is never written conditionally.
 * - Replays compare the recorded write's issue time with the version's `writtenAt` (the backend's
 *   clock): clear cases are skipped or written conditionally, and writes closer than
 *   {@link REPLAY_CLOCK_MARGIN_MS} are replayed as a removal, which never serves an older value.
 */
import type { CacheEntry, CacheError, CacheOperationName, EntryVersion } from "@cachet/tier";
import { noop } from "./background-work.js";
import type { CacheEmitter } from "./cache-emitter.js";
import type { TierSlot } from "./cache-config.js";
import type { CacheCounters } from "./cache-stats.js";
import type { BackgroundWork } from "./background-work.js";
import type { FenceTicket, KeyFences } from "./key-fences.js";
import type { FencedWrite } from "./tier-stack.js";
import type { TierGuard } from "./tier-guard.js";

/** The versions a piece of work read, indexed like the tiers (`undefined`: none read). @internal */
export type VersionBook = (EntryVersion | undefined)[];

/**
 * How far apart (ms) this process's clock and the shared tier's may be when a replay orders its
 * recorded write against a write found in the tier. Inside this margin the order is unknown, and
 * the replay removes the key instead of writing its value.
 */
export const REPLAY_CLOCK_MARGIN_MS = 1_000;

/** What a replay of a recorded write did: an error (retry later), done, or refused (a newer write is there). */
export type ReplayOutcome = CacheError | undefined | "refused";

/** @internal */
export class VersionedWrites<K, V> {
  readonly #slots: readonly TierSlot<K, V>[];
  readonly #guard: TierGuard<K, V>;
  readonly #emitter: CacheEmitter<K>;
  readonly #counters: CacheCounters;
  readonly #fences: KeyFences<K>;
  readonly #background: BackgroundWork;
  /** True when some tier has conditional writes: only then does work carry a {@link VersionBook}. */
  readonly any: boolean;
  /** True when a read may promote into a tier with conditional writes (one that is not the last). */
  readonly promotable: boolean;

  constructor(options: {
    slots: readonly TierSlot<K, V>[];
    guard: TierGuard<K, V>;
    emitter: CacheEmitter<K>;
    counters: CacheCounters;
    fences: KeyFences<K>;
    background: BackgroundWork;
  }) {
    this.#slots = options.slots;
    this.#guard = options.guard;
    this.#emitter = options.emitter;
    this.#counters = options.counters;
    this.#fences = options.fences;
    this.#background = options.background;
    this.any = options.slots.some((slot) => slot.conditional !== undefined);
    this.promotable = options.slots.some(
      (slot, i) => i < options.slots.length - 1 && slot.conditional !== undefined,
    );
  }

  /** A new book for work that may write back, or `undefined` when no tier needs one (no allocation). */
  book(): VersionBook | undefined {
    return this.any ? new Array<EntryVersion | undefined>(this.#slots.length) : undefined;
  }

  /** Reads `key` from conditional tier `index`, noting its version in `book` (a failure notes none). */
  async read(
    index: number,
    key: K,
    operation: CacheOperationName,
    book: VersionBook,
  ): Promise<CacheEntry<V> | undefined> {
    const read = await this.#guard.getVersioned(this.#slots[index]!, index, key, operation);
    if (read === undefined) return undefined;
    book[index] = read.version;
    return read.entry;
  }

  /**
   * Notes the versions of the conditional tiers `1..below-1` that `book` lacks (work that writes
   * tiers it does not read, e.g. a refresh by the loader). Each is one read of that tier.
   */
  async fill(key: K, book: VersionBook, below: number, operation: CacheOperationName): Promise<void> {
    const reads: Promise<unknown>[] = [];
    for (let i = 1; i < below; i++) {
      if (this.#slots[i]!.conditional !== undefined && book[i] === undefined)
        reads.push(this.read(i, key, operation, book));
    }
    if (reads.length !== 0) await Promise.all(reads);
  }

  /**
   * Writes `entry` to conditional tier `index` if the key is still at `version`. A refusal is
   * reported and counted, and L1's copy of the refused value is taken back, if `ticket` (the
   * writer's fence) is still current: the L1 write was made with the shared one. Without a
   * version, nothing is written.
   */
  async write(
    index: number,
    key: K,
    entry: CacheEntry<V>,
    at: { version: EntryVersion | undefined; operation: CacheOperationName; ticket?: FenceTicket<K> },
  ): Promise<CacheError | undefined> {
    const { version, operation, ticket } = at;
    if (version === undefined) return undefined;
    const slot = this.#slots[index]!;
    const conditional = slot.conditional!;
    const result = await this.#guard.attempt(
      slot,
      index,
      () => conditional.insertIfVersion(key, entry, version),
      { operation, key },
    );
    if (!result.ok) return result.error;
    if (!result.value.written) {
      this.refused(index, key, operation);
      if (ticket !== undefined && this.#fences.isCurrent(ticket))
        this.#background.track(this.dropLocal(key, operation).then(noop));
    }
    return undefined;
  }

  /** A batch load's write-backs to conditional tier `index`: one conditional write per key. */
  async writeBatch(index: number, writes: readonly FencedWrite<K, V>[]): Promise<CacheError | undefined> {
    const ttl = this.#slots[index]!.ttl;
    const operation = "getOrInsertMany";
    const errors = await Promise.all(
      writes.map(([key, entry, ticket, versions]) =>
        this.write(index, key, entry.ttl !== undefined || ttl === undefined ? entry : entry.with({ ttl }), {
          version: versions?.[index],
          operation,
          ticket,
        }),
      ),
    );
    return errors.find((error) => error !== undefined);
  }

  /** Reports and counts one refused write of tier `index`. */
  refused(index: number, key: K, operation: CacheOperationName): void {
    this.#counters.tiers[index]!.refused++;
    this.#emitter.emit("write_refused", operation, key, this.#slots[index]!.name);
  }

  /** Takes `key` out of L1 (this process's copy of a value a shared tier refused or replaced). */
  dropLocal(key: K, operation: CacheOperationName): Promise<CacheError | undefined> {
    const slot = this.#slots[0]!;
    return this.#guard.call(slot, 0, () => slot.tier.invalidate(key), { operation, key });
  }

  /**
   * Replays one recorded write to conditional tier `index`: reads the key's version, and
   * - skips the write when the tier holds a write made after this one was issued (`"refused"`);
   * - removes the key when the order is unknown (closer than the clock margin, or a writer without
   *   versions), since a removal never puts an older value over a newer one;
   * - otherwise writes the entry only if the key is still at the version read (a write landing in
   *   between wins: `"refused"`), or removes the key for a recorded removal.
   */
  async replay(
    index: number,
    intent: { key: K; entry: CacheEntry<V> | undefined; issuedAt: number; operation: CacheOperationName },
    now: number,
  ): Promise<ReplayOutcome> {
    const slot = this.#slots[index]!;
    const { key, operation } = intent;
    const site = { operation, key };
    const read = await this.#guard.attempt(slot, index, () => slot.conditional!.getVersioned(key), site);
    if (!read.ok) return read.error;
    const { entry: found, version } = read.value;
    const writtenAt = version.writtenAt;
    if (writtenAt !== undefined && writtenAt > intent.issuedAt + REPLAY_CLOCK_MARGIN_MS) return "refused";
    const unordered =
      (writtenAt !== undefined && writtenAt >= intent.issuedAt - REPLAY_CLOCK_MARGIN_MS) ||
      (writtenAt === undefined && found !== undefined);
    let entry = intent.entry;
    if (entry !== undefined && (unordered || entry.isExpiredAt(now))) entry = undefined;
    if (entry === undefined) {
      // A removal (with conditional writes, a tombstone): it may cost a newer write a reload, never more.
      return this.#guard.call(slot, index, () => slot.tier.invalidate(key), site);
    }
    const written = await this.#guard.attempt(
      slot,
      index,
      () => slot.conditional!.insertIfVersion(key, entry, version),
      site,
    );
    if (!written.ok) return written.error;
    return written.value.written ? undefined : "refused";
  }
}
