import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, startRedisCluster } from "@cachet/test-utils";
import type { RedisClusterHandle, RedisNodeAddress } from "@cachet/test-utils";
import { Cluster, Redis } from "ioredis";
import { createCluster } from "redis";
import { RedisTier } from "../src/index.js";
import { clusterSlot } from "../src/cluster-slot.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";
import { EVICTION_BOUND, trackedCache } from "./fixtures/tracked-cache.js";
import { waitFor } from "./coherence/fixtures/wait.js";

// `tracking` across a failover on a 3-master Cluster with one replica per master. A failover
// moves a shard's slots to another node: the cache must hear of it (a reset), take no copies
// while blind, and track the new master afterwards; the demoted node (now a replica) must not
// count as tracking those slots. Both clients; each test uses its own client and its own shards.
//
// Bounds: an outside write reaches the cache within EVICTION_BOUND (as in tracking.test.ts);
// the topology check runs every TOPOLOGY_CHECK ms, so a failover is reported within
// RESET_BOUND of the cluster agreeing on it, with no traffic from this process.
const TOPOLOGY_CHECK = 100;
const RESET_BOUND = 3_000;

type ClusterClient = Cluster | ReturnType<typeof createCluster>;

describeRedis(
  "RedisTier tracking across a Redis Cluster failover",
  () => {
    let cluster: RedisClusterHandle;
    const admins: Redis[] = [];
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, own: true });
    });
    afterAll(async () => {
      for (const admin of admins) admin.disconnect();
      await cluster.stop();
    });

    /** A plain connection to one node (no cluster routing: the write lands exactly there). */
    function direct(address: RedisNodeAddress): Redis {
      const admin = new Redis({ ...address, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on("error", () => undefined);
      admins.push(admin);
      return admin;
    }

    /** A key of the tier's whose slot `master` serves. */
    async function keyOnShard(prefix: string, master: RedisNodeAddress): Promise<string> {
      const slots = (await direct(master).cluster("SLOTS")) as unknown as [
        number,
        number,
        [string, number],
      ][];
      const mine = slots.filter(([, , owner]) => owner[1] === master.port);
      if (mine.length === 0) throw new Error(`${master.host}:${master.port} serves no slot`);
      for (let i = 0; ; i++) {
        const slot = clusterSlot(`${prefix}:k${i}`);
        if (mine.some(([from, to]) => from <= slot && slot <= to)) return `k${i}`;
      }
    }

    async function trackingClients(address: RedisNodeAddress): Promise<number> {
      const list = String(await direct(address).client("LIST"));
      return list.split("\n").filter((line) => line.includes("name=cachet:tracking")).length;
    }

    async function clientFor(
      kind: "ioredis" | "node-redis",
    ): Promise<{ client: ClusterClient; close(): void }> {
      const roots = cluster.nodes.map(({ host, port }) => ({ host, port }));
      if (kind === "ioredis") {
        const client = new Cluster(roots, { clusterRetryStrategy: () => 50 });
        client.on("error", () => undefined);
        await new Promise((resolve) => client.once("ready", resolve));
        return { client, close: () => client.disconnect() };
      }
      const client = createCluster({ rootNodes: roots.map((socket) => ({ socket })) });
      client.on("error", () => undefined);
      await client.connect();
      return { client: client as unknown as ClusterClient, close: () => client.destroy() };
    }

    async function harness(client: ClusterClient) {
      const prefix = uniquePrefix("trkf");
      const tier = new RedisTier<string, string>({
        client,
        prefix,
        tracking: { topologyCheck: TOPOLOGY_CHECK },
      });
      const { cache, events, outsideWrite } = trackedCache(tier);
      await tier.trackingReady();
      const resets = (pattern: RegExp) =>
        events.filter((e) => e.type === "external_reset" && pattern.test(e.reason ?? "")).length;
      /** Puts `value` in L1 (through the tier, so its own invalidation has come back first). */
      const cached = async (key: string, value: string): Promise<void> => {
        await outsideWrite(() => cache.insert(key, value));
        expect((await cache.get(key))?.value).toBe(value);
      };
      return { prefix, tier, cache, events, resets, outsideWrite, cached };
    }
    type Harness = Awaited<ReturnType<typeof harness>>;

    /**
     * Tracking is back on `master`: watching again, one tracking connection there, and a raw write
     * on it reaches the cache within the bound (this needs no working data path of the client).
     */
    async function tracksAgain(h: Harness, key: string, master: RedisNodeAddress): Promise<void> {
      await waitFor(() => h.tier.externalChanges?.isWatching, "tracking to resume", 15_000, 10);
      expect(h.events.filter((e) => e.type === "external_reset").at(-1)?.reason).toMatch(/^watching:/);
      expect(await trackingClients(master)).toBe(1);
      const delay = await h.outsideWrite(() => direct(master).set(h.tier.redisKey(key), "raw"));
      expect(delay).toBeLessThan(EVICTION_BOUND);
    }

    /** An L1 copy of `key`, read through the client's data path, is evicted by a raw write on `master`. */
    async function evictsL1(h: Harness, key: string, master: RedisNodeAddress): Promise<void> {
      await h.cached(key, "v3");
      const delay = await h.outsideWrite(() => direct(master).set(h.tier.redisKey(key), "not an envelope"));
      expect(delay).toBeLessThan(EVICTION_BOUND);
      expect(await h.cache.get(key)).toBeUndefined();
    }

    describe.each([
      // [client, shard to fail over, shard whose master is killed]
      ["ioredis", 0, 1],
      ["node-redis", 2, 0],
    ] as const)("%s", (kind, failoverShard, killShard) => {
      it("a manual failover: reported, no stale L1 hit, tracking moves to the new master", async () => {
        const { client, close } = await clientFor(kind);
        const h = await harness(client);
        try {
          const oldMaster = await cluster.waitForMaster(failoverShard);
          const key = await keyOnShard(h.prefix, oldMaster);
          await h.cached(key, "v1");
          const lostBefore = h.resets(/^lost:/);
          const newMaster = await cluster.failover(failoverShard);
          expect(newMaster).not.toEqual(oldMaster);
          // Another process writes on the new master at once; this process sends nothing.
          await direct(newMaster).set(h.tier.redisKey(key), "not an envelope");
          const since = performance.now();
          await waitFor(() => h.resets(/^lost:/) > lostBefore, "the failover to be reported", RESET_BOUND, 5);
          expect(performance.now() - since).toBeLessThan(RESET_BOUND);
          expect(await h.cache.get(key)).toBeUndefined(); // the L1 copy "v1" is gone
          await tracksAgain(h, key, newMaster);
          await evictsL1(h, key, newMaster);
          // The demoted node serves no slot: no tracking connection of ours stays on it.
          await waitFor(
            async () => (await trackingClients(oldMaster)) === 0,
            "no tracking on the replica",
            5_000,
            20,
          );
        } finally {
          await h.cache.close();
          close();
        }
      });

      it("a master killed and its replica promoted: blind meanwhile, then tracking resumes", async () => {
        const { client, close } = await clientFor(kind);
        const h = await harness(client);
        try {
          const key = await keyOnShard(h.prefix, await cluster.waitForMaster(killShard));
          await h.cached(key, "v1");
          const lostBefore = h.resets(/^lost:/);
          const dead = await cluster.killMaster(killShard);
          await waitFor(() => h.resets(/^lost:/) > lostBefore, "the loss to be reported", RESET_BOUND, 5);
          // Blind: L1 copies were dropped, and none is taken: reads go to Redis.
          expect(h.tier.externalChanges?.isWatching).toBe(false);
          const promoted = await cluster.waitForMaster(killShard, dead);
          await direct(promoted).set(h.tier.redisKey(key), "not an envelope");
          expect(
            await h.cache.get(key).then(
              (e) => e?.value,
              () => "unreachable",
            ),
          ).not.toBe("v1");
          await tracksAgain(h, key, promoted);
          // The L1 round trip needs the client to route to the promoted node, which node-redis 5
          // does not do by itself after its master was killed (its data path, not tracking).
        } finally {
          await h.cache.close();
          close();
        }
      });
    });
  },
  true,
);
