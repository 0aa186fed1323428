import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { clusterSlot, groupBy } from "./cluster-slot.js";
import type { RedisAdapter, RedisScript, RedisWrite } from "./redis-adapter.js";
import { ioredisTrackingNodes } from "./tracking/tracking-connection.js";
import type { TrackingNode } from "./tracking/tracking-connection.js";

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

const REDIRECT = /^(MOVED|ASK) /;
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
    const reply = this.#client.getBuffer(key);
    return this.isCluster
      ? reply.catch((error: unknown) => this.#afterRedirect(error, () => this.#client.getBuffer(key)))
      : reply;
  }

  /**
   * On a Cluster, ioredis's auto-pipelining batches lone commands too, and a batch whose commands
   * were redirected to different nodes fails with the raw MOVED errors and leaves the slot map
   * stale. Refresh the map once and retry the command.
   */
  async #afterRedirect<T>(error: unknown, retry: () => Promise<T>): Promise<T> {
    if (!(error instanceof Error) || !REDIRECT.test(error.message)) throw error;
    await this.#refreshSlots();
    return retry();
  }

  /**
   * Cluster batches: one pipeline per slot allocation group (in practice, per master) according to
   * ioredis's slot map, so a batch costs about one round trip per node. A unit whose slot the map
   * does not know, or that a node answers with MOVED/ASK (the map is stale, e.g. after a restart or
   * a failover), is re-sent on its own through the Cluster, which follows the redirection and
   * refreshes its map. Results come back in unit order.
   */
  async #routed<U, R>(
    units: readonly U[],
    slotOf: (unit: U) => number,
    queue: (pipeline: ChainableCommander, unit: U) => void,
    direct: (unit: U) => Promise<R>,
  ): Promise<R[]> {
    const cluster = this.#client as Cluster;
    const out = new Array<R>(units.length);
    const byNodes = new Map<string, number[]>();
    const unrouted: number[] = [];
    units.forEach((unit, i) => {
      const nodes = cluster.slots[slotOf(unit)];
      if (nodes === undefined || nodes.length === 0) {
        unrouted.push(i);
        return;
      }
      const group = nodes.join(",");
      let list = byNodes.get(group);
      if (!list) byNodes.set(group, (list = []));
      list.push(i);
    });
    let refreshed: Promise<void> | undefined;
    const resend = async (i: number, redirected = false): Promise<void> => {
      // ioredis follows MOVED for a lone command, but not for a pipeline (its own auto-pipelining
      // included) whose commands were redirected to different places, and it does not refresh its
      // slot map then: without this, a stale map (after a master restarts) would never heal.
      if (redirected) await (refreshed ??= this.#refreshSlots());
      out[i] = await direct(units[i]!);
    };
    await Promise.all([
      ...Array.from(byNodes.values(), async (indexes) => {
        const pipeline = cluster.pipeline();
        for (const i of indexes) queue(pipeline, units[i]!);
        let results: PipelineResult;
        try {
          results = await pipeline.exec();
        } catch {
          // The pipeline could not be routed as a whole: send each unit through the Cluster.
          await Promise.all(indexes.map((i) => resend(i)));
          return;
        }
        await Promise.all(
          indexes.map(async (i, position) => {
            const [error, result] = results?.[position] ?? [new Error("pipeline returned no result"), null];
            if (error === null) out[i] = result as R;
            else if (REDIRECT.test(error.message)) await resend(i, true);
            else throw error;
          }),
        );
      }),
      ...unrouted.map((i) => resend(i)),
    ]);
    return out;
  }

  /**
   * The connected masters that own every slot, asking the cluster again once when the client's map
   * or pool lacks one (see {@link slotOwners}); throws when it still does.
   */
  async #slotOwners(): Promise<Redis[]> {
    const cluster = this.#client as Cluster;
    const owners = slotOwners(cluster);
    if (owners !== undefined) return owners;
    await this.#refreshSlots();
    const refreshed = slotOwners(cluster);
    if (refreshed === undefined) {
      throw new Error(
        "the cluster client does not reach a master for every slot: a SCAN would be incomplete",
      );
    }
    return refreshed;
  }

  #refreshSlots(): Promise<void> {
    return new Promise<void>((resolve) => (this.#client as Cluster).refreshSlotsCache(() => resolve()));
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    if (!this.isCluster) return this.#client.mgetBuffer(...keys);
    const groups = Array.from(groupBy(keys, clusterSlot));
    const replies = await this.#routed(
      groups,
      ([slot]) => slot,
      (pipeline, [, group]) => pipeline.mgetBuffer(...group.map((g) => g.item)),
      ([, group]) => this.#client.mgetBuffer(...group.map((g) => g.item)),
    );
    const out = new Array<Buffer | null>(keys.length).fill(null);
    groups.forEach(([, group], i) => group.forEach((g, j) => (out[g.index] = replies[i]![j] ?? null)));
    return out;
  }

  async set(key: string, value: Buffer, ttlMs: number | undefined): Promise<void> {
    const send = () =>
      ttlMs === undefined ? this.#client.set(key, value) : this.#client.set(key, value, "PX", ttlMs);
    if (!this.isCluster) await send();
    else await send().catch((error: unknown) => this.#afterRedirect(error, send));
  }

  async setMany(writes: readonly RedisWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const queue = (pipeline: ChainableCommander, w: RedisWrite): void => {
      if (w.ttlMs === undefined) pipeline.set(w.key, w.value);
      else pipeline.set(w.key, w.value, "PX", w.ttlMs);
    };
    if (!this.isCluster) {
      const pipeline = this.#client.pipeline();
      for (const w of writes) queue(pipeline, w);
      check(await pipeline.exec());
      return;
    }
    await this.#routed(
      writes,
      (w) => clusterSlot(w.key),
      queue,
      (w) => this.set(w.key, w.value, w.ttlMs),
    );
  }

  async delete(keys: readonly (string | Buffer)[]): Promise<void> {
    if (keys.length === 0) return;
    if (!this.isCluster) {
      await this.#client.unlink(...keys);
      return;
    }
    await this.#routed(
      Array.from(groupBy(keys, clusterSlot)),
      ([slot]) => slot,
      (pipeline, [, group]) => pipeline.unlink(...group.map((g) => g.item)),
      ([, group]) => this.#client.unlink(...group.map((g) => g.item)),
    );
  }

  async scan(pattern: string, count: number, onKeys: (keys: Buffer[]) => Promise<void>): Promise<void> {
    const nodes = this.isCluster ? await this.#slotOwners() : [this.#client as Redis];
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

  onReady(listener: () => void): () => void {
    this.#client.on("ready", listener);
    return () => void this.#client.off("ready", listener);
  }

  runScript(script: RedisScript, key: string | Buffer, args: readonly (string | Buffer)[]): Promise<unknown> {
    // The `*Buffer` variants exist on every ioredis command but are untyped for these two; not
    // `callBuffer`, which ioredis's auto-pipelining sends without its command name.
    const client = this.#client as unknown as Record<
      "evalshaBuffer" | "evalBuffer",
      (...args: (string | number | Buffer)[]) => Promise<unknown>
    >;
    const send = async (): Promise<unknown> => {
      try {
        return await client.evalshaBuffer(script.sha, 1, key, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return client.evalBuffer(script.source, 1, key, ...args);
      }
    };
    return this.isCluster ? send().catch((error: unknown) => this.#afterRedirect(error, send)) : send();
  }

  trackingNodes(): readonly TrackingNode[] | Promise<readonly TrackingNode[]> {
    return ioredisTrackingNodes(this.#client, this.isCluster);
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

/**
 * The connections of the masters that own the cluster's slots, by the client's slot map, or
 * `undefined` when a slot has no owner or an owner has no connection in the pool. Right after a
 * partition heals, ioredis may hold a pool of one master while it rebuilds the others, and a SCAN
 * over fewer masters than own slots would skip their keys and still succeed (a `clear` replayed
 * then deleted a third of the keys and reported success).
 */
function slotOwners(cluster: Cluster): Redis[] | undefined {
  const pool = new Map<string, Redis>();
  for (const node of cluster.nodes("master")) pool.set(`${node.options.host}:${node.options.port}`, node);
  const owners = new Map<string, Redis>();
  const slots = cluster.slots;
  for (let slot = 0; slot < 16384; slot++) {
    const owner = slots[slot]?.[0];
    if (owner === undefined) return undefined;
    if (owners.has(owner)) continue;
    const node = pool.get(owner);
    if (node === undefined) return undefined;
    owners.set(owner, node);
  }
  return [...owners.values()];
}
