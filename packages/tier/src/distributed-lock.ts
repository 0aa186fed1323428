import type { Milliseconds } from "./duration.js";

/** A held lock: pass it back to {@link DistributedLock.release}. */
export interface LockLease {
  readonly key: string;
  /** Token proving ownership; release only succeeds while it matches. */
  readonly token: string;
}

/**
 * A fleet-wide mutual exclusion with a lease, for cross-process stampede protection: concurrent
 * misses on one key in different processes run the loader once in the whole fleet.
 *
 * Contract: `tryAcquire` resolves to a lease when this caller now holds the lock, or `undefined`
 * when another holder has it; it rejects when the lock service is unreachable (the cache then
 * loads locally). A lease expires by itself after `lease` ms, so a crashed holder never blocks
 * the fleet for longer. `release` frees the lock only if the lease's token still holds it.
 */
export interface DistributedLock {
  tryAcquire(key: string, lease: Milliseconds): Promise<LockLease | undefined>;
  release(lease: LockLease): Promise<void>;
}
