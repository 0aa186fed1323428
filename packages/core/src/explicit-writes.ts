/**
 * The explicit writes: `insert`, `insertMany`, `invalidate`, `invalidateMany`, `clear` and the tag
 * operations, each in the same three steps: the write fence, every tier, then the bus message.
 *
 * Invariants a change here must not break:
 * - The fence comes first (`L1Coherence.fence*`), before any tier sees the write, so a load that
 *   started earlier can never write its older result over it.
 * - A bus message is sent only after the shared tiers took the write; while a shared tier still
 *   owes it (`WriteRecovery.holds`), the recovery sends it after the replay instead, so no instance
 *   re-reads the old value from the shared tier on hearing the message.
 * - A batch lets every key finish, announces the keys that were written in one message, and then
 *   rethrows the first failure.
 */
import { assertKnownKeys, assertTagList, toMilliseconds } from "@cachet/tier";
import type { CacheBusMessage, CacheEntry, Clock } from "@cachet/tier";
import type { BusLink } from "./bus-link.js";
import type { CacheEmitter } from "./cache-emitter.js";
import { toEntry } from "./entry-helpers.js";
import type { L1Coherence } from "./l1-coherence.js";
import type { LoadCoordinator } from "./load-coordinator.js";
import type { LoadPolicy } from "./load-policy.js";
import type { InsertOptions } from "./loader.js";
import { INSERT_KEYS } from "./option-keys.js";
import type { TagLedger, TagOperationType } from "./tag-ledger.js";
import type { TierStack } from "./tier-stack.js";
import type { ValueMode } from "./value-mode.js";
import type { WriteRecovery } from "./write-recovery.js";

/** Which tag operation, and the public method it is reported as. */
export interface TagOperation {
  readonly type: TagOperationType;
  readonly operation: "invalidateTags" | "expireTags";
}

/** @internal */
export class ExplicitWrites<K, V> {
  readonly #clock: Clock;
  readonly #policy: LoadPolicy<V>;
  readonly #valueMode: ValueMode;
  readonly #stack: TierStack<K, V>;
  readonly #tags: TagLedger<K, V>;
  readonly #loads: LoadCoordinator<K, V>;
  readonly #coherence: L1Coherence<K, V>;
  readonly #recovery: WriteRecovery<K, V>;
  readonly #bus: BusLink<K>;
  readonly #emitter: CacheEmitter<K>;

  constructor(options: {
    clock: Clock;
    policy: LoadPolicy<V>;
    valueMode: ValueMode;
    stack: TierStack<K, V>;
    tags: TagLedger<K, V>;
    loads: LoadCoordinator<K, V>;
    coherence: L1Coherence<K, V>;
    recovery: WriteRecovery<K, V>;
    bus: BusLink<K>;
    emitter: CacheEmitter<K>;
  }) {
    this.#clock = options.clock;
    this.#policy = options.policy;
    this.#valueMode = options.valueMode;
    this.#stack = options.stack;
    this.#tags = options.tags;
    this.#loads = options.loads;
    this.#coherence = options.coherence;
    this.#recovery = options.recovery;
    this.#bus = options.bus;
    this.#emitter = options.emitter;
  }

  async insert(key: K, value: V | CacheEntry<V>, options: InsertOptions | undefined): Promise<void> {
    const policy = this.#insertPolicy(options, "insert");
    const notice = this.#bus.keyNotice("set", key);
    await this.#write(key, value, policy, notice);
    await this.#announce(notice);
    this.#emitter.emit("inserted", "insert", key, undefined);
  }

  async insertMany(
    entries: Iterable<readonly [key: K, value: V | CacheEntry<V>]>,
    options: InsertOptions | undefined,
  ): Promise<void> {
    const policy = this.#insertPolicy(options, "insertMany");
    const pairs = [...entries];
    if (pairs.length === 0) return;
    const notices = pairs.map(([key]) => this.#bus.keyNotice("set", key));
    const results = await Promise.allSettled(
      pairs.map(([key, value], i) => this.#write(key, value, policy, notices[i])),
    );
    await this.#announceBatch("set", notices, results);
    pairs.forEach(([key], i) => {
      if (results[i]!.status === "fulfilled") this.#emitter.emit("inserted", "insert", key, undefined);
    });
    throwFirstRejection(results);
  }

  async invalidate(key: K): Promise<void> {
    this.#coherence.fence(key);
    const notice = this.#bus.keyNotice("invalidate", key);
    await this.#stack.invalidateAll(key, notice);
    this.#loads.forgetRefreshBackoff(key);
    await this.#announce(notice);
    this.#emitter.emit("invalidated", "invalidate", key, undefined);
  }

  async invalidateMany(keys: Iterable<K>): Promise<void> {
    const list = [...keys];
    if (list.length === 0) return;
    for (const key of list) this.#coherence.fence(key);
    const notices = list.map((key) => this.#bus.keyNotice("invalidate", key));
    const results = await Promise.allSettled(
      list.map((key, i) => this.#stack.invalidateAll(key, notices[i])),
    );
    list.forEach((key, i) => {
      if (results[i]!.status === "fulfilled") this.#loads.forgetRefreshBackoff(key);
    });
    await this.#announceBatch("invalidate", notices, results);
    list.forEach((key, i) => {
      if (results[i]!.status === "fulfilled") this.#emitter.emit("invalidated", "invalidate", key, undefined);
    });
    throwFirstRejection(results);
  }

  async clear(): Promise<void> {
    this.#coherence.fenceAll();
    const notice = this.#bus.clearNotice();
    await this.#stack.clearAll(notice);
    await this.#announce(notice);
    this.#emitter.emit("cleared", "clear", undefined, undefined);
  }

  async tagOperation(tags: readonly string[], what: TagOperation): Promise<void> {
    assertTagList(tags, what.operation);
    if (tags.length === 0) return;
    const at = this.#tags.operationTime(this.#clock.now());
    this.#coherence.applyTags(what.type, tags, at);
    const notice = this.#bus.tagNotice(what.type, tags, at);
    await this.#tags.writeMarkers(tags, at, what.operation, notice);
    await this.#announce(notice);
    this.#emitter.emit("invalidated", what.operation, undefined, undefined);
  }

  /** The write policy of an `insert`: the cache's, or merged with the call's options (checked). */
  #insertPolicy(options: InsertOptions | undefined, operation: string): LoadPolicy<V> {
    const policy = this.#policy;
    if (options === undefined) return policy;
    assertKnownKeys(options, INSERT_KEYS, operation);
    if (options.tags !== undefined) assertTagList(options.tags, "tags");
    const ttl = options.ttl === undefined ? policy.ttl : toMilliseconds(options.ttl, "ttl");
    return { ...policy, ttl, tags: options.tags };
  }

  /** One explicit write: the fence first, then every tier. */
  async #write(
    key: K,
    value: V | CacheEntry<V>,
    policy: LoadPolicy<V>,
    notice: CacheBusMessage | undefined,
  ): Promise<void> {
    const stampedAt = this.#tags.stamp(this.#clock.now());
    const entry = toEntry(value, { policy, stampedAt, valueMode: this.#valueMode });
    this.#coherence.fence(key);
    await this.#stack.writeAll(key, entry, { operation: "insert", explicit: true, notice });
  }

  /** Sends a write's message, unless a shared tier still owes that write (then the replay sends it). */
  async #announce(notice: CacheBusMessage | undefined): Promise<void> {
    if (notice === undefined || this.#recovery.holds(notice)) return;
    await this.#bus.publish(notice);
  }

  /** One message for the keys of a batch that were written and are not owed to a shared tier. */
  async #announceBatch(
    type: "set" | "invalidate",
    notices: readonly (CacheBusMessage | undefined)[],
    results: readonly PromiseSettledResult<void>[],
  ): Promise<void> {
    const keys: string[] = [];
    notices.forEach((notice, i) => {
      if (notice?.type !== type || results[i]!.status !== "fulfilled" || this.#recovery.holds(notice)) return;
      keys.push(...notice.keys);
    });
    if (keys.length > 0) await this.#bus.publish(this.#bus.keysNotice(type, keys));
  }
}

/** Rethrows the first failure of a batch whose other members were allowed to finish. */
function throwFirstRejection(results: readonly PromiseSettledResult<unknown>[]): void {
  for (const result of results) if (result.status === "rejected") throw result.reason;
}
