import { randomBytes } from "node:crypto";
import { CacheError, assertKnownOptions, toPositiveMilliseconds } from "@cachet/tier";
import type { BusReconnectInfo, CacheBus, CacheBusMessage, Duration, Milliseconds } from "@cachet/tier";
import { BUS_FORMAT_VERSION, decodeBusMessage, encodeBusMessage } from "./bus-codec.js";
import type { BusTransport, TransportHost } from "./bus-transport.js";
import type { RedisConnection } from "../connection/redis-connection.js";
import type { RedisConnectionInput, ResolvedConnection } from "../connection/resolve-connection.js";
import { checkClientOption, describeError, resolveConnection } from "../connection/resolve-connection.js";
import { PubSubTransport } from "./pubsub-transport.js";
import { RetryQueue } from "./retry-queue.js";
import { StreamTransport } from "./stream-transport.js";

/** Options for {@link RedisBus}. */
export interface RedisBusOptions {
  /**
   * The Redis connection used to publish: an ioredis `Redis` or `Cluster`, or a node-redis client
   * or cluster, that you made (the bus never closes it), or a `redis://` URL (the bus creates an
   * ioredis client, reports its connection errors to `onError`, and closes it in `close()`).
   * The bus also opens one connection of its own to receive (a duplicate of this one, or for a
   * Cluster a connection to one master node), since a subscribed or blocked connection cannot
   * carry other commands. A node-redis client must be connected by you first.
   */
  client: RedisConnectionInput;
  /**
   * - `"pubsub"`: Redis pub/sub. Lowest latency, at-most-once: after a lost connection the
   *   receiver reports `mayHaveMissedMessages: true` and the cache clears its L1.
   * - `"stream"`: a Redis Stream. Durable: after a lost connection the receiver replays what it
   *   missed from its last id, and clears nothing unless the stream was trimmed past that id or
   *   lost. Costs a little latency (a blocking read per batch) and memory (the trimmed stream).
   */
  transport: "pubsub" | "stream";
  /**
   * Base name of the pub/sub channel or stream. The format version is appended (`<channel>:v1`)
   * so that a future wire format can share a Redis with this one. Instances talk to each other
   * only when they use the same channel.
   * @default "cachet:bus"
   */
  channel?: string;
  /** Identifies this instance in its messages, so it ignores its own. @default a random id */
  instanceId?: string;
  /** The publish-side queue of messages that could not be sent while Redis was unreachable. */
  retryQueue?: {
    /**
     * Most queued items (one per key, tag or cleared cache). Past it, the cache with the most
     * queued items is collapsed into one `clear` message: the others lose their L1 copies of that
     * cache instead of an invalidation.
     * @default 10_000
     */
    maxSize?: number;
    /** How often the queue retries while not empty (it also flushes as soon as the connection is ready). @default 1_000 */
    interval?: Duration;
  };
  /** Settings of the `"stream"` transport. */
  stream?: {
    /** Approximate length the stream is trimmed to at each append (`XADD MAXLEN ~`). @default 10_000 */
    maxLen?: number;
    /** Trims by age instead (`XADD MINID ~`, Redis 6.2+): entries older than this go. Excludes `maxLen`. */
    maxAge?: Duration;
    /** How long one blocking read waits before it is reissued. @default 5_000 */
    blockMs?: Duration;
  };
  /**
   * How long a publish may wait for Redis before its message goes to the retry queue (the publish
   * then resolves). Bounds how long a cache write can be held up by a hung bus.
   * @default 1_000
   */
  sendTimeout?: Duration;
  /**
   * Longest wait of {@link RedisBus.ready} before it rejects with `TIMEOUT`, so that `await
   * bus.ready()` cannot block a deploy forever while Redis is unreachable. The bus keeps trying in
   * the background; a later `ready()` call can still resolve.
   * @default 10_000
   */
  readyTimeout?: Duration;
  /**
   * Receives background failures (a lost subscriber connection, a failed read or send, and the
   * connection errors of a client the bus created from a URL). The bus keeps going: it
   * reconnects, replays or retries by itself. Exceptions thrown here are ignored. Without it,
   * such errors are dropped (never printed).
   */
  onError?: (error: CacheError) => void;
}

const KNOWN_OPTIONS = [
  "client",
  "transport",
  "channel",
  "instanceId",
  "retryQueue",
  "stream",
  "sendTimeout",
  "readyTimeout",
  "onError",
];

const BUS_NAME = "redis-bus";

/**
 * A {@link CacheBus} over Redis: keeps the in-process L1 copies of a fleet of cache instances
 * coherent. Pass it to the cache builder's `.bus(...)`; each instance needs its own `RedisBus`.
 *
 * Messages carry keys and tags, never values, in a compact versioned JSON array with the sender's
 * instance id. `publish` never rejects: a message it cannot send (Redis down, `sendTimeout`) goes
 * to a bounded, de-duplicated retry queue, flushed when the connection is ready again.
 *
 * Redis Cluster: pub/sub uses plain PUBLISH (the cluster forwards it to every node) and a
 * subscriber on one master; a stream is one key, so it lives in one slot on one node.
 *
 * @example
 * const redis = new Redis();
 * const cache = Cache.builder<string, User>()
 *   .memory({ maxEntries: 10_000 })
 *   .fallback(Cache.builder<string, User>().storage(new RedisTier({ client: redis, prefix: "users" })))
 *   .bus(new RedisBus({ client: redis, transport: "stream" }))
 *   .build();
 *
 * @throws {CacheError} `INVALID_OPTION` from the constructor for a bad option.
 */
export class RedisBus implements CacheBus {
  readonly instanceId: string;
  /** The channel or stream key actually used (`<channel>:v1`, or `{<channel>:v1}:stream` for streams). */
  readonly channel: string;
  readonly transport: "pubsub" | "stream";
  readonly #options: RedisBusOptions;
  readonly #resolved: Promise<ResolvedConnection>;
  readonly #handlers = new Set<(message: CacheBusMessage) => void>();
  readonly #reconnectHandlers = new Set<(info: BusReconnectInfo) => void>();
  readonly #queue: RetryQueue;
  readonly #retryInterval: Milliseconds;
  readonly #sendTimeout: Milliseconds;
  readonly #blockMs: Milliseconds;
  readonly #maxAge: Milliseconds | undefined;
  readonly #readyTimeout: Milliseconds;
  #transport: BusTransport | undefined;
  #connection: RedisConnection | undefined;
  #owned = false;
  #stopListening: (() => void) | undefined;
  #ready: Promise<void>;
  #retryTimer: NodeJS.Timeout | undefined;
  #flushing = false;
  #closed = false;
  readonly #onClientReady = (): void => void this.#flush();

  constructor(options: RedisBusOptions) {
    if (typeof options !== "object" || options === null) {
      throw new CacheError("INVALID_OPTION", "`options` must be an object", { tier: BUS_NAME });
    }
    assertKnownOptions(options, KNOWN_OPTIONS, { owner: "RedisBus", tier: BUS_NAME });
    assertKnownOptions(options.retryQueue, ["maxSize", "interval"], {
      owner: "RedisBus",
      path: "retryQueue",
      tier: BUS_NAME,
    });
    assertKnownOptions(options.stream, ["maxLen", "maxAge", "blockMs"], {
      owner: "RedisBus",
      path: "stream",
      tier: BUS_NAME,
    });
    checkClientOption(options.client, BUS_NAME);
    if (options.transport !== "pubsub" && options.transport !== "stream") {
      throw new CacheError("INVALID_OPTION", '`transport` must be "pubsub" or "stream"', { tier: BUS_NAME });
    }
    const channel = options.channel ?? "cachet:bus";
    if (typeof channel !== "string" || channel.length === 0) {
      throw new CacheError("INVALID_OPTION", "`channel` must be a non-empty string", { tier: BUS_NAME });
    }
    if (
      options.instanceId !== undefined &&
      (typeof options.instanceId !== "string" || options.instanceId === "")
    ) {
      throw new CacheError("INVALID_OPTION", "`instanceId` must be a non-empty string", { tier: BUS_NAME });
    }
    const maxSize = options.retryQueue?.maxSize ?? 10_000;
    if (!Number.isInteger(maxSize) || maxSize < 1) {
      throw new CacheError("INVALID_OPTION", "`retryQueue.maxSize` must be a positive integer", {
        tier: BUS_NAME,
      });
    }
    this.#retryInterval = toPositiveMilliseconds(
      options.retryQueue?.interval ?? 1_000,
      "retryQueue.interval",
    );
    this.#sendTimeout = toPositiveMilliseconds(options.sendTimeout ?? 1_000, "sendTimeout");
    this.#readyTimeout = toPositiveMilliseconds(options.readyTimeout ?? 10_000, "readyTimeout");
    this.#blockMs = toPositiveMilliseconds(options.stream?.blockMs ?? 5_000, "stream.blockMs");
    const maxLen = options.stream?.maxLen;
    if (maxLen !== undefined && (!Number.isInteger(maxLen) || maxLen < 1)) {
      throw new CacheError("INVALID_OPTION", "`stream.maxLen` must be a positive integer", {
        tier: BUS_NAME,
      });
    }
    this.#maxAge =
      options.stream?.maxAge === undefined
        ? undefined
        : toPositiveMilliseconds(options.stream.maxAge, "stream.maxAge");
    if (maxLen !== undefined && this.#maxAge !== undefined) {
      throw new CacheError("INVALID_OPTION", "`stream.maxLen` and `stream.maxAge` exclude each other", {
        tier: BUS_NAME,
      });
    }
    this.#options = options;
    this.transport = options.transport;
    this.instanceId = options.instanceId ?? randomBytes(9).toString("base64url");
    const versioned = `${channel}:v${BUS_FORMAT_VERSION}`;
    // The hash tag keeps the stream and its epoch key in one Cluster slot.
    this.channel = options.transport === "stream" ? `{${versioned}}:stream` : versioned;
    this.#queue = new RetryQueue(maxSize);
    this.#resolved = resolveConnection(options.client, BUS_NAME, (error) =>
      this.#report("bus connection error", error),
    );
    this.#ready = this.#start();
    // `ready()` reports failures; the constructor must not leave an unhandled rejection.
    this.#ready.catch(() => undefined);
  }

  /**
   * Resolves once this instance hears every message published from then on: the subscription is
   * active (pub/sub) or the reader knows where the stream stands (stream). Messages published
   * before that are not delivered. Waits while Redis is unreachable, up to `readyTimeout`.
   *
   * @throws {CacheError} `TIMEOUT` when the bus was not ready within `readyTimeout` (it keeps
   * trying; call again to wait more), `INVALID_OPTION` when `client` was a URL and ioredis is not
   * installed.
   */
  ready(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new CacheError(
            "TIMEOUT",
            `the bus was not ready within \`readyTimeout\` (${this.#readyTimeout} ms): is Redis reachable?`,
            { tier: BUS_NAME },
          ),
        );
      }, this.#readyTimeout);
      timer.unref();
      this.#ready.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Number of items waiting in the retry queue (one per key, tag or cleared cache). */
  get pendingMessages(): number {
    return this.#queue.size;
  }

  async publish(message: CacheBusMessage): Promise<void> {
    if (this.#closed) return;
    let connection: RedisConnection;
    try {
      ({ connection } = await this.#resolved);
    } catch {
      return;
    }
    if (this.#queue.size > 0 || connection.status() !== "ready" || this.#transport === undefined) {
      this.#enqueue(message);
      return;
    }
    try {
      await this.#send(this.#transport, message);
    } catch (error) {
      this.#report("bus publish failed; queued for retry", error);
      this.#enqueue(message);
    }
  }

  subscribe(handler: (message: CacheBusMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  onReconnect(handler: (info: BusReconnectInfo) => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => this.#reconnectHandlers.delete(handler);
  }

  /**
   * Stops the receiving loop, closes the connections the bus opened (never the `client` you
   * passed), and drops queued messages and handlers.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#handlers.clear();
    this.#reconnectHandlers.clear();
    this.#stopListening?.();
    await this.#transport?.close();
    if (this.#owned && this.#connection !== undefined) await this.#connection.close().catch(() => undefined);
  }

  async #start(): Promise<void> {
    const { connection, owned } = await this.#resolved;
    this.#connection = connection;
    this.#owned = owned;
    if (this.#closed) {
      if (owned) await connection.close().catch(() => undefined);
      return;
    }
    const host: TransportHost = {
      deliver: (payload) => this.#deliver(payload),
      reconnected: (mayHaveMissedMessages) => {
        for (const handler of this.#reconnectHandlers) safeCall(handler, { mayHaveMissedMessages });
      },
      error: (message, cause) => this.#report(message, cause),
    };
    const connectionName = `cachet-bus-${this.instanceId}`.replace(/[^\w.:-]/g, "_");
    if (this.#options.transport === "pubsub") {
      this.#transport = new PubSubTransport(connection, this.channel, host, connectionName);
    } else {
      const tag = this.channel.slice(0, this.channel.indexOf("}") + 1);
      this.#transport = new StreamTransport(
        connection,
        {
          key: this.channel,
          epochKey: `${tag}:epoch`,
          maxLen: this.#options.stream?.maxLen,
          maxAge: this.#maxAge,
          blockMs: this.#blockMs,
          connectionName,
        },
        host,
      );
    }
    this.#stopListening = connection.onReady(this.#onClientReady);
    await this.#transport.start();
  }

  #deliver(payload: string): void {
    const envelope = decodeBusMessage(payload);
    if (envelope === undefined) {
      this.#report("bus message in an unknown format ignored", payload.slice(0, 200));
      return;
    }
    if (envelope.origin === this.instanceId) return;
    for (const handler of this.#handlers) safeCall(handler, envelope.message);
  }

  #send(transport: BusTransport, message: CacheBusMessage): Promise<void> {
    const sent = transport.send(encodeBusMessage(this.instanceId, message));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no reply from Redis within \`sendTimeout\` (${this.#sendTimeout} ms)`)),
        this.#sendTimeout,
      );
      sent.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #enqueue(message: CacheBusMessage): void {
    this.#queue.add(message);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#flush();
    }, this.#retryInterval);
    this.#retryTimer.unref();
  }

  /** Sends what the retry queue holds; whatever fails goes back into it. */
  async #flush(): Promise<void> {
    const transport = this.#transport;
    if (this.#flushing || this.#closed || this.#queue.size === 0 || transport === undefined) return;
    if (this.#connection?.status() !== "ready") {
      this.#scheduleRetry();
      return;
    }
    this.#flushing = true;
    try {
      const messages = this.#queue.drain();
      for (let i = 0; i < messages.length; i++) {
        try {
          await this.#send(transport, messages[i]!);
        } catch (error) {
          this.#report("bus retry failed", error);
          for (const rest of messages.slice(i)) this.#queue.add(rest);
          break;
        }
      }
    } finally {
      this.#flushing = false;
    }
    if (this.#queue.size > 0) this.#scheduleRetry();
  }

  #report(message: string, cause: unknown): void {
    const onError = this.#options.onError;
    if (onError === undefined) return;
    try {
      onError(
        new CacheError("TIER_FAILURE", `${message}: ${describeError(cause)}`, { tier: BUS_NAME, cause }),
      );
    } catch {
      // A throwing callback must not break the bus.
    }
  }
}

function safeCall<T>(handler: (arg: T) => void, arg: T): void {
  try {
    handler(arg);
  } catch {
    // A throwing handler must not stop delivery to the others.
  }
}
