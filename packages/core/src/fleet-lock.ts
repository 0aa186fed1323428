/**
 * Fleet-wide stampede protection: one process in the fleet runs the loader for a key, the others
 * poll the shared tiers for its result.
 *
 * Owns the lock key format, the poll loop and the lease release. It must never hold a caller past
 * the lease (the wait gives up and this process loads by itself), never fail a load because the
 * lock service is down (that is reported as a `tier_error` of tier `"lock"`), and never release a
 * lease before the value it guards is in the shared tier (waiting processes poll for it).
 */
import type { CacheEntry, Clock, LockLease } from "@cachet/tier";
import type { CacheOperationName } from "@cachet/tier";
import type { CacheEmitter } from "./cache-emitter.js";
import type { BusKeys, LockConfig } from "./cache-config.js";
import { noop } from "./background-work.js";
import type { TierRead } from "./tier-stack.js";

/** What waiting for the fleet lock came to: our lease, another process's entry, or neither. */
export interface FleetLockResult<V> {
  readonly lease?: LockLease;
  readonly entry?: CacheEntry<V> | undefined;
}

/** @internal */
export class FleetLock<K, V> {
  readonly #config: LockConfig;
  readonly #cache: string;
  readonly #keys: BusKeys<K>;
  readonly #clock: Clock;
  readonly #emitter: CacheEmitter<K>;

  constructor(options: {
    config: LockConfig;
    cache: string;
    keys: BusKeys<K>;
    clock: Clock;
    emitter: CacheEmitter<K>;
  }) {
    this.#config = options.config;
    this.#cache = options.cache;
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.#emitter = options.emitter;
  }

  /**
   * Takes the lock for `key`, or waits (polling the shared tiers with `readShared`) while another
   * process holds it. Resolves to neither lease nor entry when the lock service is down, the wait
   * outlived the lease, or `shouldStop()` became true (then the caller loads by itself or stops).
   */
  async acquireOrWait(
    key: K,
    wait: {
      operation: CacheOperationName;
      shouldStop: () => boolean;
      readShared: () => Promise<TierRead<V>>;
    },
  ): Promise<FleetLockResult<V>> {
    const config = this.#config;
    const lockKey = `${this.#cache}:${this.#keys.encode(key)}`;
    const giveUpAt = this.#clock.now() + config.lease;
    for (;;) {
      let lease: LockLease | undefined;
      try {
        lease = await config.lock.tryAcquire(lockKey, config.lease);
      } catch (error) {
        this.#emitter.emit("tier_error", wait.operation, key, "lock", { error });
        return {};
      }
      if (lease !== undefined) return { lease };
      if (this.#emitter.observed()) this.#emitter.emit("coalesced", wait.operation, key, "lock");
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, config.pollInterval));
      if (wait.shouldStop()) return {};
      const found = await wait.readShared();
      if (found.entry !== undefined) return { entry: found.entry };
      if (this.#clock.now() >= giveUpAt) return {};
    }
  }

  /** Releases `lease` once `written` (the value's write to the shared tiers) has settled. */
  async release(
    lease: LockLease,
    after: { written: Promise<void> | undefined; operation: CacheOperationName; key: K },
  ): Promise<void> {
    // Waiting processes poll the shared tier: release only once the value is there.
    if (after.written !== undefined) await after.written.catch(noop);
    await this.#config.lock
      .release(lease)
      .catch((error: unknown) =>
        this.#emitter.emit("tier_error", after.operation, after.key, "lock", { error }),
      );
  }
}
