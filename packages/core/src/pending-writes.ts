/**
 * The pending-writes queue of one shared tier: the explicit writes (insert, invalidate, clear, tag
 * markers) that the tier could not take, kept until they are replayed.
 *
 * Invariants:
 * - One intent per key, the latest issued: an intent is entered when its tier call is *issued*
 *   (not when it fails), so a later write always replaces an earlier one, whichever settles first.
 *   A call that succeeds removes its own intent only; a failed call leaves its intent, now marked
 *   `failed`. An earlier call that fails after a later one was issued has nothing left to mark.
 * - Only failed intents are replayed and only failed intents block reads (an intent in flight is
 *   an ordinary write).
 * - A clear (`wipe`) supersedes every key intent recorded before it. While a wipe is pending, every
 *   read of the tier is a miss for this process, and later writes need no recording (the wipe is
 *   replayed first and the writes issued since are already in the tier or will be loaded again).
 * - Bounded: at most `max` key intents. Recording one more turns the queue into a wipe (the
 *   documented fallback: the whole tier is cleared on recovery, and a `clear` bus message drops
 *   every instance's L1), which never serves an old value; it costs the tier's contents.
 * - The bus message of a failed write (its `notice`) is held back until its replay succeeds, so no
 *   instance re-reads the old value from the tier after hearing the message.
 * - An owed insert of a key another instance wrote meanwhile is replayed as a removal (`demote`).
 *
 * Pure bookkeeping: it never calls a tier, a timer or the bus (see `write-recovery.ts`).
 */
import type { CacheBusMessage, CacheEntry, CacheOperationName } from "@cachet/tier";

/** One recorded write: the entry to store, or `undefined` to remove the key. @internal */
export interface PendingWrite<K, V> {
  readonly key: K;
  readonly entry: CacheEntry<V> | undefined;
  readonly operation: CacheOperationName;
  /** The bus message to send once this write reached the tier (none without a bus). */
  readonly notice: CacheBusMessage | undefined;
  /**
   * When the write was issued, on the cache's clock: a replay into a tier with conditional writes
   * compares it with the `writtenAt` of what the tier holds (see `versioned-writes.ts`).
   */
  readonly issuedAt: number;
  /** True once the tier call failed: from then on it is replayed and blocks reads of its key. */
  failed: boolean;
  /** The failed intent this one replaced, restored if the tier refuses this one's value (`CODEC`). */
  previous: PendingWrite<K, V> | undefined;
}

/** A recorded clear of the whole tier (an explicit `clear()`, or the overflow fallback). @internal */
export interface PendingWipe {
  readonly operation: CacheOperationName;
  readonly notice: CacheBusMessage | undefined;
  /** True when the wipe stands in for writes past the bound. */
  readonly overflow: boolean;
}

/** What recording one failed write did. */
export type RecordOutcome = "recorded" | "overflow" | "covered";

/** How a write's tier call ended: taken, failed (replay it), or its value refused by the codec. */
export type CallOutcome = "ok" | "failed" | "refused";

/** @internal */
export class PendingWrites<K, V> {
  readonly max: number;
  readonly #intents = new Map<K, PendingWrite<K, V>>();
  #failedCount = 0;
  wipe: PendingWipe | undefined;
  /** Key intents currently marked failed (what `stats()` reports as pending). */

  constructor(max: number) {
    this.max = max;
  }

  /** Failed writes waiting for replay (a pending wipe counts as one). */
  get pending(): number {
    return this.#failedCount + (this.wipe === undefined ? 0 : 1);
  }

  /** True when a read of `key` from this tier may return a value this process replaced or removed. */
  blocks(key: K): boolean {
    if (this.wipe !== undefined) return true;
    return this.#failedCount !== 0 && this.#intents.get(key)?.failed === true;
  }

  /** Enters a write as it is issued; returns the intent to pass to {@link PendingWrites.settle}. */
  begin(write: Omit<PendingWrite<K, V>, "failed" | "previous">): PendingWrite<K, V> {
    const previous = this.#intents.get(write.key);
    const intent: PendingWrite<K, V> = {
      ...write,
      failed: false,
      previous: previous?.failed === true ? previous : undefined,
    };
    if (previous !== undefined) {
      if (previous.failed) this.#failedCount--;
      // Delete first so that the map's order stays the order in which intents were issued.
      this.#intents.delete(write.key);
    }
    this.#intents.set(write.key, intent);
    return intent;
  }

  /**
   * The tier call of `intent` settled. A success removes the intent (if it is still the key's
   * latest); a failure marks it for replay, or, past the bound, turns the queue into a wipe.
   */
  settle(intent: PendingWrite<K, V>, outcome: CallOutcome): RecordOutcome | undefined {
    if (this.#intents.get(intent.key) !== intent) return undefined;
    this.#intents.delete(intent.key);
    const previous = intent.previous;
    intent.previous = undefined;
    if (outcome === "ok") return undefined;
    if (outcome === "refused") {
      // Nothing was written: the write this one replaced is still owed to the tier.
      if (previous !== undefined && this.wipe === undefined) {
        this.#intents.set(previous.key, previous);
        this.#failedCount++;
      }
      return undefined;
    }
    // The wipe is replayed first and removes the key anyway.
    if (this.wipe !== undefined) return "covered";
    if (this.#failedCount >= this.max) {
      this.recordWipe({ operation: intent.operation, notice: undefined, overflow: true });
      return "overflow";
    }
    this.#intents.set(intent.key, intent);
    intent.failed = true;
    this.#failedCount++;
    return "recorded";
  }

  /**
   * Another instance wrote `key` after this one's write failed (its bus message arrived): an owed
   * insert becomes an owed removal. Without cross-process versions the two cannot be ordered, and
   * a removal is safe either way (the next read loads), where replaying the value could overwrite
   * the newer one. `undefined` key: every owed insert (a remote clear, or a bus gap).
   */
  demote(key?: K): void {
    const demote = (intent: PendingWrite<K, V>) => {
      if (!intent.failed || intent.entry === undefined) return;
      // Same map position (set on an existing key keeps it); a replay holding the old intent
      // object will not forget this one.
      this.#intents.set(intent.key, { ...intent, entry: undefined, previous: undefined });
    };
    if (key === undefined) {
      for (const intent of [...this.#intents.values()]) demote(intent);
      return;
    }
    const intent = this.#intents.get(key);
    if (intent !== undefined) demote(intent);
  }

  /** Records a clear of the whole tier: every key intent recorded before it is dropped. */
  recordWipe(wipe: PendingWipe): void {
    for (const [key, intent] of this.#intents) if (intent.failed) this.#intents.delete(key);
    this.#failedCount = 0;
    // An overflow wipe keeps an explicit clear's notice, and vice versa the overflow flag.
    const previous = this.wipe;
    this.wipe = {
      operation: wipe.operation,
      notice: wipe.notice ?? previous?.notice,
      overflow: wipe.overflow || previous?.overflow === true,
    };
  }

  /** The failed intents, oldest first (a snapshot: replay may run while new writes are issued). */
  failedIntents(): PendingWrite<K, V>[] {
    const out: PendingWrite<K, V>[] = [];
    for (const intent of this.#intents.values()) if (intent.failed) out.push(intent);
    return out;
  }

  /** `intent` was replayed: forget it, unless a newer write for its key was issued meanwhile. */
  replayed(intent: PendingWrite<K, V>): boolean {
    if (this.#intents.get(intent.key) !== intent) return false;
    this.#intents.delete(intent.key);
    if (intent.failed) this.#failedCount--;
    return true;
  }

  /** The wipe was replayed: forget it, unless another one was recorded meanwhile. */
  wiped(wipe: PendingWipe): boolean {
    if (this.wipe !== wipe) return false;
    this.wipe = undefined;
    return true;
  }

  /** True when some failed intent or the wipe holds back `notice`. */
  holds(notice: CacheBusMessage): boolean {
    if (this.wipe?.notice === notice) return true;
    if (this.#failedCount === 0) return false;
    for (const intent of this.#intents.values()) if (intent.failed && intent.notice === notice) return true;
    return false;
  }
}
