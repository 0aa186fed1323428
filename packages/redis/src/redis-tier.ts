/**
 * `RedisTier`: the CacheTier contract over one Redis deployment (standalone or Cluster), with its
 * options, key encoding, envelope decoding, batching per node and the optional capabilities
 * (conditional writes, external changes through `tracking`, the `attach` prefix, `onReady`).
 *
 * Length: about 720 lines, over the house limit: the capabilities were added in parallel this
 * release. The options live in `redis-tier-options.ts`, tracking in `tracking/`, a command in
 * flight in `redis-command.ts`. Next split: the write paths next to `conditional-write.ts`.
 */
import {
  CacheEntry,
  CacheError,
  assertKnownOptions,
  isCacheError,
  structuredCodec,
  systemClock,
  toMilliseconds,
  toPositiveMilliseconds,
} from "@cachet/tier";
import type {
  CacheTier,
  Clock,
  Codec,
  ConditionalWrites,
  ExternalChanges,
  Milliseconds,
  TierAttachContext,
  TierReadReceiver,
} from "@cachet/tier";
import type { DecodedVersioned } from "./conditional-write.js";
import { countEntries, RedisConditionalWrites, tombstoneTtlOf, writeVersioned } from "./conditional-write.js";
import { isConnectOptions } from "./connect-options.js";
import { createIORedisClient, resolveConnectOptions } from "./create-ioredis-client.js";
import { DeadlineSweeper } from "./deadline-sweeper.js";
import { RedisCommand } from "./redis-command.js";
import type { ReplyMap, ReplyReceiver } from "./redis-command.js";
import { decodeEnvelope, encodeEnvelope } from "./envelope.js";
import type { DecodedEnvelope, DecodedTombstone } from "./envelope.js";
import { ioredisAdapter, isIORedisLike } from "./ioredis-adapter.js";
import { decodeKeyPart, encodeKeyPart, escapeGlob, escapePrefix } from "./key-codec.js";
import { isNodeRedisLike, nodeRedisAdapter } from "./node-redis-adapter.js";
import type { RedisAdapter, RedisWrite } from "./redis-adapter.js";
import type { RedisTierEvent } from "./redis-tier-event.js";
import { DEFAULT_COMMAND_TIMEOUT, KNOWN_OPTIONS } from "./redis-tier-options.js";
import type { RedisTierOptions } from "./redis-tier-options.js";
import { RedisTracking } from "./tracking/redis-tracking.js";
import { resolveTracking } from "./tracking/tracking-options.js";

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A cache tier in Redis (standalone or Cluster), usually the shared L2 behind an in-process L1.
 *
 * Each entry is one Redis key, `<prefix>:<key>`, holding a compact versioned envelope (cachedAt,
 * ttl, staleFor, tags) followed by the codec's bytes, and expiring through Redis's own `PX` at
 * `cachedAt + ttl + staleFor`. Reads re-check that instant on the tier's clock, and return the
 * entry's `cachedAt` and `ttl`, so a caller sees the time it has left.
 *
 * Failures reject with `CacheError`: `TIER_FAILURE` (Redis error or connection down, with the
 * cause), `TIMEOUT` (`commandTimeout` elapsed), `CODEC` (value not encodable; nothing stored),
 * `CLOSED` (after `close()`). Bytes under the prefix that cannot be read are a miss and an event.
 *
 * @example
 * const tier = new RedisTier<string, User>({ client: "redis://localhost:6379", prefix: "users", ttl: "5m" });
 * await tier.insert("42", CacheEntry.expiresAfter(user, 60_000));
 * const entry = await tier.get("42");
 * await tier.close();
 */
export class RedisTier<K = string, V = unknown> implements CacheTier<K, V> {
  readonly name: string;
  /** Escaped prefix; `undefined` until a named cache attaches a tier built without one. */
  #prefix: string | undefined;
  /** Name of the cache that gave this tier its prefix, when it did. */
  #attachedTo: string | undefined;
  readonly #failFastBeforeConnect: boolean;
  readonly #codec: Codec<V>;
  readonly #codecName: string;
  readonly #ttl: Milliseconds | undefined;
  readonly #clock: Clock;
  readonly #timeout: Milliseconds;
  readonly #deadlines: DeadlineSweeper;
  readonly #serializeKey: ((key: K) => string) | undefined;
  readonly #scanCount: number;
  readonly #onEvent: ((event: RedisTierEvent) => void) | undefined;
  /** Whether `close()` must call the adapter's `close()`: the tier made the client or the adapter. */
  readonly #closesAdapter: boolean;
  #adapter: RedisAdapter | undefined;
  readonly #pendingAdapter: Promise<RedisAdapter> | undefined;
  #closed = false;
  /** Set when conditional writes are on: how long tombstones last. */
  readonly #tombstoneTtl: Milliseconds | undefined;
  /** Versioned, conditional writes, when the `conditionalWrites` option turned them on. */
  readonly conditionalWrites: ConditionalWrites<K, V> | undefined;
  /** Keys changed in Redis by anyone, when the `tracking` option turned it on. */
  readonly externalChanges: ExternalChanges<K> | undefined;
  readonly #tracking: RedisTracking<K> | undefined;
  readonly #deserializeKey: ((text: string) => K) | undefined;
  /** `get`'s reply mapping, made once (see `#run`). */
  readonly #readReply = (bytes: Buffer | null, redisKey: string): CacheEntry<V> | undefined =>
    this.#read(redisKey, bytes, this.#clock.now());
  /** `#wrap` as a function made once, for {@link RedisCommand}. */
  readonly #wrapError = (operation: string, error: unknown): CacheError => this.#wrap(operation, error);

  /**
   * @throws CacheError `INVALID_OPTION` for a missing client, an empty prefix, a bad URL, a
   * non-positive `commandTimeout` or `scanCount`, or an unknown option key (`prefx`).
   */
  constructor(options: RedisTierOptions<K, V>) {
    assertKnownOptions(options, KNOWN_OPTIONS, { owner: "RedisTier", tier: options?.name ?? "redis" });
    const name = options.name ?? "redis";
    if (typeof name !== "string" || name === "") {
      throw new CacheError("INVALID_OPTION", "`name` must be a non-empty string");
    }
    this.name = name;
    const prefix = options.prefix;
    if (prefix !== undefined && (typeof prefix !== "string" || prefix === "")) {
      throw new CacheError("INVALID_OPTION", "`prefix` must be a non-empty string", { tier: name });
    }
    this.#prefix = prefix === undefined ? undefined : escapePrefix(prefix);
    this.#failFastBeforeConnect = options.failFastBeforeConnect === true;
    this.#codec = options.codec ?? structuredCodec;
    this.#codecName = this.#codec.name ?? "";
    this.#ttl = options.ttl === undefined ? undefined : toMilliseconds(options.ttl, "ttl");
    this.#clock = options.clock ?? systemClock;
    this.#timeout =
      options.commandTimeout === undefined
        ? DEFAULT_COMMAND_TIMEOUT
        : toPositiveMilliseconds(options.commandTimeout, "commandTimeout");
    this.#deadlines = new DeadlineSweeper(this.#timeout, (operation) => this.#timeoutError(operation));
    this.#serializeKey = options.serializeKey;
    const scanCount = options.scanCount ?? 1_000;
    if (!Number.isInteger(scanCount) || scanCount < 1) {
      throw new CacheError("INVALID_OPTION", "`scanCount` must be a positive integer", { tier: name });
    }
    this.#scanCount = scanCount;
    this.#onEvent = options.onEvent;

    const client = options.client;
    // Clients and adapters first: an adapter written as an object literal is a plain object too.
    if (isAdapter(client)) {
      this.#adapter = client;
      this.#closesAdapter = false;
    } else if (isIORedisLike(client)) {
      const options = (
        client as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }
      ).options;
      if (options?.keyPrefix || options?.redisOptions?.keyPrefix) {
        // ioredis would prefix keys but not SCAN patterns, so clear() and size() would miss them.
        throw new CacheError(
          "INVALID_OPTION",
          "`client` must not use ioredis `keyPrefix`; set the tier's `prefix` option instead",
          { tier: name },
        );
      }
      this.#adapter = ioredisAdapter(client);
      this.#closesAdapter = false;
    } else if (isNodeRedisLike(client)) {
      // Not owned: the adapter's close() only detaches its listeners from the user's client.
      this.#adapter = nodeRedisAdapter(client);
      this.#closesAdapter = true;
    } else if (typeof client === "string" || isConnectOptions(client, name)) {
      const settings = resolveConnectOptions(client, name);
      this.#closesAdapter = true;
      this.#pendingAdapter = createIORedisClient(settings, name).then((created) => {
        created.on("error", (error: Error) => this.#emit({ type: "client-error", tier: name, error }));
        const adapter = ioredisAdapter(created);
        if (this.#closed) void adapter.close();
        this.#adapter = adapter;
        return adapter;
      });
      // A failed import is reported by the first call; this keeps it from being an unhandled rejection.
      this.#pendingAdapter.catch(() => undefined);
    } else {
      throw new CacheError(
        "INVALID_OPTION",
        "`client` must be a Redis URL, connection options, an ioredis or node-redis client, or a RedisAdapter",
        { tier: name },
      );
    }

    this.#tombstoneTtl = tombstoneTtlOf(options.conditionalWrites, this.#adapter, name);
    this.conditionalWrites =
      this.#tombstoneTtl === undefined
        ? undefined
        : new RedisConditionalWrites<K, V>(
            {
              name,
              redisKey: (key) => this.redisKey(key),
              prepare: (redisKey, entry) => this.#prepare(redisKey, entry, this.#clock.now()),
              decode: (redisKey, bytes) => this.#decode(redisKey, bytes, this.#clock.now()),
              run: (operation, work) => this.#run(operation, work),
            },
            this.#tombstoneTtl,
          );

    const tracking = resolveTracking(options.tracking, name);
    this.#deserializeKey = options.deserializeKey;
    if (tracking !== undefined && this.#serializeKey !== undefined && this.#deserializeKey === undefined) {
      throw new CacheError("INVALID_OPTION", "`tracking` with `serializeKey` needs `deserializeKey`", {
        tier: name,
      });
    }
    if (tracking !== undefined && this.#adapter !== undefined && this.#adapter.trackingNodes === undefined) {
      throw new CacheError(
        "INVALID_OPTION",
        `\`tracking\` needs an adapter with \`trackingNodes()\` (the ${this.#adapter.kind} adapter has none)`,
        { tier: name },
      );
    }
    this.#tracking =
      tracking === undefined
        ? undefined
        : new RedisTracking<K>({
            tier: name,
            nodes: () => this.#adapter?.trackingNodes?.() ?? [],
            decodeKey: (redisKey) => this.#decodeRedisKey(redisKey),
            topologyCheck: this.#adapter?.isCluster === false ? undefined : tracking.topologyCheck,
            report: (message, cause) => this.#emit({ type: "tracking-error", tier: name, message, cause }),
          });
    this.externalChanges = this.#tracking;
    this.#startTracking();
  }

  /**
   * Resolves once `tracking` works (every master tracked), so a service can refuse to start
   * without it; rejects with `INVALID_OPTION` when the server refuses `CLIENT TRACKING` (Redis
   * before 6, some managed or compatible servers). Resolves at once without `tracking`.
   */
  trackingReady(): Promise<void> {
    return this.#tracking?.ready ?? Promise.resolve();
  }

  /** Starts tracking once both the prefix and the adapter exist. */
  #startTracking(): void {
    const tracking = this.#tracking;
    const prefix = this.#prefix;
    if (tracking === undefined || prefix === undefined) return;
    if (this.#adapter !== undefined) tracking.start(prefix);
    else
      this.#pendingAdapter?.then(
        () => tracking.start(prefix),
        () => undefined,
      );
  }

  /** The cache key of a Redis key under this tier's prefix; `undefined` for anything else. */
  #decodeRedisKey(redisKey: Buffer): K | undefined {
    const head = `${this.#prefix}:`;
    const text = redisKey.toString("utf8");
    if (!text.startsWith(head)) return undefined;
    const part = decodeKeyPart(text.slice(head.length));
    if (part === undefined) return undefined;
    if (this.#deserializeKey === undefined) return part as K;
    try {
      return this.#deserializeKey(part);
    } catch {
      return undefined;
    }
  }

  /**
   * The Redis key an entry for `key` is stored at: `<prefix>:<key>`, with `\` and `:` in the
   * prefix escaped by a backslash, and the key as described in the README (verbatim for ordinary
   * strings).
   */
  redisKey(key: K): string {
    const prefix = this.#requirePrefix();
    let text: string;
    if (this.#serializeKey) text = this.#serializeKey(key);
    else if (typeof key === "string") text = key;
    else {
      throw new CacheError(
        "INVALID_OPTION",
        `\`serializeKey\` is required for keys of type ${typeof key}; the default handles strings only`,
        { tier: this.name },
      );
    }
    return `${prefix}:${encodeKeyPart(text)}`;
  }

  /**
   * Called by a cache that takes this tier (the {@link CacheTier.attach} hook). A tier built
   * without `prefix` stores under `cachet.<cacheName>` from then on, so caches with different
   * names never share keys. A tier with an explicit `prefix` keeps it.
   *
   * @throws CacheError `INVALID_OPTION` when the tier has no `prefix` and the cache has no name
   * of its own (every unnamed cache would share one namespace), or when it was already attached to
   * a cache of another name.
   */
  attach(context: TierAttachContext): void {
    if (this.#prefix !== undefined && this.#attachedTo === undefined) return;
    if (this.#attachedTo !== undefined) {
      if (this.#attachedTo === context.cacheName) return;
      throw new CacheError(
        "INVALID_OPTION",
        `tier "${this.name}" has no \`prefix\` and already stores cache "${this.#attachedTo}"; give each cache its own RedisTier, or set \`prefix\``,
        { tier: this.name },
      );
    }
    if (!context.isNamed) {
      throw new CacheError(
        "INVALID_OPTION",
        `tier "${this.name}" needs a \`prefix\`, or the cache a name (\`.name("users")\`): unnamed caches would share keys`,
        { tier: this.name },
      );
    }
    this.#prefix = escapePrefix(`cachet.${context.cacheName}`);
    this.#attachedTo = context.cacheName;
    this.#startTracking();
  }

  #requirePrefix(): string {
    if (this.#prefix !== undefined) return this.#prefix;
    throw new CacheError(
      "INVALID_OPTION",
      `tier "${this.name}" has no \`prefix\`: set one, or let a named cache attach the tier (it then uses \`cachet.<cache name>\`)`,
      { tier: this.name },
    );
  }

  get(key: K): Promise<CacheEntry<V> | undefined> {
    // Not `async`: the hot path saves a promise hop by decoding inside the settle callback.
    let redisKey: string;
    try {
      redisKey = this.redisKey(key);
    } catch (error) {
      return Promise.reject(this.#wrap("get", error));
    }
    return this.#run("get", getCommand, this.#readReply, redisKey);
  }

  /**
   * {@link RedisTier.get} reporting to `receiver` instead of returning a promise (the optional
   * `CacheTier.getInto`): the core reads Redis this way after an L1 miss. Same command, decoding,
   * `commandTimeout` and errors; exactly one call to `receiver`.
   */
  getInto(key: K, receiver: TierReadReceiver<V>): void {
    let redisKey: string;
    try {
      redisKey = this.redisKey(key);
    } catch (error) {
      receiver.failed(this.#wrap("get", error));
      return;
    }
    this.#issue("get", getCommand, this.#readReply, redisKey, receiver);
  }

  async getMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    const redisKeys = keys.map((key) => this.redisKey(key));
    if (redisKeys.length === 0) return [];
    const values = await this.#run("getMany", (redis) => redis.getMany(redisKeys));
    const now = this.#clock.now();
    return redisKeys.map((redisKey, i) => this.#read(redisKey, values[i] ?? null, now));
  }

  async insert(key: K, entry: CacheEntry<V>): Promise<void> {
    const redisKey = this.redisKey(key);
    const write = this.#prepare(redisKey, entry, this.#clock.now());
    const tombstoneTtl = this.#tombstoneTtl;
    if (tombstoneTtl !== undefined)
      await this.#run("insert", (redis) => writeVersioned(redis, write, tombstoneTtl));
    else if (write.ttlMs === 0) await this.#run("insert", (redis) => redis.delete([redisKey]));
    else await this.#run("insert", (redis) => redis.set(redisKey, write.value, write.ttlMs));
  }

  async insertMany(entries: readonly (readonly [K, CacheEntry<V>])[]): Promise<void> {
    const now = this.#clock.now();
    // Everything is encoded before anything is sent: a CODEC failure stores nothing.
    const writes = entries.map(([key, entry]) => this.#prepare(this.redisKey(key), entry, now));
    const live = writes.filter((w) => w.ttlMs !== 0);
    const expired = writes.filter((w) => w.ttlMs === 0).map((w) => w.key);
    if (writes.length === 0) return;
    const tombstoneTtl = this.#tombstoneTtl;
    if (tombstoneTtl !== undefined) {
      // One script per key (a Cluster allows no other), all sent before any reply is awaited.
      await this.#run("insertMany", (redis) =>
        Promise.all(writes.map((write) => writeVersioned(redis, write, tombstoneTtl))),
      );
      return;
    }
    await this.#run("insertMany", async (redis) => {
      await Promise.all([
        live.length > 0 ? redis.setMany(live) : undefined,
        expired.length > 0 ? redis.delete(expired) : undefined,
      ]);
    });
  }

  async invalidate(key: K): Promise<void> {
    const redisKey = this.redisKey(key);
    const tombstoneTtl = this.#tombstoneTtl;
    if (tombstoneTtl !== undefined) {
      await this.#run("invalidate", (redis) =>
        writeVersioned(redis, this.#tombstone(redisKey), tombstoneTtl),
      );
    } else await this.#run("invalidate", (redis) => redis.delete([redisKey]));
  }

  async invalidateMany(keys: readonly K[]): Promise<void> {
    const redisKeys = keys.map((key) => this.redisKey(key));
    if (redisKeys.length === 0) return;
    const tombstoneTtl = this.#tombstoneTtl;
    if (tombstoneTtl !== undefined) {
      await this.#run("invalidateMany", (redis) =>
        Promise.all(redisKeys.map((k) => writeVersioned(redis, this.#tombstone(k), tombstoneTtl))),
      );
    } else await this.#run("invalidateMany", (redis) => redis.delete(redisKeys));
  }

  /**
   * Deletes every key under this tier's prefix, and nothing else: `SCAN MATCH <prefix>:*` (the
   * prefix glob-escaped) plus `UNLINK` per page, on every master of a Cluster. Never `FLUSHDB`.
   * Keys written while it runs may survive.
   */
  async clear(): Promise<void> {
    await this.#scan("clear", (redis, keys) => redis.delete(keys));
  }

  /**
   * Counts the keys under this tier's prefix with SCAN: O(keys in the database), for diagnostics,
   * not hot paths. It counts other tiers' entries under the same prefix, and may count a key
   * twice or miss one that changes during the scan. With conditional writes it skips tombstones,
   * at the cost of one small script per key.
   */
  async size(): Promise<number> {
    let count = 0;
    const versioned = this.#tombstoneTtl !== undefined;
    await this.#scan("size", async (redis, keys) => {
      count += versioned ? await countEntries(redis, keys) : keys.length;
    });
    return count;
  }

  /**
   * Health check: one `PING`.
   * @throws CacheError `TIER_FAILURE` or `TIMEOUT` when Redis does not answer; `CLOSED` after close.
   */
  async ping(): Promise<void> {
    await this.#run("ping", (redis) => redis.ping());
  }

  /**
   * Calls `listener` each time the Redis connection becomes ready again (the client's `ready`
   * event; a node-redis cluster has none), so a circuit breaker can probe at once instead of
   * waiting out its cool-down: `tier.onReady(() => breaker.recovered())`. Errors the listener
   * throws are ignored. Returns a function that unsubscribes.
   */
  onReady(listener: () => void): () => void {
    const safe = (): void => {
      try {
        listener();
      } catch {
        // A listener's bug must not reach the client's event emitter.
      }
    };
    let off: (() => void) | undefined;
    let cancelled = false;
    const attach = (adapter: RedisAdapter): void => {
      if (!cancelled) off = adapter.onReady?.(safe);
    };
    if (this.#adapter !== undefined) attach(this.#adapter);
    else this.#pendingAdapter?.then(attach, () => undefined);
    return () => {
      cancelled = true;
      off?.();
    };
  }

  /** Closes the client if the tier created it (a URL or options). A client you passed stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tracking?.close();
    if (!this.#closesAdapter) return;
    const adapter = this.#adapter ?? (await this.#pendingAdapter?.catch(() => undefined));
    await adapter?.close().catch(() => undefined);
  }

  /** Encodes one entry and computes its `PX`; `ttlMs` 0 means "already expired, delete". */
  #prepare(redisKey: string, entry: CacheEntry<V>, now: number): RedisWrite {
    const cachedAt = entry.cachedAt ?? now;
    const ttl = entry.ttl ?? this.#ttl;
    const staleFor = entry.staleFor;
    let payload: Uint8Array;
    try {
      payload = this.#codec.encode(entry.value);
    } catch (error) {
      if (isCacheError(error) && error.code === "CODEC") throw error;
      throw new CacheError(
        "CODEC",
        `\`insert\` could not encode the value for ${redisKey}: ${describeError(error)}`,
        {
          tier: this.name,
          cause: error,
        },
      );
    }
    const value = encodeEnvelope(
      { cachedAt, ttl, staleFor, tags: entry.tags },
      this.#codecName,
      payload,
      this.#tombstoneTtl !== undefined,
    );
    const ttlMs = ttl === undefined ? undefined : Math.max(0, Math.ceil(cachedAt + ttl + staleFor - now));
    return { key: redisKey, value, ttlMs };
  }

  /** A write that stores a tombstone (`ttlMs` 0) through the versioned write script. */
  #tombstone(redisKey: string): RedisWrite {
    return { key: redisKey, value: Buffer.alloc(0), ttlMs: 0 };
  }

  /** The live entry at `redisKey`, or a miss: the read path, with no versions kept (one object less per read). */
  #read(redisKey: string, bytes: Buffer | null, now: number): CacheEntry<V> | undefined {
    if (bytes === null) return undefined;
    const envelope = this.#envelope(redisKey, bytes);
    if (envelope === undefined || "tombstone" in envelope) return undefined;
    return this.#entryOf(redisKey, envelope, now);
  }

  /** Decodes the bytes at `redisKey`: the live entry (or a miss) and its version (0 when absent). */
  #decode(redisKey: string, bytes: Buffer | null, now: number): DecodedVersioned<V> {
    if (bytes === null) return { entry: undefined, entryVersion: 0 };
    const envelope = this.#envelope(redisKey, bytes);
    // The write script sees anything but a format-2 envelope as version 1, too.
    if (envelope === undefined) return { entry: undefined, entryVersion: 1 };
    if ("tombstone" in envelope) return { entry: undefined, entryVersion: envelope.entryVersion };
    return { entry: this.#entryOf(redisKey, envelope, now), entryVersion: envelope.entryVersion };
  }

  /** The envelope in `bytes`, or `undefined` (reported as a corrupt entry) when they are not one. */
  #envelope(redisKey: string, bytes: Buffer): DecodedEnvelope | DecodedTombstone | undefined {
    try {
      return decodeEnvelope(bytes, this.#codecName);
    } catch (error) {
      this.#emit({
        type: "corrupt-entry",
        tier: this.name,
        redisKey,
        reason: describeError(error),
        cause: error,
      });
      return undefined;
    }
  }

  /** The entry an envelope holds, or `undefined` when it expired or its value cannot be decoded. */
  #entryOf(redisKey: string, envelope: DecodedEnvelope, now: number): CacheEntry<V> | undefined {
    if (envelope.codecName !== this.#codecName) {
      this.#emit({
        type: "corrupt-entry",
        tier: this.name,
        redisKey,
        reason: `written with codec "${envelope.codecName}", this tier uses "${this.#codecName}"`,
      });
      return undefined;
    }
    const { cachedAt, ttl, staleFor } = envelope;
    if (ttl !== undefined && now >= cachedAt + ttl + staleFor) return undefined;
    let value: V;
    try {
      value = this.#codec.decode(envelope.payload);
    } catch (error) {
      this.#emit({
        type: "corrupt-entry",
        tier: this.name,
        redisKey,
        reason: describeError(error),
        cause: error,
      });
      return undefined;
    }
    // The envelope is the options (its `cachedAt`, `ttl`, `staleFor`, `tags`): no copy per read.
    return new CacheEntry(value, envelope);
  }

  #emit(event: RedisTierEvent): void {
    try {
      this.#onEvent?.(event);
    } catch {
      // A listener's bug must not fail a cache call.
    }
  }

  #wrap(operation: string, error: unknown): CacheError {
    if (isCacheError(error)) return error;
    return new CacheError(
      "TIER_FAILURE",
      `\`${operation}\` failed on tier "${this.name}": ${describeError(error)}`,
      {
        tier: this.name,
        cause: error,
      },
    );
  }

  #timeoutError(operation: string): CacheError {
    return new CacheError(
      "TIMEOUT",
      `\`${operation}\` on tier "${this.name}" did not complete within ${this.#timeout} ms (\`commandTimeout\`)`,
      { tier: this.name },
    );
  }

  /** Starts `work` once the adapter exists and is ready; a thrown or rejected error is wrapped. */
  #start<T, A>(operation: string, work: (redis: RedisAdapter, arg: A) => Promise<T>, arg: A): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new CacheError("CLOSED", `\`${operation}\` called after \`close()\` on tier "${this.name}"`, {
          tier: this.name,
        }),
      );
    }
    const adapter = this.#adapter;
    if (adapter === undefined) return this.#pendingAdapter!.then(() => this.#start(operation, work, arg));
    try {
      const ready = adapter.whenReady();
      if (ready === undefined) return work(adapter, arg);
      if (this.#failFastBeforeConnect) {
        // The first connection goes on in the background; this call does not wait for it.
        ready.catch(() => undefined);
        return Promise.reject(
          new CacheError(
            "TIER_FAILURE",
            `\`${operation}\` on tier "${this.name}": Redis is not connected yet (\`failFastBeforeConnect\`)`,
            { tier: this.name },
          ),
        );
      }
      return ready.then(() => work(adapter, arg));
    } catch (error) {
      return Promise.reject(this.#wrap(operation, error));
    }
  }

  /**
   * Runs one call under `commandTimeout`; `then` maps the result before the caller sees it. `arg`
   * is handed to `work` and `then`, so that a hot caller (`get`) passes functions made once, not
   * closures over its key (see `redis-command.ts`).
   */
  #run<T, R = T, A = undefined>(
    operation: string,
    work: (redis: RedisAdapter, arg: A) => Promise<T>,
    then?: ReplyMap<T, R, A>,
    arg?: A,
  ): Promise<R> {
    return this.#issue(operation, work, then, arg as A).promise!;
  }

  /**
   * Starts one command under `commandTimeout`: its outcome goes to the command's promise, or to
   * `receiver` when given (then the command has no promise).
   */
  #issue<T, R, A>(
    operation: string,
    work: (redis: RedisAdapter, arg: A) => Promise<T>,
    then: ReplyMap<T, R, A> | undefined,
    arg: A,
    receiver?: ReplyReceiver<R>,
  ): RedisCommand<T, R, A> {
    const command = new RedisCommand<T, R, A>(
      operation,
      then,
      arg,
      this.#wrapError,
      this.#deadlines,
      receiver,
    );
    this.#start(operation, work, arg).then(
      (value) => command.settle(value),
      (error: unknown) => command.fail(error),
    );
    return command;
  }

  /** SCANs this tier's prefix page by page; each page (and `onKeys`) gets `commandTimeout`. */
  #scan(operation: string, onKeys: (redis: RedisAdapter, keys: Buffer[]) => Promise<void>): Promise<void> {
    let pattern: string;
    try {
      pattern = `${escapeGlob(this.#requirePrefix())}:*`;
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          settled = true;
          reject(this.#timeoutError(operation));
        }, this.#timeout);
      };
      arm();
      this.#start(
        operation,
        (redis) =>
          redis.scan(pattern, this.#scanCount, async (keys) => {
            if (settled) throw this.#timeoutError(operation);
            arm();
            if (keys.length > 0) await onKeys(redis, keys);
            arm();
          }),
        undefined,
      ).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(this.#wrap(operation, error));
        },
      );
    });
  }
}

/** `get`'s command, one function for every call (the key is the command's argument). */
function getCommand(redis: RedisAdapter, redisKey: string): Promise<Buffer | null> {
  return redis.get(redisKey);
}

function isAdapter(value: unknown): value is RedisAdapter {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as RedisAdapter).whenReady === "function" &&
    typeof (value as RedisAdapter).getMany === "function" &&
    typeof (value as RedisAdapter).scan === "function"
  );
}
