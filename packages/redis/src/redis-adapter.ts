import type { TrackingNode } from "./tracking/tracking-connection.js";

/** One write for {@link RedisAdapter.setMany}. */
export interface RedisWrite {
  key: string;
  value: Buffer;
  /** Expiry in ms for `SET … PX`; `undefined` stores the key without expiry. */
  ttlMs: number | undefined;
}

/** A Lua script, sent by SHA1 (`EVALSHA`) and by source when the server does not have it yet. */
export interface RedisScript {
  readonly source: string;
  /** SHA1 of `source`, hex. */
  readonly sha: string;
}

/**
 * The few Redis operations {@link RedisTier} needs, as a structural interface, so that any client
 * fits behind the tier. cachet ships {@link ioredisAdapter} and {@link nodeRedisAdapter}; write
 * your own for another client and pass it as the tier's `client`.
 *
 * Rules an adapter keeps:
 * - Values are binary: `get`/`getMany` resolve with `Buffer`s, never strings.
 * - Batch methods work for keys in any hash slots, in about one round trip per node (on a
 *   Cluster, group keys by node or by slot; a plain multi-key command would fail with `CROSSSLOT`).
 * - Methods reject with the client's own error; the tier wraps it in a `CacheError`.
 */
export interface RedisAdapter {
  /** Client family, shown in errors, e.g. `"ioredis"`. */
  readonly kind: string;
  /** True when talking to a Redis Cluster. */
  readonly isCluster: boolean;
  /**
   * Returns `undefined` when the connection can take commands now, a promise that settles when
   * it can (first connect), or throws when the connection is known to be down, so callers fail
   * fast instead of queueing.
   */
  whenReady(): Promise<void> | undefined;
  /** `GET`. */
  get(key: string): Promise<Buffer | null>;
  /** `MGET` (grouped per node or slot on a Cluster); one result per key, in order. */
  getMany(keys: readonly string[]): Promise<(Buffer | null)[]>;
  /** `SET key value [PX ttlMs]`. */
  set(key: string, value: Buffer, ttlMs: number | undefined): Promise<void>;
  /** Many `SET`s in one round trip per node. Not atomic. */
  setMany(writes: readonly RedisWrite[]): Promise<void>;
  /** `UNLINK` of any number of keys, in any slots. */
  delete(keys: readonly (string | Buffer)[]): Promise<void>;
  /**
   * `SCAN … MATCH pattern COUNT count` over the whole keyspace of every master, calling `onKeys`
   * with each page's keys, even an empty page (awaited before the scan goes on).
   */
  scan(pattern: string, count: number, onKeys: (keys: Buffer[]) => Promise<void>): Promise<void>;
  /** `PING`. */
  ping(): Promise<void>;
  /**
   * Calls `listener` whenever the connection becomes ready (again); returns an unsubscribe
   * function. Optional: without it, `RedisTier.onReady` never fires.
   */
  onReady?(listener: () => void): () => void;
  /**
   * Runs `script` on the one key `key` with `args`: `EVALSHA sha 1 key …args`, and `EVAL` when
   * the server answers `NOSCRIPT`. Bulk replies come back as Buffers, integers as numbers. On a
   * Cluster it goes to the key's node. Optional: a tier whose adapter lacks it cannot offer
   * conditional writes.
   */
  runScript?(script: RedisScript, key: string | Buffer, args: readonly (string | Buffer)[]): Promise<unknown>;
  /**
   * The masters to open `CLIENT TRACKING` connections to (one per master of a Cluster), for the
   * tier's `tracking` option. Optional: a tier whose adapter lacks it refuses `tracking`. On a
   * Cluster, asked at each topology check; a Promise when it asks the cluster (not the client's
   * possibly stale slot map) who serves the slots now.
   */
  trackingNodes?(): readonly TrackingNode[] | Promise<readonly TrackingNode[]>;
  /** Closes the connection. The tier calls it only for a client it created. */
  close(): Promise<void>;
}
