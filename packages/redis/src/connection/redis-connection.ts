/**
 * The client abstraction of {@link RedisBus}, {@link RedisLock} and {@link RedisStreams}: the few
 * things they need from a Redis client, implemented once for ioredis (5 and 6) and once for
 * node-redis (`redis` 5 and 6), standalone or Cluster. The tier has its own, narrower
 * abstraction ({@link RedisAdapter}); these need more (subscriber and blocking connections).
 *
 * Replies are the client's plain text replies (strings, numbers, arrays, `null`); RESP3 maps are
 * left as the client gives them, and the stream code normalises the few replies where RESP2 and
 * RESP3 differ (see `stream-replies.ts`).
 */

/**
 * - `"connecting"`: has never been ready yet (first connection in progress): worth waiting for.
 * - `"ready"`: commands go out now.
 * - `"down"`: was ready, and lost its connection; the client reconnects by itself.
 * - `"closed"`: closed for good (or, for node-redis, never opened by its owner).
 */
export type ConnectionStatus = "connecting" | "ready" | "down" | "closed";

/** A connection of its own, for a subscription or for blocking reads. Its opener owns it. */
export interface DedicatedConnection {
  status(): ConnectionStatus;
  /** Sends one command; on a blocking Cluster connection, `key` routes it (default: the opening key). */
  call(args: readonly string[], key?: string): Promise<unknown>;
  /**
   * Subscribes to `channel`, calling `onMessage` for each message. Resolves once the subscription
   * is active. Safe to call again after a reconnection (ioredis does not resubscribe here;
   * node-redis has already, before it reports ready).
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** `"ready"`: connected (again); `"close"`: the connection dropped; `"error"`: a connection error. */
  on(event: "ready" | "close", listener: () => void): void;
  on(event: "error", listener: (error: unknown) => void): void;
  /** Drops the connection at once (a blocked read would hold a QUIT back). */
  disconnect(): void;
}

/** What a dedicated connection is for. */
export interface DedicatedOptions {
  /** `CLIENT SETNAME`, to tell cachet's connections apart in `CLIENT LIST`. */
  readonly name: string;
  /**
   * `"blocking"`: blocking reads (`XREAD BLOCK`) of `key`; on a Cluster, a cluster connection that
   * routes by that key. `"subscriber"`: a standalone connection for SUBSCRIBE; on a Cluster, to
   * master number `node` (modulo the masters known), since Redis Cluster forwards PUBLISH to all.
   */
  readonly purpose: "blocking" | "subscriber";
  /** For `"blocking"`: the key read. */
  readonly key?: string;
  /** For `"subscriber"` on a Cluster: which master. */
  readonly node?: number;
  /** For `"blocking"`: how long a blocked read may go without a reply before the connection is dropped. */
  readonly blockingTimeout?: number;
}

/** The connection that {@link RedisBus}, {@link RedisLock} and {@link RedisStreams} send commands on. */
export interface RedisConnection {
  /** Client family, shown in errors. */
  readonly kind: "ioredis" | "node-redis";
  readonly isCluster: boolean;
  status(): ConnectionStatus;
  /** Sends one command; on a Cluster, `key` routes it (no key: any node). */
  call(args: readonly string[], key?: string): Promise<unknown>;
  /** Calls `listener` whenever the connection becomes ready; returns the unsubscribe function. */
  onReady(listener: () => void): () => void;
  /**
   * Opens a connection of its own (see {@link DedicatedOptions}); `undefined` when a Cluster does
   * not know its masters yet (try again after the next ready).
   */
  dedicated(options: DedicatedOptions): Promise<DedicatedConnection | undefined>;
  /** Closes the client: called only for a client this package created. */
  close(): Promise<void>;
}
