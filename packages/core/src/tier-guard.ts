/**
 * The tier guard: every call the cache makes to a tier goes through here (except the L1 fast
 * paths' synchronous read and a direct tier's promotions, see `TierSlot.direct`).
 *
 * Owns the per-call policy of a tier: circuit breaker, operation timeout, trace hook, wrapping a
 * failure as a `CacheError` with the tier's name, counting it and reporting it as `tier_error`.
 * It decides nothing else: whether a failure is swallowed or thrown follows `.tierErrors()` and is
 * applied by {@link TierGuard.settle} and {@link TierGuard.get}, never by the callers.
 * It must never let a tier's exception escape unwrapped, and never count a breaker skip as an error
 * (a skip is counted and reported as `tier_skipped`). Every successful call to a tier below L1
 * tells {@link TierGuard.onHealthy}, which starts the replay of that tier's pending writes.
 */
import { CacheError, isCacheError } from "@cachet/tier";
import type { CacheEntry, Clock, Milliseconds, VersionedRead } from "@cachet/tier";
import type { CacheOperationName } from "@cachet/tier";
import type { CacheEmitter, TraceHook } from "./cache-emitter.js";
import type { TierSlot } from "./cache-config.js";
import type { CacheCounters } from "./cache-stats.js";

/** Which public operation a tier call serves, and for which key (for events and traces). */
export interface TierCallSite<K> {
  readonly operation: CacheOperationName;
  readonly key?: K | undefined;
}

/** @internal */
export class TierGuard<K, V> {
  readonly #clock: Clock;
  readonly #tierErrors: "miss" | "throw";
  readonly #counters: CacheCounters;
  readonly #emitter: CacheEmitter<K>;
  readonly #traceTier: TraceHook | undefined;
  /** Told of every successful call to a tier below L1 (set by the write recovery). */
  onHealthy: ((index: number) => void) | undefined;

  constructor(options: {
    clock: Clock;
    tierErrors: "miss" | "throw";
    counters: CacheCounters;
    emitter: CacheEmitter<K>;
    traceTier: TraceHook | undefined;
  }) {
    this.#clock = options.clock;
    this.#tierErrors = options.tierErrors;
    this.#counters = options.counters;
    this.#emitter = options.emitter;
    this.#traceTier = options.traceTier;
  }

  /**
   * Runs one tier operation whose result is not needed. Never rejects: resolves to the error
   * (wrapped and reported) or `undefined`. Pass the results to {@link TierGuard.settle}.
   */
  call(
    slot: TierSlot<K, V>,
    index: number,
    run: () => Promise<unknown>,
    site: TierCallSite<K>,
  ): Promise<CacheError | undefined> {
    return this.#guard(slot, index, run, site).then(
      () => undefined,
      (error: unknown) => this.failed(error, slot, index, site),
    );
  }

  /**
   * Runs one tier operation whose result is needed. Never rejects: resolves to the result, or to
   * the error (wrapped and reported as by {@link TierGuard.call}).
   */
  attempt<T>(
    slot: TierSlot<K, V>,
    index: number,
    run: () => Promise<T>,
    site: TierCallSite<K>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: CacheError }> {
    return this.#guard(slot, index, run, site).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: this.failed(error, slot, index, site) }),
    );
  }

  /**
   * Reads one key with its version (`conditionalWrites.getVersioned`); a failure is a miss without
   * a version, unless `.tierErrors("throw")` or the tier is closed (as {@link TierGuard.get}).
   */
  getVersioned(
    slot: TierSlot<K, V>,
    index: number,
    key: K,
    operation: CacheOperationName,
  ): Promise<VersionedRead<V> | undefined> {
    const site = { operation, key };
    const conditional = slot.tier.conditionalWrites!;
    return this.#guard(slot, index, () => conditional.getVersioned(key), site).then(
      undefined,
      (error: unknown) => {
        const wrapped = this.failed(error, slot, index, site);
        if (this.#tierErrors === "throw" || wrapped.code === "CLOSED") throw wrapped;
        return undefined;
      },
    );
  }

  /** Reads one key; a failure is a miss, unless `.tierErrors("throw")` or the tier is closed. */
  get(
    slot: TierSlot<K, V>,
    index: number,
    key: K,
    operation: CacheOperationName,
  ): Promise<CacheEntry<V> | undefined> {
    if (this.#traceTier === undefined && slot.timeout === undefined)
      return this.#getDirect(slot, index, key, operation);
    const site = { operation, key };
    return this.#guard(slot, index, () => slot.tier.get(key), site).then(undefined, (error: unknown) => {
      const wrapped = this.failed(error, slot, index, site);
      if (this.#tierErrors === "throw" || wrapped.code === "CLOSED") throw wrapped;
      return undefined;
    });
  }

  /**
   * True when a read of `slot` needs no wrapping promise of the guard's (no trace hook, no tier
   * timeout: the default), so a caller may fuse {@link TierGuard.admitRead},
   * {@link TierGuard.readSucceeded} and {@link TierGuard.readFailed} into its own continuation of
   * the tier's promise. Together they are exactly {@link TierGuard.get}.
   */
  readsDirect(slot: TierSlot<K, V>): boolean {
    return this.#traceTier === undefined && slot.timeout === undefined;
  }

  /**
   * Before a fused read: `undefined` when the breaker lets the read through (the tier may be
   * called), otherwise what {@link TierGuard.get} answers for the skip (reported as `tier_skipped`):
   * a miss, or a rejection with `.tierErrors("throw")`.
   */
  admitRead(
    slot: TierSlot<K, V>,
    index: number,
    key: K,
    operation: CacheOperationName,
  ): Promise<undefined> | undefined {
    const breaker = slot.breaker;
    if (breaker === undefined || breaker.tryAcquire()) return undefined;
    const wrapped = this.failed(circuitOpen(slot.name), slot, index, { operation, key });
    return this.#tierErrors === "throw" ? Promise.reject(wrapped) : Promise.resolve(undefined);
  }

  /** A fused read answered: the breaker records the success, then the tier is reported healthy. */
  readSucceeded(slot: TierSlot<K, V>, index: number): void {
    slot.breaker?.recordSuccess();
    // After the breaker recorded the success, so that a replay it starts is let through.
    if (index > 0) this.onHealthy?.(index);
  }

  /**
   * A fused read failed: recorded by the breaker (unless a codec error), wrapped and reported; a
   * miss (returns `undefined`) unless `.tierErrors("throw")` or the tier is closed (throws).
   */
  readFailed(
    error: unknown,
    slot: TierSlot<K, V>,
    index: number,
    key: K,
    operation: CacheOperationName,
  ): undefined {
    const breaker = slot.breaker;
    if (breaker !== undefined && !isCodecError(error)) breaker.recordFailure();
    const wrapped = this.failed(error, slot, index, { operation, key });
    if (this.#tierErrors === "throw" || wrapped.code === "CLOSED") throw wrapped;
    return undefined;
  }

  /**
   * {@link TierGuard.get} without a trace hook or timeout (the default): the breaker, the health
   * report and the failure policy in one `then`, where the general path chains three.
   */
  #getDirect(
    slot: TierSlot<K, V>,
    index: number,
    key: K,
    operation: CacheOperationName,
  ): Promise<CacheEntry<V> | undefined> {
    const breaker = slot.breaker;
    const onHealthy = index > 0 ? this.onHealthy : undefined;
    const onError = (error: unknown): undefined => this.readFailed(error, slot, index, key, operation);
    const skipped = this.admitRead(slot, index, key, operation);
    if (skipped !== undefined) return skipped;
    let read: Promise<CacheEntry<V> | undefined>;
    try {
      read = slot.tier.get(key);
    } catch (error) {
      read = Promise.reject(error);
    }
    if (breaker === undefined && onHealthy === undefined) return read.then(undefined, onError);
    return read.then((entry) => {
      breaker?.recordSuccess();
      // After the breaker recorded the success, so that a replay it starts is let through.
      onHealthy?.(index);
      return entry;
    }, onError);
  }

  /** Reads many keys in one call (`getMany`, or `get` per key); a failure is a miss for all of them. */
  async getMany(
    slot: TierSlot<K, V>,
    index: number,
    keys: readonly K[],
    operation: CacheOperationName,
  ): Promise<(CacheEntry<V> | undefined)[]> {
    try {
      return await this.#guard(
        slot,
        index,
        () =>
          slot.tier.getMany ? slot.tier.getMany(keys) : Promise.all(keys.map((key) => slot.tier.get(key))),
        { operation: "get" },
      );
    } catch (error) {
      const wrapped = this.failed(error, slot, index, { operation });
      if (this.#tierErrors === "throw" || wrapped.code === "CLOSED") throw wrapped;
      return keys.map(() => undefined);
    }
  }

  /**
   * Waits for tier calls. Background work (`explicit: false`) never throws; an explicit operation
   * rethrows the first failure with `.tierErrors("throw")`, and always for `CODEC` and `CLOSED`.
   */
  async settle(
    calls: readonly Promise<CacheError | undefined>[],
    options: { explicit: boolean },
  ): Promise<void> {
    const errors = await Promise.all(calls);
    if (!options.explicit) return;
    const first = errors.find((error) => error !== undefined);
    if (first === undefined) return;
    if (this.#tierErrors === "throw" || first.code === "CODEC" || first.code === "CLOSED") throw first;
  }

  /** Wraps a tier's failure as a `CacheError`, counts and reports it (a skip by an open breaker is neither). */
  failed(error: unknown, slot: TierSlot<K, V>, index: number, site: TierCallSite<K>): CacheError {
    const wrapped = toTierError(error, slot.name);
    if (wrapped.code !== "CIRCUIT_OPEN") {
      this.#counters.tiers[index]!.errors++;
      this.#emitter.emit("tier_error", site.operation, site.key, slot.name, { error: wrapped });
    } else {
      // Not an error of the tier, but never silent: a skipped write is recorded by the caller.
      this.#counters.tiers[index]!.skipped++;
      this.#emitter.emit("tier_skipped", site.operation, site.key, slot.name, { error: wrapped });
    }
    return wrapped;
  }

  /** Applies the tier's circuit breaker, trace hook and operation timeout to one call. */
  #guard<T>(slot: TierSlot<K, V>, index: number, run: () => Promise<T>, site: TierCallSite<K>): Promise<T> {
    const breaker = slot.breaker;
    if (breaker !== undefined && !breaker.tryAcquire()) return Promise.reject(circuitOpen(slot.name));
    let promise: Promise<T>;
    try {
      const trace = this.#traceTier;
      promise =
        trace !== undefined && index > 0
          ? trace(
              this.#emitter.traced({
                key: site.key,
                operation: site.operation,
                tier: slot.name,
                background: false,
              }),
              run,
            )
          : run();
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (slot.timeout !== undefined) promise = withTimeout(promise, slot.timeout, this.#clock, slot.name);
    const onHealthy = index > 0 ? this.onHealthy : undefined;
    if (onHealthy !== undefined) {
      // After the breaker recorded the success, so that a replay it starts is let through.
      return this.#withBreaker(breaker, promise).then((value) => {
        onHealthy(index);
        return value;
      });
    }
    return this.#withBreaker(breaker, promise);
  }

  #withBreaker<T>(breaker: TierSlot<K, V>["breaker"], promise: Promise<T>): Promise<T> {
    if (breaker === undefined) return promise;
    return promise.then(
      (value) => {
        breaker.recordSuccess();
        return value;
      },
      (error: unknown) => {
        if (!isCodecError(error)) breaker.recordFailure();
        throw error;
      },
    );
  }
}

/** A value the codec refuses (or bad options) says nothing about the tier's health. */
function isCodecError(error: unknown): boolean {
  return isCacheError(error) && (error.code === "CODEC" || error.code === "INVALID_OPTION");
}

function circuitOpen(tier: string): CacheError {
  return new CacheError("CIRCUIT_OPEN", `tier \`${tier}\` is skipped: its circuit breaker is open`, { tier });
}

/** A human-readable reason for an unknown error. @internal */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toTierError(error: unknown, tier: string): CacheError {
  if (isCacheError(error)) return error;
  return new CacheError("TIER_FAILURE", `tier \`${tier}\` failed: ${describeError(error)}`, {
    tier,
    cause: error,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: Milliseconds, clock: Clock, tier: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(new CacheError("TIMEOUT", `tier \`${tier}\` did not answer within ${ms} ms`, { tier }));
    }, ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
