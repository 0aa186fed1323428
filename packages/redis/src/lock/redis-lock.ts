import { createHash, randomBytes } from "node:crypto";
import { CacheError, assertKnownOptions, toMilliseconds, toPositiveMilliseconds } from "@cachet/tier";
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
   * How long a released lock keeps a "just released" marker. A process that asks for the lock
   * while the marker is there gets `undefined` once (as if the lock were held), so it reads the
   * shared tier again before it may take the lock, and finds what the holder wrote before
   * releasing. Without it, a waiter whose miss was read just before the holder's write, and whose
   * lock attempt lands just after the release, loads a second time. The guarantee holds for any
   * waiter whose read and next lock attempt are less than this apart; the cost is one extra poll
   * for a process that misses the key within this time after a load (or after a failed one).
   * `0` deletes the key on release, with no marker.
   * @default 2000
   */
  releaseLinger?: Duration;
  /**
   * Receives the connection errors of a client the lock created from a URL (the lock's calls
   * report their own failures by rejecting). Without it they are dropped, never printed.
   * Exceptions thrown here are ignored.
   */
  onError?: (error: CacheError) => void;
}

const LOCK_NAME = "redis-lock";
const KNOWN_OPTIONS = ["client", "prefix", "commandTimeout", "releaseLinger", "onError"];

/** What a released lock key holds for `releaseLinger` ms: this prefix and the released token. */
const RELEASED = "released:";

/**
 * Frees the key only while it still holds the caller's token (a lease that expired is not freed
 * twice): replaces it with a "released" marker for ARGV[2] ms, or deletes it when that is 0.
 */
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == "0" then return redis.call("DEL", KEYS[1]) end
redis.call("SET", KEYS[1], "${RELEASED}" .. ARGV[1], "PX", ARGV[2])
return 1`;

/**
 * Takes the lock (ARGV[1] token, ARGV[2] lease ms) when the key is free, or holds the marker this
 * caller already saw (ARGV[3]); otherwise returns a new marker it meets (to be seen), or 0 (held).
 */
const ACQUIRE_SCRIPT = `local v = redis.call("GET", KEYS[1])
if v == false or (ARGV[3] ~= "" and v == ARGV[3]) then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
if string.sub(v, 1, ${RELEASED.length}) == "${RELEASED}" then return v end
return 0`;

const sha1 = (source: string): string => createHash("sha1").update(source).digest("hex");
const SCRIPTS = {
  release: { source: RELEASE_SCRIPT, sha: sha1(RELEASE_SCRIPT) },
  acquire: { source: ACQUIRE_SCRIPT, sha: sha1(ACQUIRE_SCRIPT) },
};

/** Bound on the markers remembered per lock instance (one per key being waited on). */
const MAX_SEEN_MARKERS = 10_000;

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
 * Both calls are one Lua script on one key (EVALSHA, EVAL on NOSCRIPT), so they work on a Cluster.
 * `tryAcquire` sets `<key>` to a random token with `PX <lease>` when the key is free; `release`
 * replaces the token (only while it is the lease's) with a "just released" marker for
 * `releaseLinger`. A process that meets a marker it has not seen gets `undefined`, reads the shared
 * tier once more (the cache does that between attempts) and finds the holder's value; when it
 * meets the same marker again (the holder wrote nothing: its loader failed) it takes the lock.
 * A holder that crashes blocks others for at most `lease`.
 *
 * Limits, both costing one extra load (never a wrong value in the shared tier): a waiter whose
 * miss and next lock attempt are `releaseLinger` or more apart (a process stalled that long) can
 * still load after the holder; and a loader that outlives `lease` lets a waiter load (the cache
 * gives up waiting after `lease`). Not Redlock: with a failover, a lease can be granted twice.
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
  readonly #linger: Milliseconds;
  /** The "released" marker each lock key showed this instance last, until it is used or replaced. */
  readonly #seen = new Map<string, string>();
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
    this.#timeout = toPositiveMilliseconds(options.commandTimeout ?? 500, "commandTimeout");
    this.#linger = toMilliseconds(options.releaseLinger ?? 2_000, "releaseLinger");
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
    const lockKey = this.keyOf(key);
    const seen = this.#seen.get(lockKey) ?? "";
    const reply = await this.#script("acquire", [lockKey, token, String(lease), seen]);
    if (reply === 1) {
      this.#seen.delete(lockKey);
      return { key, token };
    }
    if (typeof reply === "string") {
      if (this.#seen.size >= MAX_SEEN_MARKERS) this.#seen.clear(); // costs at most one extra poll each
      this.#seen.set(lockKey, reply);
    }
    return undefined;
  }

  /**
   * Frees the lock if `lease` still holds it; a lease that expired (and maybe went to another
   * holder) is left alone.
   * @throws {CacheError} as {@link RedisLock.tryAcquire}.
   */
  async release(lease: LockLease): Promise<void> {
    await this.#script("release", [this.keyOf(lease.key), lease.token, String(Math.ceil(this.#linger))]);
  }

  /** Runs one of the lock's scripts on the key `key` (EVALSHA, then EVAL on NOSCRIPT). */
  async #script(name: keyof typeof SCRIPTS, [key, ...args]: string[]): Promise<unknown> {
    const { source, sha } = SCRIPTS[name];
    try {
      return await this.#call("EVALSHA", [sha, "1", key!, ...args], key!);
    } catch (error) {
      if (!/NOSCRIPT/.test(describeError(error))) throw error;
      return this.#call("EVAL", [source, "1", key!, ...args], key!);
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
