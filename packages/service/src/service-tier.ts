import { CacheError, isCacheError } from "@cachet/tier";
import type { CacheEntry, CacheTier } from "@cachet/tier";
import type { CacheOperation, CacheOperationName, CacheService, ResponseFor } from "./cache-operation.js";

/** Options for {@link ServiceTier}. */
export interface ServiceTierOptions<K, V> {
  /** The tier's name, used in errors, events and telemetry, e.g. `"redis"`. Must not be empty. */
  name: string;
  /** The storage service that answers every operation, usually layers around `tierAsService(tier)`. */
  service: CacheService<K, V>;
  /**
   * Called once by the first {@link ServiceTier.close}, to release what the service holds (for
   * example the wrapped tier's `close`). Without it, closing only stops this tier from serving.
   * @default none
   */
  close?: (() => Promise<void>) | undefined;
}

/**
 * A tier that forwards every call to a storage service: the way back from a layered service to a
 * `CacheTier` that a cache, or anything else that takes tiers, can use.
 *
 * It implements the batch methods too (the service decides how to answer them; `tierAsService`
 * falls back to per-key calls), and `size` when the storage can count. It has no `getSync`.
 *
 * Errors: a `CacheError` from the service passes through unchanged; any other rejection becomes
 * `TIER_FAILURE` with the original error as `cause`, as does an answer whose `op` differs from the
 * request's. After {@link ServiceTier.close} every call rejects with `CLOSED` without reaching the
 * service.
 *
 * @example
 * const l2 = new ServiceTier({
 *   name: "redis",
 *   service: compose(retry({ attempts: 3 }), timeout(200))(tierAsService(redisTier)),
 *   close: () => redisTier.close(),
 * });
 */
export class ServiceTier<K, V> implements CacheTier<K, V> {
  readonly name: string;
  readonly #service: CacheService<K, V>;
  readonly #onClose: (() => Promise<void>) | undefined;
  #closing: Promise<void> | undefined;

  /** @throws CacheError `INVALID_OPTION` when `name` is empty, `service` has no `call`, or `close` is not a function. */
  constructor(options: ServiceTierOptions<K, V>) {
    if (typeof options !== "object" || options === null) {
      throw new CacheError("INVALID_OPTION", "`options` must be an object with `name` and `service`");
    }
    if (typeof options.name !== "string" || options.name.length === 0) {
      throw new CacheError("INVALID_OPTION", "`name` must be a non-empty string");
    }
    const service = options.service as Partial<CacheService<K, V>> | null | undefined;
    if (typeof service !== "object" || service === null || typeof service.call !== "function") {
      throw new CacheError("INVALID_OPTION", "`service` must be an object with a `call` method", {
        tier: options.name,
      });
    }
    if (options.close !== undefined && typeof options.close !== "function") {
      throw new CacheError("INVALID_OPTION", "`close` must be a function", { tier: options.name });
    }
    this.name = options.name;
    this.#service = options.service;
    this.#onClose = options.close;
  }

  async get(key: K): Promise<CacheEntry<V> | undefined> {
    return (await this.#call("get", { op: "get", key })).entry;
  }

  async insert(key: K, entry: CacheEntry<V>): Promise<void> {
    await this.#call("insert", { op: "insert", key, entry });
  }

  async invalidate(key: K): Promise<void> {
    await this.#call("invalidate", { op: "invalidate", key });
  }

  async clear(): Promise<void> {
    await this.#call("clear", { op: "clear" });
  }

  async getMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    const response = await this.#call("getMany", { op: "getMany", keys });
    const entries: unknown = response.entries;
    if (!Array.isArray(entries) || entries.length !== keys.length) {
      throw new CacheError(
        "TIER_FAILURE",
        `service answered \`getMany\` of ${keys.length} keys with ${Array.isArray(entries) ? entries.length : "no"} entries`,
        { tier: this.name },
      );
    }
    return [...response.entries];
  }

  async insertMany(entries: readonly (readonly [K, CacheEntry<V>])[]): Promise<void> {
    await this.#call("insertMany", { op: "insertMany", entries });
  }

  async invalidateMany(keys: readonly K[]): Promise<void> {
    await this.#call("invalidateMany", { op: "invalidateMany", keys });
  }

  /**
   * The entry count the service answers (`tierAsService` asks the wrapped tier).
   * @throws CacheError `TIER_FAILURE` when the storage behind the service cannot count.
   */
  async size(): Promise<number> {
    const { size } = await this.#call("size", { op: "size" });
    if (size === undefined) {
      throw new CacheError("TIER_FAILURE", "the storage behind this tier cannot count its entries", {
        tier: this.name,
      });
    }
    return size;
  }

  /** True once {@link ServiceTier.close} has been called. */
  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stops serving and runs the `close` option once. Idempotent: later calls return the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#onClose === undefined ? Promise.resolve() : this.#runClose(this.#onClose);
    return this.#closing;
  }

  async #runClose(onClose: () => Promise<void>): Promise<void> {
    try {
      await onClose();
    } catch (error) {
      throw this.#asCacheError(error, "close");
    }
  }

  async #call<Op extends CacheOperationName>(
    op: Op,
    operation: Extract<CacheOperation<K, V>, { readonly op: Op }>,
  ): Promise<ResponseFor<V, Op>> {
    if (this.#closing !== undefined) {
      throw new CacheError("CLOSED", `tier \`${this.name}\` is closed`, { tier: this.name });
    }
    let response: unknown;
    try {
      response = await this.#service.call(operation);
    } catch (error) {
      throw this.#asCacheError(error, op);
    }
    if (typeof response !== "object" || response === null || (response as { op?: unknown }).op !== op) {
      const got =
        typeof response === "object" && response !== null ? (response as { op?: unknown }).op : response;
      throw new CacheError(
        "TIER_FAILURE",
        `service answered \`${op}\` with ${JSON.stringify(got) ?? String(got)}`,
        {
          tier: this.name,
        },
      );
    }
    return response as ResponseFor<V, Op>;
  }

  #asCacheError(error: unknown, op: string): CacheError {
    if (isCacheError(error)) return error;
    return new CacheError("TIER_FAILURE", `\`${op}\` failed on tier \`${this.name}\``, {
      tier: this.name,
      cause: error,
    });
  }
}
