import type { Cluster, Redis } from "ioredis";
import { clusterSlot, groupBy } from "./cluster-slot.js";
import type { RedisAdapter, RedisWrite } from "./redis-adapter.js";

/**
 * The part of an ioredis `Redis` or `Cluster` used to recognise one. Declared structurally so that
 * this package's types do not require ioredis to be installed.
 */
export interface IORedisLike {
  readonly status: string;
  pipeline(...args: never[]): unknown;
  getBuffer(...args: never[]): unknown;
}

type Client = Redis | Cluster;
type PipelineResult = [error: Error | null, result: unknown][] | null;

/** True for an ioredis `Redis` or `Cluster`. */
export function isIORedisLike(value: unknown): value is IORedisLike {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { status?: unknown }).status === "string" &&
    typeof (value as { pipeline?: unknown }).pipeline === "function" &&
    typeof (value as { getBuffer?: unknown }).getBuffer === "function"
  );
}

function check(results: PipelineResult): unknown[] {
  if (!results) throw new Error("pipeline returned no results");
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

class IORedisAdapter implements RedisAdapter {
  readonly kind = "ioredis";
  readonly isCluster: boolean;
  readonly #client: Client;
  #ready: Promise<void> | undefined;
  #wasReady: boolean;

  constructor(client: Client) {
    this.#client = client;
    this.#wasReady = client.status === "ready";
    if (!this.#wasReady) {
      client.once("ready", () => {
        this.#wasReady = true;
      });
    }
    this.isCluster = (client as { isCluster?: boolean }).isCluster === true;
  }

  /**
   * Fails fast only once the connection has been up: a drop after that is an outage, while a
   * client that has not connected yet (or whose first slot refresh failed, common for a Cluster
   * under load) is waited for, within the caller's `commandTimeout`.
   */
  whenReady(): Promise<void> | undefined {
    const client = this.#client;
    const status = client.status;
    if (status === "ready") {
      this.#wasReady = true;
      return undefined;
    }
    if (status === "end") throw new Error('the Redis connection was closed (ioredis status "end")');
    if (this.#wasReady) throw new Error(`the Redis connection is down (ioredis status "${status}")`);
    if (status === "wait") {
      return (this.#ready ??= client.connect().then(
        () => {
          this.#ready = undefined;
        },
        (error: unknown) => {
          this.#ready = undefined;
          throw error;
        },
      ));
    }
    return (this.#ready ??= new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        client.off("end", onEnd);
        this.#ready = undefined;
        resolve();
      };
      const onEnd = (): void => {
        client.off("ready", onReady);
        this.#ready = undefined;
        reject(new Error("the Redis connection ended before it was ready"));
      };
      client.once("ready", onReady);
      client.once("end", onEnd);
    }));
  }

  get(key: string): Promise<Buffer | null> {
    return this.#client.getBuffer(key);
  }

  /** On a Cluster: one pipeline per master, holding one MGET per slot. */
  #nodeGroups<T>(items: readonly T[], keyOf: (item: T) => string | Buffer) {
    const slotGroups = groupBy(items, (item) => clusterSlot(keyOf(item)));
    const slots = (this.#client as Cluster).slots;
    const nodeGroups = new Map<string, { item: T; index: number }[][]>();
    for (const [slot, group] of slotGroups) {
      const node = slots[slot]?.[0] ?? `slot:${slot}`;
      let list = nodeGroups.get(node);
      if (!list) nodeGroups.set(node, (list = []));
      list.push(group);
    }
    return nodeGroups.values();
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    if (!this.isCluster) return this.#client.mgetBuffer(...keys);
    const out = new Array<Buffer | null>(keys.length).fill(null);
    await Promise.all(
      Array.from(
        this.#nodeGroups(keys, (key) => key),
        async (slotGroups) => {
          const pipeline = this.#client.pipeline();
          for (const group of slotGroups) pipeline.mgetBuffer(...group.map((g) => g.item));
          const replies = check(await pipeline.exec()) as (Buffer | null)[][];
          slotGroups.forEach((group, i) => group.forEach((g, j) => (out[g.index] = replies[i]![j] ?? null)));
        },
      ),
    );
    return out;
  }

  async set(key: string, value: Buffer, ttlMs: number | undefined): Promise<void> {
    if (ttlMs === undefined) await this.#client.set(key, value);
    else await this.#client.set(key, value, "PX", ttlMs);
  }

  async setMany(writes: readonly RedisWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const groups = this.isCluster
      ? Array.from(
          this.#nodeGroups(writes, (w) => w.key),
          (slotGroups) => slotGroups.flat().map((g) => g.item),
        )
      : [writes];
    await Promise.all(
      groups.map(async (group) => {
        const pipeline = this.#client.pipeline();
        for (const w of group) {
          if (w.ttlMs === undefined) pipeline.set(w.key, w.value);
          else pipeline.set(w.key, w.value, "PX", w.ttlMs);
        }
        check(await pipeline.exec());
      }),
    );
  }

  async delete(keys: readonly (string | Buffer)[]): Promise<void> {
    if (keys.length === 0) return;
    if (!this.isCluster) {
      await this.#client.unlink(...keys);
      return;
    }
    await Promise.all(
      Array.from(
        this.#nodeGroups(keys, (key) => key),
        async (slotGroups) => {
          const pipeline = this.#client.pipeline();
          for (const group of slotGroups) pipeline.unlink(...group.map((g) => g.item));
          check(await pipeline.exec());
        },
      ),
    );
  }

  async scan(pattern: string, count: number, onKeys: (keys: Buffer[]) => Promise<void>): Promise<void> {
    const nodes: Redis[] = this.isCluster
      ? (this.#client as Cluster).nodes("master")
      : [this.#client as Redis];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scanBuffer(cursor, "MATCH", pattern, "COUNT", count);
        cursor = next.toString();
        await onKeys(keys);
      } while (cursor !== "0");
    }
  }

  async ping(): Promise<void> {
    await this.#client.ping();
  }

  async close(): Promise<void> {
    if (this.#client.status !== "ready") {
      this.#client.disconnect();
      return;
    }
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}

/**
 * Wraps an ioredis `Redis` or `Cluster` for {@link RedisTier}. The tier does this itself when its
 * `client` is an ioredis client; call it directly only to decorate the adapter.
 */
export function ioredisAdapter(client: IORedisLike): RedisAdapter {
  return new IORedisAdapter(client as unknown as Client);
}
