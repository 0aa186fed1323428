import { createHash, randomBytes } from "node:crypto";
import { CacheError, assertKnownOptions, toMilliseconds } from "@cachet/tier";
import type { DistributedLock, Duration, LockLease, Milliseconds } from "@cachet/tier";
import type { RedisConnectionInput, ResolvedConnection } from "../connection/resolve-connection.js";
import { checkClientOption, describeError, resolveConnection } from "../connection/resolve-connection.js";

/** Options for {@link RedisLock}. */
export interface RedisLockOptions {
  /**
   * The Redis connection: an ioredis `Redis` or `Cluster`, or a connected node-redis client or
   * cluster, that you made (never closed by the lock), or a `redis://` URL (the lock creates an
   * ioredis client, reports its connection errors to `onError`, and closes it in `close()`).
   */
  client: RedisConnectionInput;
  /** Prefix of the lock keys; a lock for `key` is stored at `<prefix><escaped key>`. @default "cachet:lock:" */
  prefix?: string;
  /**
   * Upper bound on each Redis call. A call that takes longer rejects, and the cache loads locally,
   * so a hung Redis cannot hold up a miss for longer than this.
   * @default 500
   */
  commandTimeout?: Duration;
  /**
   * Receives the connection errors of a client the lock created from a URL (the lock's calls
   * report their own failures by rejecting). Without it they are dropped, never printed.
   * Exceptions thrown here are ignored.
   */
  onError?: (error: CacheError) => void;
}

const LOCK_NAME = "redis-lock";
const KNOWN_OPTIONS = ["client", "prefix", "commandTimeout", "onError"];

/** Deletes the key only while it still holds the caller's token (a lease that expired is not freed twice). */
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;
const RELEASE_SHA = createHash("sha1").update(RELEASE_SCRIPT).digest("hex");

/**
 * Escapes the characters Redis treats as glob syntax (`*?[]\`), so that a user key never becomes a
 * pattern if the lock keys are ever listed or deleted with `SCAN MATCH <prefix>*`. Backslash is
 * escaped too, so the mapping is injective.
 */
export function escapeLockKey(key: string): string {
  return key.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * A {@link DistributedLock} in Redis, for the cache builder's `.distributedStampedeProtection()`:
 * concurrent misses on one key in different processes run the loader once in the whole fleet.
 *
 * `tryAcquire` is `SET <key> <random token> NX PX <lease>`; `release` runs a Lua script (EVALSHA,
 * EVAL on NOSCRIPT) that deletes the key only while it holds the lease's token. A holder that
 * crashes blocks others for at most `lease`. On a Cluster each lock key lives on its own slot.
 * Not Redlock: with a failover, a lease can be granted twice; for a cache stampede that costs one
 * extra load, never a wrong value.
 *
 * `tryAcquire` rejects at once when a connection that was up is lost (instead of waiting in the
 * client's offline queue), and after `commandTimeout`; the cache then loads locally. Works with
 * ioredis and node-redis clients alike.
 *
 * @example
 * const cache = Cache.builder<string, User>()
 *   .memory({ maxEntries: 10_000 })
 *   .fallback(Cache.builder<string, User>().storage(new RedisTier({ client: redis, prefix: "users" })))
 *   .distributedStampedeProtection({ lock: new RedisLock({ client: redis }), lease: 5_000 })
 *   .build();
 *
 * @throws {CacheError} `INVALID_OPTION` from the constructor for a bad option.
 */
export class RedisLock implements DistributedLock {
  readonly #prefix: string;
  readonly #resolved: Promise<ResolvedConnection>;
  readonly #timeout: Milliseconds;
  #closed = false;

  constructor(options: RedisLockOptions) {
    if (typeof options !== "object" || options === null) {
      throw new CacheError("INVALID_OPTION", "`options` must be an object", { tier: LOCK_NAME });
    }
    assertKnownOptions(options, KNOWN_OPTIONS, { owner: "RedisLock", tier: LOCK_NAME });
    checkClientOption(options.client, LOCK_NAME);
    const prefix = options.prefix ?? "cachet:lock:";
    if (typeof prefix !== "string") {
      throw new CacheError("INVALID_OPTION", "`prefix` must be a string", { tier: LOCK_NAME });
    }
    this.#prefix = prefix;
    this.#timeout = toMilliseconds(options.commandTimeout ?? 500, "commandTimeout", false);
    const onError = options.onError;
    this.#resolved = resolveConnection(options.client, LOCK_NAME, (error) => {
      try {
        onError?.(
          new CacheError("TIER_FAILURE", `lock connection error: ${describeError(error)}`, {
            tier: LOCK_NAME,
            cause: error,
          }),
        );
      } catch {
        // A throwing callback must not break the lock.
      }
    });
    this.#resolved.catch(() => undefined);
  }

  /** The Redis key of the lock for `key`. */
  keyOf(key: string): string {
    return this.#prefix + escapeLockKey(key);
  }

  /**
   * @throws {CacheError} `TIER_FAILURE` when Redis is unreachable or errs, `TIMEOUT` after
   * `commandTimeout`, `CLOSED` after {@link RedisLock.close}, `INVALID_OPTION` for a lease that is
   * not a positive number of milliseconds.
   */
  async tryAcquire(key: string, lease: Milliseconds): Promise<LockLease | undefined> {
    if (!Number.isInteger(lease) || lease < 1) {
      throw new CacheError("INVALID_OPTION", "`lease` must be a positive integer of milliseconds", {
        tier: LOCK_NAME,
      });
    }
    const token = randomBytes(16).toString("base64url");
    const redisKey = this.keyOf(key);
    const reply = await this.#call("SET", [redisKey, token, "NX", "PX", String(lease)], redisKey);
    return reply === "OK" ? { key, token } : undefined;
  }

  /**
   * Frees the lock if `lease` still holds it; a lease that expired (and maybe went to another
   * holder) is left alone.
   * @throws {CacheError} as {@link RedisLock.tryAcquire}.
   */
  async release(lease: LockLease): Promise<void> {
    const redisKey = this.keyOf(lease.key);
    const args = ["1", redisKey, lease.token];
    try {
      await this.#call("EVALSHA", [RELEASE_SHA, ...args], redisKey);
    } catch (error) {
      if (!/NOSCRIPT/.test(describeError(error))) throw error;
      await this.#call("EVAL", [RELEASE_SCRIPT, ...args], redisKey);
    }
  }

  /** Closes the connection the lock created from a URL; a client you passed stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const resolved = await this.#resolved.catch(() => undefined);
    if (resolved?.owned === true) await resolved.connection.close().catch(() => undefined);
  }

  async #call(command: string, args: string[], key: string): Promise<unknown> {
    if (this.#closed) throw new CacheError("CLOSED", "the lock is closed", { tier: LOCK_NAME });
    const { connection } = await this.#resolved;
    // A first connection still being made is worth waiting for (within the timeout); a connection
    // that was lost is not: the cache should load locally at once.
    const status = connection.status();
    if (status !== "ready" && status !== "connecting") {
      throw new CacheError(
        "TIER_FAILURE",
        `the Redis connection is ${status === "down" ? "down" : "closed"} (${connection.kind})`,
        { tier: LOCK_NAME },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CacheError("TIMEOUT", `${command} took more than ${this.#timeout} ms`, { tier: LOCK_NAME }),
          ),
        this.#timeout,
      );
    });
    try {
      return await Promise.race([connection.call([command, ...args], key), timeout]);
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheError("TIER_FAILURE", `${command} failed: ${describeError(error)}`, {
        tier: LOCK_NAME,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
