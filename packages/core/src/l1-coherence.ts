/**
 * Keeps what this instance holds honest when a key changes: the write fence for local writes, and,
 * for a change made elsewhere (another instance's bus message, a bus gap, a tier reporting an
 * outside change), the L1 copy expired or dropped.
 *
 * Invariants a change here must not break:
 * - `fence` / `fenceAll` run BEFORE the write they protect reaches any tier: from then on no load,
 *   refresh, promotion or shared read that started earlier may write or answer for the key.
 * - A change made elsewhere never leaves a fresh-looking L1 copy: the copy is removed, or (with
 *   fail-safe) kept only as expired past the stale-while-revalidate window, so the next read goes
 *   to the shared tier and the old value is served only if a load then fails.
 */
import type { CacheEntry, Clock } from "@cachet/tier";
import { noop } from "./background-work.js";
import type { TierSlot } from "./cache-config.js";
import type { LoadCoordinator } from "./load-coordinator.js";
import type { LoadPolicy } from "./load-policy.js";
import type { SharedReads } from "./shared-reads.js";
import type { TagLedger, TagOperationType } from "./tag-ledger.js";
import type { L1Reader } from "./tier-stack.js";
import type { WriteRecovery } from "./write-recovery.js";

/** @internal */
export class L1Coherence<K, V> {
  readonly #l1: TierSlot<K, V>;
  readonly #readL1: L1Reader<K, V> | undefined;
  readonly #policy: LoadPolicy<V>;
  readonly #clock: Clock;
  readonly #reads: SharedReads<K, V>;
  readonly #loads: LoadCoordinator<K, V>;
  readonly #tags: TagLedger<K, V>;
  readonly #recovery: WriteRecovery<K, V>;

  constructor(options: {
    l1: TierSlot<K, V>;
    readL1: L1Reader<K, V> | undefined;
    policy: LoadPolicy<V>;
    clock: Clock;
    reads: SharedReads<K, V>;
    loads: LoadCoordinator<K, V>;
    tags: TagLedger<K, V>;
    recovery: WriteRecovery<K, V>;
  }) {
    this.#l1 = options.l1;
    this.#readL1 = options.readL1;
    this.#policy = options.policy;
    this.#clock = options.clock;
    this.#reads = options.reads;
    this.#loads = options.loads;
    this.#tags = options.tags;
    this.#recovery = options.recovery;
  }

  /**
   * The write fence for one key: loads, refreshes, promotions and shared reads that started before
   * this call may no longer write or answer for `key` (see `key-fences.ts`).
   */
  fence(key: K): void {
    this.#reads.forget(key);
    this.#loads.supersede(key);
  }

  /** The write fence for every key (clear, tag operation, bus gap). */
  fenceAll(): void {
    this.#reads.forgetAll();
    this.#loads.supersedeAll();
  }

  /** Records tag times and stops loads in flight from writing entries made before them. */
  applyTags(type: TagOperationType, tags: readonly string[], at: number): void {
    this.#tags.apply(type, tags, at);
    this.fenceAll();
  }

  /** `key` was written or removed elsewhere: fence it, and expire this instance's L1 copy. */
  changedElsewhere(key: K): void {
    this.fence(key);
    this.#recovery.writtenElsewhere(key);
    this.#expireL1(key);
  }

  /** Anything may have changed elsewhere (a clear, a bus gap): fence everything and empty L1. */
  everythingChangedElsewhere(): void {
    this.fenceAll();
    this.#recovery.writtenElsewhere();
    void this.#l1.tier.clear().catch(noop);
  }

  /**
   * Marks this instance's L1 copy of `key` as expired past the stale-while-revalidate window: the
   * next read goes to the shared tier, while the old value stays available to fail-safe.
   */
  #expireL1(key: K): void {
    const tier = this.#l1.tier;
    const entry: CacheEntry<V> | undefined = this.#readL1?.(key, "bus");
    const failSafe = this.#policy.failSafe;
    if (entry === undefined || entry.cachedAt === undefined || failSafe === undefined) {
      void tier.invalidate(key).catch(noop);
      return;
    }
    const now = this.#clock.now();
    const retainUntil = entry.retainUntil ?? now + failSafe.maxStaleAge;
    const cachedAt = now - this.#policy.swr - 1;
    const expired = entry.with({ cachedAt, ttl: 0, staleFor: Math.max(0, retainUntil - cachedAt) });
    void tier.insert(key, expired).catch(noop);
  }
}
