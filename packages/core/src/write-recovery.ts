/**
 * Write recovery: no explicit write, removal, clear or tag marker is lost because a shared tier
 * was down, slow or skipped by its open circuit breaker.
 *
 * Every explicit write to a tier below L1 goes through {@link WriteRecovery.write} (or
 * {@link WriteRecovery.wipe} for a clear), which records it in that tier's {@link PendingWrites}
 * queue when the tier does not take it. The queue is replayed, oldest first, as soon as the tier
 * answers again (any successful call to it, see {@link WriteRecovery.onHealthy}) or, without
 * traffic, on a retry timer (500 ms, doubling to 8 s, on the cache's clock). Only after a
 * write's replay succeeded is the bus message it held back sent, so no instance hears "k changed"
 * and then re-reads the old value from the tier.
 *
 * Invariants:
 * - Until its replay succeeded, this process never reads a key with a failed write from that
 *   tier (`blocks`), so it never serves the value it replaced or removed.
 * - A replay never overwrites a newer write: an intent replaced while its replay was in flight is
 *   not forgotten twice, and the newer write was issued after it on the same tier.
 * - An insert whose entry has expired by the time of its replay is replayed as a removal.
 * - Replays are background work: tracked (so `close()` waits for them), never rejecting. After
 *   close, nothing is replayed: pending writes live in this process's memory only.
 */
import { isCacheError } from "@cachet/tier";
import type { CacheBusMessage, CacheEntry, CacheError, Clock, TimerHandle } from "@cachet/tier";
import type { CacheOperationName } from "@cachet/tier";
import type { BackgroundWork } from "./background-work.js";
import type { CacheEmitter } from "./cache-emitter.js";
import type { TierSlot } from "./cache-config.js";
import type { CacheCounters } from "./cache-stats.js";
import { PendingWrites } from "./pending-writes.js";
import type { CallOutcome, PendingWrite } from "./pending-writes.js";
import type { TierGuard } from "./tier-guard.js";
import type { ReplayOutcome, VersionedWrites } from "./versioned-writes.js";

/** Default bound on recorded writes per tier; past it, the tier is wiped on recovery. */
export const DEFAULT_MAX_PENDING_WRITES = 10_000;
/** First retry delay after a failure, doubled per failed replay up to {@link RETRY_MAX_MS}. */
export const RETRY_MIN_MS = 500;
export const RETRY_MAX_MS = 8_000;
/** Replayed writes issued at once. */
const REPLAY_CHUNK = 64;

/** One explicit write to a shared tier. */
export interface RecoverableWrite<K, V> {
  readonly key: K;
  /** The entry to store, or `undefined` to remove the key. */
  readonly entry: CacheEntry<V> | undefined;
  readonly operation: CacheOperationName;
  /** The bus message to hold back while this write is pending. */
  readonly notice: CacheBusMessage | undefined;
}

/** @internal */
export class WriteRecovery<K, V> {
  readonly #slots: readonly TierSlot<K, V>[];
  readonly #guard: TierGuard<K, V>;
  readonly #versioned: VersionedWrites<K, V>;
  readonly #clock: Clock;
  readonly #emitter: CacheEmitter<K>;
  readonly #counters: CacheCounters;
  readonly #background: BackgroundWork;
  readonly #publish: (message: CacheBusMessage) => Promise<void>;
  /** The message that tells the fleet to drop its L1s after an overflow wipe (with a bus). */
  readonly #overflowNotice: CacheBusMessage | undefined;
  /** Indexed like the slots; `undefined` for L1 (index 0), which is this process's own. */
  readonly #queues: (PendingWrites<K, V> | undefined)[];
  /** A pending retry timer per slot (`undefined`: none; `TimerHandle` is `unknown`). */
  readonly #timers: TimerHandle[];
  readonly #attempts: number[];
  readonly #replaying: boolean[];
  #closed = false;

  constructor(options: {
    slots: readonly TierSlot<K, V>[];
    guard: TierGuard<K, V>;
    versioned: VersionedWrites<K, V>;
    clock: Clock;
    emitter: CacheEmitter<K>;
    counters: CacheCounters;
    background: BackgroundWork;
    publish: (message: CacheBusMessage) => Promise<void>;
    overflowNotice: CacheBusMessage | undefined;
    maxPending: number;
  }) {
    this.#slots = options.slots;
    this.#guard = options.guard;
    this.#clock = options.clock;
    this.#emitter = options.emitter;
    this.#counters = options.counters;
    this.#background = options.background;
    this.#publish = options.publish;
    this.#overflowNotice = options.overflowNotice;
    const n = options.slots.length;
    this.#queues = options.slots.map((_, i) =>
      i === 0 ? undefined : new PendingWrites<K, V>(options.maxPending),
    );
    this.#timers = new Array<TimerHandle>(n).fill(undefined);
    this.#attempts = new Array<number>(n).fill(0);
    this.#replaying = new Array<boolean>(n).fill(false);
    this.#versioned = options.versioned;
    options.guard.onHealthy = (index) => {
      if (this.#queues[index]?.pending) this.#startReplay(index);
    };
  }

  /** Writes waiting for replay, over every tier (for `stats()`). */
  get pending(): number {
    let pending = 0;
    for (const queue of this.#queues) if (queue !== undefined) pending += queue.pending;
    return pending;
  }

  /** True when this process must not read `key` from tier `index` (it owes that tier a write). */
  blocks(index: number, key: K): boolean {
    return this.#queues[index]?.blocks(key) === true;
  }

  /** True when a pending write or clear holds back `notice`: it is sent after the replay instead. */
  holds(notice: CacheBusMessage): boolean {
    return this.#queues.some((queue) => queue?.holds(notice) === true);
  }

  /** Issues one explicit write to tier `index` (> 0), recording it if the tier does not take it. */
  write(
    slot: TierSlot<K, V>,
    index: number,
    write: RecoverableWrite<K, V>,
    run: () => Promise<unknown>,
  ): Promise<CacheError | undefined> {
    const queue = this.#queues[index]!;
    const intent = queue.begin({ ...write, issuedAt: this.#clock.now() });
    return this.#guard
      .call(slot, index, run, { operation: write.operation, key: write.key })
      .then((error) => {
        this.#settle(index, intent, outcomeOf(error), error);
        return error;
      });
  }

  /** Issues a clear of tier `index` (> 0), recording it if the tier does not take it. */
  wipe(
    slot: TierSlot<K, V>,
    index: number,
    wipe: { operation: CacheOperationName; notice: CacheBusMessage | undefined },
  ): Promise<CacheError | undefined> {
    return this.#guard
      .call(slot, index, () => slot.tier.clear(), { operation: wipe.operation })
      .then((error) => {
        if (outcomeOf(error) === "failed" && !this.#closed) {
          this.#recordWipe(index, { ...wipe, overflow: false }, error);
        }
        return error;
      });
  }

  /**
   * Another instance wrote `key` (or, without a key, cleared, or the bus may have lost messages):
   * an owed insert of it is replayed as a removal (see `PendingWrites.demote`).
   */
  writtenElsewhere(key?: K): void {
    for (const queue of this.#queues) queue?.demote(key);
  }

  /** Stops retrying. Pending writes are dropped (they live in this process only). */
  close(): void {
    this.#closed = true;
    for (let i = 0; i < this.#timers.length; i++) this.#cancelTimer(i);
  }

  #settle(
    index: number,
    intent: PendingWrite<K, V>,
    outcome: CallOutcome,
    error: CacheError | undefined,
  ): void {
    const queue = this.#queues[index]!;
    const recorded = this.#closed ? queue.settle(intent, "ok") : queue.settle(intent, outcome);
    if (recorded === "recorded") {
      this.#counters.writesRecorded++;
      this.#emitter.emit("write_pending", intent.operation, intent.key, this.#slots[index]!.name, { error });
      this.#arm(index);
    } else if (recorded === "overflow") {
      this.#overflowed(index, intent.operation, error);
    }
  }

  #recordWipe(
    index: number,
    wipe: { operation: CacheOperationName; notice: CacheBusMessage | undefined; overflow: boolean },
    error: CacheError | undefined,
  ): void {
    const queue = this.#queues[index]!;
    queue.recordWipe(wipe);
    this.#counters.writesRecorded++;
    this.#emitter.emit("write_pending", wipe.operation, undefined, this.#slots[index]!.name, { error });
    this.#arm(index);
  }

  #overflowed(index: number, operation: CacheOperationName, error: CacheError | undefined): void {
    const queue = this.#queues[index]!;
    // The overflow wipe tells the fleet to drop its L1s once it is replayed.
    queue.recordWipe({ operation, notice: this.#overflowNotice, overflow: true });
    this.#counters.writeOverflows++;
    this.#emitter.emit("write_overflow", operation, undefined, this.#slots[index]!.name, { error });
    this.#arm(index);
  }

  /** Schedules the next replay attempt of tier `index`, unless one is already scheduled. */
  #arm(index: number): void {
    if (this.#closed || this.#timers[index] !== undefined || this.#replaying[index]) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.#attempts[index]!);
    this.#timers[index] = this.#clock.setTimeout(() => {
      this.#timers[index] = undefined;
      this.#startReplay(index);
    }, delay);
  }

  #cancelTimer(index: number): void {
    const timer = this.#timers[index];
    if (timer !== undefined) {
      this.#clock.clearTimeout(timer);
      this.#timers[index] = undefined;
    }
  }

  #startReplay(index: number): void {
    if (this.#closed || this.#replaying[index]) return;
    this.#cancelTimer(index);
    this.#replaying[index] = true;
    this.#background.track(
      this.#replay(index).then(
        (ok) => {
          this.#replaying[index] = false;
          if (ok) this.#attempts[index] = 0;
          else this.#attempts[index]!++;
          if (this.#queues[index]!.pending !== 0) {
            // New failures were recorded meanwhile (replay them at once), or this attempt failed.
            if (ok) this.#startReplay(index);
            else this.#arm(index);
          }
        },
        () => {
          this.#replaying[index] = false;
          this.#arm(index);
        },
      ),
    );
  }

  /** One replay of tier `index`: the wipe first, then the key writes, oldest first. */
  async #replay(index: number): Promise<boolean> {
    const queue = this.#queues[index]!;
    const slot = this.#slots[index]!;
    const notices = new Set<CacheBusMessage>();
    try {
      const wipe = queue.wipe;
      if (wipe !== undefined) {
        const error = await this.#guard.call(slot, index, () => slot.tier.clear(), {
          operation: wipe.operation,
        });
        if (error !== undefined || this.#closed) return false;
        if (queue.wiped(wipe)) {
          this.#counters.writesReplayed++;
          this.#emitter.emit("write_replayed", wipe.operation, undefined, slot.name);
          if (wipe.notice !== undefined) notices.add(wipe.notice);
        }
      }
      const intents = queue.failedIntents();
      for (let start = 0; start < intents.length; start += REPLAY_CHUNK) {
        const chunk = intents.slice(start, start + REPLAY_CHUNK);
        const errors = await Promise.all(chunk.map((intent) => this.#replayOne(slot, index, intent)));
        if (this.#closed) return false;
        let failed = false;
        chunk.forEach((intent, j) => {
          const outcome = errors[j];
          if (outcome !== undefined && outcome !== "refused") {
            failed = true;
            return;
          }
          if (!queue.replayed(intent)) return;
          if (outcome === "refused") {
            // The tier holds a newer write from elsewhere: it wins, and L1 must not keep this one.
            this.#versioned.refused(index, intent.key, intent.operation);
            if (intent.entry !== undefined)
              this.#background.track(this.#versioned.dropLocal(intent.key, intent.operation));
          } else {
            this.#counters.writesReplayed++;
            this.#emitter.emit("write_replayed", intent.operation, intent.key, slot.name);
          }
          // The fleet learns of the key either way: what the tier holds now is what to read.
          if (intent.notice !== undefined) notices.add(intent.notice);
        });
        if (failed) return false;
      }
      return true;
    } finally {
      // Whatever reached the tier is announced, even when a later part of the replay failed.
      for (const notice of notices) await this.#publish(notice);
    }
  }

  #replayOne(slot: TierSlot<K, V>, index: number, intent: PendingWrite<K, V>): Promise<ReplayOutcome> {
    // Ordered against other processes' writes by the tier's versions (never over a newer one).
    if (slot.conditional !== undefined) return this.#versioned.replay(index, intent, this.#clock.now());
    const { key, entry } = intent;
    const site = { operation: intent.operation, key };
    if (entry === undefined || entry.isExpiredAt(this.#clock.now())) {
      // An expired insert is replayed as a removal: the tier must not keep the value it replaced.
      return this.#guard.call(slot, index, () => slot.tier.invalidate(key), site);
    }
    return this.#guard.call(slot, index, () => slot.tier.insert(key, entry), site);
  }
}

/** What a tier call's result means for its recorded write. */
function outcomeOf(error: CacheError | undefined): CallOutcome {
  if (error === undefined) return "ok";
  if (isCacheError(error) && error.code === "CODEC") return "refused";
  // A closed tier will never take it: nothing to replay.
  if (error.code === "CLOSED") return "ok";
  return "failed";
}
