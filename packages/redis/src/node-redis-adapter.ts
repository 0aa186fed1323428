import { clusterSlot, groupBy } from "./cluster-slot.js";
import type { RedisAdapter, RedisScript, RedisWrite } from "./redis-adapter.js";
import { nodeRedisTrackingNodes } from "./tracking/tracking-connection.js";
import type { TrackingNode } from "./tracking/tracking-connection.js";

type Arg = string | Buffer;

/** `RESP_TYPES.BLOB_STRING` in node-redis: map bulk strings to Buffers so values stay binary. */
const BLOB_STRING = 36;
const BUFFER_REPLIES = { typeMapping: { [BLOB_STRING]: Buffer } };

/**
 * The part of a node-redis (`redis` v5) client used by the adapter: `createClient()` results.
 * Declared structurally so this package's types do not require `redis` to be installed.
 */
export interface NodeRedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: readonly Arg[], options?: object): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** A node-redis cluster client: `createCluster()` results. */
export interface NodeRedisClusterLike {
  readonly isOpen: boolean;
  readonly masters: readonly object[];
  sendCommand(
    firstKey: Arg | undefined,
    isReadonly: boolean | undefined,
    args: readonly Arg[],
    options?: object,
  ): Promise<unknown>;
  nodeClient(node: never): Promise<NodeRedisClientLike>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** True for a node-redis client or cluster client. */
export function isNodeRedisLike(value: unknown): value is NodeRedisClientLike | NodeRedisClusterLike {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { sendCommand?: unknown }).sendCommand === "function" &&
    typeof (value as { isOpen?: unknown }).isOpen === "boolean"
  );
}

function isClusterLike(value: NodeRedisClientLike | NodeRedisClusterLike): value is NodeRedisClusterLike {
  return Array.isArray((value as { masters?: unknown }).masters) && "nodeClient" in value;
}

class NodeRedisAdapter implements RedisAdapter {
  readonly kind = "node-redis";
  readonly isCluster: boolean;
  readonly #client: NodeRedisClientLike | undefined;
  readonly #cluster: NodeRedisClusterLike | undefined;
  readonly #owned: boolean;
  #down = false;
  readonly #onReconnecting = (): void => {
    this.#down = true;
  };
  readonly #onReady = (): void => {
    this.#down = false;
  };

  constructor(client: NodeRedisClientLike | NodeRedisClusterLike, owned: boolean) {
    this.#owned = owned;
    if (isClusterLike(client)) {
      this.isCluster = true;
      this.#cluster = client;
    } else {
      this.isCluster = false;
      this.#client = client;
      client.on("reconnecting", this.#onReconnecting);
      client.on("ready", this.#onReady);
    }
  }

  whenReady(): undefined {
    if (this.#down) throw new Error("the Redis connection is down (node-redis is reconnecting)");
    const open = this.#client?.isOpen ?? this.#cluster?.isOpen;
    if (!open) throw new Error("the node-redis client is not open; call `await client.connect()` first");
    return undefined;
  }

  #send(key: Arg | undefined, isReadonly: boolean, args: readonly Arg[]): Promise<unknown> {
    if (this.#cluster) return this.#cluster.sendCommand(key, isReadonly, args, BUFFER_REPLIES);
    return this.#client!.sendCommand(args, BUFFER_REPLIES);
  }

  async get(key: string): Promise<Buffer | null> {
    return (await this.#send(key, true, ["GET", key])) as Buffer | null;
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    if (!this.isCluster) return (await this.#send(keys[0], true, ["MGET", ...keys])) as (Buffer | null)[];
    // One MGET per slot, all issued in the same tick: node-redis writes them to each node together.
    const out = new Array<Buffer | null>(keys.length).fill(null);
    await Promise.all(
      Array.from(groupBy(keys, clusterSlot).values(), async (group) => {
        const first = group[0]!.item;
        const replies = (await this.#send(first, true, [
          "MGET",
          ...group.map((g) => g.item),
        ])) as (Buffer | null)[];
        group.forEach((g, i) => (out[g.index] = replies[i] ?? null));
      }),
    );
    return out;
  }

  async set(key: string, value: Buffer, ttlMs: number | undefined): Promise<void> {
    const args: Arg[] = ttlMs === undefined ? ["SET", key, value] : ["SET", key, value, "PX", String(ttlMs)];
    await this.#send(key, false, args);
  }

  async setMany(writes: readonly RedisWrite[]): Promise<void> {
    // Issued in one tick, so node-redis pipelines them into one write per connection.
    await Promise.all(writes.map((w) => this.set(w.key, w.value, w.ttlMs)));
  }

  async delete(keys: readonly (string | Buffer)[]): Promise<void> {
    if (keys.length === 0) return;
    if (!this.isCluster) {
      await this.#send(keys[0], false, ["UNLINK", ...keys]);
      return;
    }
    await Promise.all(
      Array.from(groupBy(keys, clusterSlot).values(), (group) =>
        this.#send(group[0]!.item, false, ["UNLINK", ...group.map((g) => g.item)]),
      ),
    );
  }

  async scan(pattern: string, count: number, onKeys: (keys: Buffer[]) => Promise<void>): Promise<void> {
    const nodes: NodeRedisClientLike[] = this.#cluster
      ? await Promise.all(this.#cluster.masters.map((master) => this.#cluster!.nodeClient(master as never)))
      : [this.#client!];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const reply = (await node.sendCommand(
          ["SCAN", cursor, "MATCH", pattern, "COUNT", String(count)],
          BUFFER_REPLIES,
        )) as [Buffer | string, Buffer[]];
        cursor = reply[0].toString();
        await onKeys(reply[1]);
      } while (cursor !== "0");
    }
  }

  async ping(): Promise<void> {
    await this.#send(undefined, true, ["PING"]);
  }

  /** A single client's `ready` event; a node-redis cluster has no such event, so never fires. */
  onReady(listener: () => void): () => void {
    const client = this.#client;
    if (client === undefined) return () => undefined;
    client.on("ready", listener);
    return () => void client.off("ready", listener);
  }

  async runScript(
    script: RedisScript,
    key: string | Buffer,
    args: readonly (string | Buffer)[],
  ): Promise<unknown> {
    try {
      return await this.#send(key, false, ["EVALSHA", script.sha, "1", key, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return this.#send(key, false, ["EVAL", script.source, "1", key, ...args]);
    }
  }

  trackingNodes(): readonly TrackingNode[] | Promise<readonly TrackingNode[]> {
    return nodeRedisTrackingNodes(this.#client, this.#cluster);
  }

  async close(): Promise<void> {
    this.#client?.off("reconnecting", this.#onReconnecting);
    this.#client?.off("ready", this.#onReady);
    if (!this.#owned) return;
    const target = this.#cluster ?? this.#client!;
    await (target.close ?? target.quit)?.call(target);
  }
}

/** Options for {@link nodeRedisAdapter}. */
export interface NodeRedisAdapterOptions {
  /**
   * Let the tier close the client in its `close()`. Leave it off for a client your application
   * also uses.
   * @default false
   */
  owned?: boolean;
}

/**
 * Wraps a connected node-redis client (`createClient()`) or cluster (`createCluster()`) for
 * {@link RedisTier}. The tier does this itself when its `client` is a node-redis client.
 *
 * Bulk replies are requested as Buffers per command, so the client's own type mapping does not
 * matter. While the client reports it is reconnecting, calls fail at once.
 *
 * @example
 * const client = await createClient({ url }).on("error", onError).connect();
 * const tier = new RedisTier({ client: nodeRedisAdapter(client) });
 */
export function nodeRedisAdapter(
  client: NodeRedisClientLike | NodeRedisClusterLike,
  options: NodeRedisAdapterOptions = {},
): RedisAdapter {
  return new NodeRedisAdapter(client, options.owned === true);
}
