import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, startRedis, startRedisCluster } from "@cachet/test-utils";
import type { RedisClusterHandle } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { CacheEntry } from "@cachet/tier";
import { Cluster } from "ioredis";
import { createCluster } from "redis";
import { RedisTier } from "../src/index.js";
import { clusterSlot } from "../src/cluster-slot.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";
import { EVICTION_BOUND, trackedCache } from "./fixtures/tracked-cache.js";
import { waitFor } from "./coherence/fixtures/wait.js";

// `tracking` on a 3-master Cluster: one tracking connection per master. A master restart (this
// cluster has no replicas; failover is in tracking-failover.test.ts) is a blind spell that is
// reported and ends by itself. Runs on the current client majors only (the standalone suite covers 5 and 6).

describeRedis(
  "RedisTier tracking on a 3-master Redis Cluster",
  () => {
    let cluster: RedisClusterHandle;
    let raw: Cluster;
    let ioCluster: Cluster;
    let nodeCluster: ReturnType<typeof createCluster>;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
      const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
      raw = new Cluster(nodes);
      ioCluster = new Cluster(nodes, { clusterRetryStrategy: () => 50 });
      ioCluster.on("error", () => undefined);
      nodeCluster = createCluster({ rootNodes: nodes.map((n) => ({ socket: n })) });
      nodeCluster.on("error", () => undefined);
      await Promise.all([
        nodeCluster.connect(),
        new Promise((resolve) => ioCluster.once("ready", resolve)),
        new Promise((resolve) => raw.once("ready", resolve)),
      ]);
    });
    afterAll(async () => {
      raw.disconnect();
      ioCluster.disconnect();
      nodeCluster.destroy();
      await cluster.stop();
    });

    /** One key per master: names whose slots fall on three different nodes. */
    function keysOnEveryMaster(prefix: string): string[] {
      const byNode = new Map<string, string>();
      for (let i = 0; byNode.size < 3; i++) {
        const key = `k${i}`;
        const node = raw.slots[clusterSlot(`${prefix}:${key}`)]?.[0];
        if (node !== undefined && !byNode.has(node)) byNode.set(node, key);
      }
      return [...byNode.values()];
    }

    async function harness(client: Cluster | ReturnType<typeof createCluster>) {
      const prefix = uniquePrefix("trkc");
      const tier = new RedisTier<string, string>({ client, prefix, tracking: { topologyCheck: 100 } });
      const tracked = trackedCache(tier);
      await tier.trackingReady();
      return { prefix, tier, ...tracked };
    }

    describe.each([
      ["ioredis", () => ioCluster],
      ["node-redis", () => nodeCluster],
    ] as const)("%s", (_kind, client) => {
      it("tracks every master: a raw write on any node evicts the L1 copy within the bound", async () => {
        const h = await harness(client());
        const list = await Promise.all(raw.nodes("master").map((node) => node.client("LIST")));
        for (const clients of list) expect(String(clients)).toContain("name=cachet:tracking");
        for (const key of keysOnEveryMaster(h.prefix)) {
          await h.outsideWrite(() => h.cache.insert(key, "v1")); // the tier's own write comes back too
          await h.cache.get(key);
          const delay = await h.outsideWrite(() => raw.set(h.tier.redisKey(key), "not an envelope"));
          expect(delay).toBeLessThan(EVICTION_BOUND);
          expect(await h.cache.get(key)).toBeUndefined();
        }
        await h.cache.close();
      });
    });

    it.each([
      ["ioredis", () => ioCluster],
      ["node-redis", () => nodeCluster],
    ] as const)(
      "%s: a master restart is a reported blind spell; tracking resumes on every master",
      async (_kind, client) => {
        const h = await harness(client());
        const keys = keysOnEveryMaster(h.prefix);
        const key = keys[1]!;
        await h.outsideWrite(() => h.cache.insert(key, "v1"));
        await h.cache.get(key);
        await cluster.restartNode(1);
        await waitFor(
          () => h.events.some((e) => e.type === "external_reset" && e.reason?.startsWith("lost:")),
          "the loss to be reported",
          10_000,
        );
        await waitFor(() => h.tier.externalChanges?.isWatching, "tracking to resume", 20_000);
        expect(h.events.filter((e) => e.type === "external_reset").at(-1)?.reason).toMatch(/^watching:/);
        for (const each of keys) {
          await waitFor(
            async () =>
              (await h.tier.insert(each, new CacheEntry("v2")).then(
                () => true,
                () => false,
              )) || undefined,
            "the cluster client to recover",
            10_000,
          );
          await h.cache.get(each);
          await h.outsideWrite(() => raw.set(h.tier.redisKey(each), "not an envelope"));
          expect(await h.cache.get(each)).toBeUndefined();
        }
        await h.cache.close();
      },
    );

    it("a slot moved to a new master is a topology change: reported, then that master is tracked too", async () => {
      const h = await harness(ioCluster);
      const key = keysOnEveryMaster(h.prefix)[0]!;
      const slot = clusterSlot(h.tier.redisKey(key));
      await h.outsideWrite(() => h.cache.insert(key, "v1"));
      await h.cache.get(key);
      const extra = await startRedis({ own: true, args: ["--cluster-enabled", "yes"] });
      const admin = (address: { host: string; port: number }) =>
        new Redis({ ...address, lazyConnect: false });
      const newNode = admin({ host: extra.host, port: extra.port });
      const [owner] = raw.slots[slot]!;
      const [ownerHost, ownerPort] = owner!.split(":");
      const source = admin({ host: ownerHost!, port: Number(ownerPort) });
      const masters = cluster.nodes.map(admin);
      try {
        await source.cluster("MEET", extra.host, extra.port);
        const newId = String(await newNode.cluster("MYID"));
        const sourceId = String(await source.cluster("MYID"));
        await waitFor(
          async () => {
            const views = await Promise.all(masters.map((m) => m.cluster("NODES")));
            return views.every((view) => String(view).includes(newId));
          },
          "every master to know the new node",
          10_000,
          20,
        );
        await waitFor(
          async () => String(await newNode.cluster("INFO")).includes("cluster_state:ok"),
          "the new node to see the whole cluster",
          10_000,
          20,
        );
        await newNode.cluster("SETSLOT", slot, "IMPORTING", sourceId);
        await source.cluster("SETSLOT", slot, "MIGRATING", newId);
        const keys = await source.cluster("GETKEYSINSLOT", slot, 100);
        if (keys.length > 0) await source.migrate(extra.host, extra.port, "", 0, 5_000, "KEYS", ...keys);
        for (const node of [newNode, ...masters]) await node.cluster("SETSLOT", slot, "NODE", newId);
        // The client learns the new map on its next MOVED; the tracking check then sees a new master.
        await waitFor(
          async () => {
            await h.cache.get(key);
            return h.events.some(
              (e) => e.type === "external_reset" && /^lost: topology changed/.test(e.reason ?? ""),
            );
          },
          "the topology change to be reported",
          10_000,
          20,
        );
        await waitFor(() => h.tier.externalChanges?.isWatching, "tracking of every master again", 10_000);
        expect(String(await newNode.client("LIST"))).toContain("name=cachet:tracking");
        await h.outsideWrite(() => h.cache.insert(key, "v2"));
        await h.cache.get(key);
        const delay = await h.outsideWrite(() => raw.set(h.tier.redisKey(key), "not an envelope"));
        expect(delay).toBeLessThan(EVICTION_BOUND);
        expect(await h.cache.get(key)).toBeUndefined();
      } finally {
        await h.cache.close();
        for (const connection of [newNode, source, ...masters]) connection.disconnect();
        await extra.stop();
      }
    });
  },
  true,
);
