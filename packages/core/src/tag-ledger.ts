/**
 * The tag ledger: what this instance knows about tag invalidations and expirations, and the
 * markers that share that knowledge with other instances through the shared tiers.
 *
 * Nothing is ever scanned. A tag operation records a time per tag; an entry carrying a tag is
 * vetted against those times when it is read. {@link TagLedger.latestTagAt} lets a read skip the
 * vetting entirely for entries cached after the newest known tag time (the common case).
 *
 * Owns the tag states, the stamp floor and the marker keys. It must never touch L1 directly and
 * never supersede loads itself: the facade does that after {@link TagLedger.apply}, because
 * superseding belongs to the load coordinator and imports run one way.
 */
import { CacheEntry } from "@cachet/tier";
import type { CacheBusMessage, CacheOperationName, Milliseconds } from "@cachet/tier";
import type { TierSlot } from "./cache-config.js";
import { FAIL_SAFE_TAG, NEGATIVE_TAG } from "./entry-helpers.js";
import type { TierGuard } from "./tier-guard.js";
import type { WriteRecovery } from "./write-recovery.js";

/** What is known locally about one tag: when it was last expired and invalidated. */
interface TagState {
  expiredAt: number;
  invalidatedAt: number;
  /** When this state was last read from the shared tiers (0: known from a local or bus event only). */
  checkedAt: number;
}

/** A tag operation, as on the bus. */
export type TagOperationType = "invalidate-tags" | "expire-tags";

/** Prefix of the keys under which tag invalidation times are stored in the shared tiers. */
const TAG_MARKER_PREFIX = "__cachet:tag:";

/** How long a tag's state read from the shared tiers is trusted before it is read again. */
const TAG_RECHECK_MS = 1_000;

/** @internal */
export class TagLedger<K, V> {
  readonly #cache: string;
  readonly #slots: readonly TierSlot<K, V>[];
  readonly #guard: TierGuard<K, V>;
  readonly #recovery: WriteRecovery<K, V>;
  readonly #markerTtl: Milliseconds;
  readonly #states = new Map<string, TagState>();
  /**
   * Entries stamped by this instance get `cachedAt` at least this: an entry written in the same
   * millisecond as a tag invalidation, but after it, must not count as invalidated.
   */
  #stampFloor = 0;
  /** The newest time in any tag state: entries cached after it need no tag check (the hot path). */
  latestTagAt = 0;

  constructor(options: {
    cache: string;
    slots: readonly TierSlot<K, V>[];
    guard: TierGuard<K, V>;
    recovery: WriteRecovery<K, V>;
    markerTtl: Milliseconds;
  }) {
    this.#cache = options.cache;
    this.#slots = options.slots;
    this.#guard = options.guard;
    this.#recovery = options.recovery;
    this.#markerTtl = options.markerTtl;
  }

  /** The `cachedAt` for an entry written now: never at or before a tag time already applied. */
  stamp(now: number): number {
    return now < this.#stampFloor ? this.#stampFloor : now;
  }

  /**
   * The time of a tag operation made now: never earlier than a `cachedAt` this instance already
   * stamped. After a first invalidation in this millisecond, writes were stamped `at + 1` (the
   * floor), and a second invalidation in the same millisecond (or after the wall clock stepped
   * back) must still cover them.
   */
  operationTime(now: number): number {
    return now < this.#stampFloor ? this.#stampFloor : now;
  }

  /** Records tag times locally. The caller supersedes loads in flight afterwards. */
  apply(type: TagOperationType, tags: readonly string[], at: number): void {
    for (const tag of tags) {
      let state = this.#states.get(tag);
      if (state === undefined) {
        state = { expiredAt: 0, invalidatedAt: 0, checkedAt: 0 };
        this.#states.set(tag, state);
      }
      if (type === "invalidate-tags") state.invalidatedAt = Math.max(state.invalidatedAt, at);
      state.expiredAt = Math.max(state.expiredAt, at);
    }
    this.#stampFloor = Math.max(this.#stampFloor, at + 1);
    if (at > this.latestTagAt) this.latestTagAt = at;
  }

  /**
   * Stores the states of `tags` (just applied at `at`) in the shared tiers, for instances that
   * start later or missed the bus. Rethrows a tier failure per `.tierErrors()`.
   */
  async writeMarkers(
    tags: readonly string[],
    at: number,
    operation: CacheOperationName,
    notice?: CacheBusMessage,
  ): Promise<void> {
    if (this.#slots.length <= 1) return;
    const markers = tags.map((tag) => {
      const state = this.#states.get(tag)!;
      const marker = new CacheEntry(
        { expiredAt: state.expiredAt, invalidatedAt: state.invalidatedAt } as unknown as V,
        { cachedAt: at, ttl: this.#markerTtl },
      );
      return [this.#markerKey(tag), marker] as const;
    });
    // One call per marker, so that a shared tier that cannot take one owes exactly that marker
    // (see `write-recovery.ts`) and holds back `notice` until it is replayed.
    const calls = this.#slots
      .slice(1)
      .flatMap((slot, i) =>
        markers.map(([key, marker]) =>
          this.#recovery.write(slot, i + 1, { key, entry: marker, operation, notice }, () =>
            slot.tier.insert(key, marker),
          ),
        ),
      );
    await this.#guard.settle(calls, { explicit: true });
  }

  /** Reads unknown tags' invalidation times from the shared tiers (once per tag per recheck period). */
  async loadStates(tags: readonly string[], now: number): Promise<void> {
    const unknown = tags.filter((tag) => {
      if (tag === NEGATIVE_TAG || tag === FAIL_SAFE_TAG) return false;
      const state = this.#states.get(tag);
      return state === undefined || (state.checkedAt !== 0 && now - state.checkedAt > TAG_RECHECK_MS);
    });
    if (unknown.length === 0) return;
    const keys = unknown.map((tag) => this.#markerKey(tag));
    const found: (CacheEntry<V> | undefined)[] = keys.map(() => undefined);
    for (let i = this.#slots.length - 1; i >= 1; i--) {
      const entries = await this.#guard.getMany(this.#slots[i]!, i, keys, "get");
      entries.forEach((entry, j) => {
        if (entry !== undefined && found[j] === undefined) found[j] = entry;
      });
    }
    unknown.forEach((tag, j) => {
      const marker = found[j]?.value as unknown as
        { expiredAt?: unknown; invalidatedAt?: unknown } | undefined;
      const state = this.#states.get(tag) ?? { expiredAt: 0, invalidatedAt: 0, checkedAt: 0 };
      if (marker !== undefined && typeof marker === "object") {
        if (typeof marker.expiredAt === "number")
          state.expiredAt = Math.max(state.expiredAt, marker.expiredAt);
        if (typeof marker.invalidatedAt === "number") {
          state.invalidatedAt = Math.max(state.invalidatedAt, marker.invalidatedAt);
        }
      }
      state.checkedAt = now;
      this.latestTagAt = Math.max(this.latestTagAt, state.expiredAt, state.invalidatedAt);
      this.#states.set(tag, state);
    });
  }

  /**
   * Applies tag times to an entry: `undefined` when a tag invalidated it, an expired copy when a tag
   * expired it, the entry itself otherwise.
   */
  vet(entry: CacheEntry<V>): CacheEntry<V> | undefined {
    const cachedAt = entry.cachedAt ?? 0;
    let expiredAt = 0;
    for (const tag of entry.tags) {
      const state = this.#states.get(tag);
      if (state === undefined) continue;
      if (cachedAt <= state.invalidatedAt) return undefined;
      if (cachedAt <= state.expiredAt && state.expiredAt > expiredAt) expiredAt = state.expiredAt;
    }
    if (expiredAt === 0) return entry;
    const expiresAt = entry.expiresAt;
    if (expiresAt !== undefined && expiresAt <= expiredAt) return entry;
    // Expired by a tag: freshness ends at the tag's time; the retention past it is kept.
    const retainUntil = entry.retainUntil;
    const ttl = Math.max(0, expiredAt - cachedAt);
    return entry.with({
      ttl,
      staleFor: retainUntil === undefined ? entry.staleFor : Math.max(0, retainUntil - (cachedAt + ttl)),
    });
  }

  #markerKey(tag: string): K {
    return `${TAG_MARKER_PREFIX}${this.#cache}:${tag}` as unknown as K;
  }
}
