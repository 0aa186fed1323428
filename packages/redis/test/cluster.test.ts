import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { CacheEntry } from "@cachet/tier";
import { describeRedis, startRedisCluster } from "@cachet/test-utils";
import type { RedisClusterHandle } from "@cachet/test-utils";
import { Cluster } from "ioredis";
import { createCluster } from "redis";
import { RedisTier } from "../src/index.js";
import { clusterSlot } from "../src/cluster-slot.js";
import { sharedCases, uniquePrefix } from "./fixtures/shared-cases.js";

/** One key per hash slot: brute-forces key names until every slot of `prefix:<key>` is hit. */
function keysOverAllSlots(prefix: string): string[] {
  const bySlot = new Array<string | undefined>(16384);
  let found = 0;
  for (let i = 0; found < 16384; i++) {
    const key = `k${i}`;
    const slot = clusterSlot(`${prefix}:${key}`);
    if (bySlot[slot] === undefined) {
      bySlot[slot] = key;
      found++;
    }
  }
  return bySlot as string[];
}

async function countPerMaster(raw: Cluster, prefix: string): Promise<number[]> {
  return Promise.all(
    raw.nodes("master").map(async (node) => {
      let cursor = "0";
      let count = 0;
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        count += keys.length;
      } while (cursor !== "0");
      return count;
    }),
  );
}

describeRedis(
  "RedisTier on a 3-master Redis Cluster",
  () => {
    let cluster: RedisClusterHandle;
    let ioCluster: Cluster;
    let raw: Cluster;
    let nodeCluster: ReturnType<typeof createCluster>;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
      const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
      ioCluster = new Cluster(nodes);
      raw = new Cluster(nodes);
      nodeCluster = createCluster({ rootNodes: nodes.map((n) => ({ socket: n })) });
      nodeCluster.on("error", () => undefined);
      await Promise.all([
        nodeCluster.connect(),
        new Promise((resolve) => ioCluster.once("ready", resolve)),
        new Promise((resolve) => raw.once("ready", resolve)),
      ]);
    });
    afterAll(async () => {
      await Promise.all([ioCluster.quit(), raw.quit()]);
      nodeCluster.destroy();
      await cluster.stop();
    });

    const spreadOverAllSlots = (makeTier: (prefix: string) => RedisTier<string, unknown>) => async () => {
      const prefix = uniquePrefix("slots");
      const tier = makeTier(prefix);
      const keys = keysOverAllSlots(prefix);
      await tier.insertMany(keys.map((key, i) => [key, new CacheEntry(i, { ttl: 60_000 })] as const));
      const perMaster = await countPerMaster(raw, prefix);
      expect(perMaster).toHaveLength(3);
      expect(perMaster.every((n) => n > 5_000)).toBe(true);
      expect(perMaster.reduce((a, b) => a + b)).toBe(16384);
      const got = await tier.getMany(keys);
      expect(got.every((entry, i) => entry?.value === i)).toBe(true);
      expect(await tier.size()).toBe(16384);
      await raw.set("foreign-key-on-some-node", "keep");
      await tier.clear();
      expect(await countPerMaster(raw, prefix)).toEqual([0, 0, 0]);
      expect(await raw.get("foreign-key-on-some-node")).toBe("keep");
      await tier.close();
    };

    describe("with a user's ioredis Cluster", () => {
      sharedCases(() => ({
        create: (options) => new RedisTier({ client: ioCluster, prefix: uniquePrefix(), ...options }),
        raw: () => raw,
      }));
      it(
        "spreads keys over all 16384 slots and every master; batch and clear reach them all",
        spreadOverAllSlots((prefix) => new RedisTier({ client: ioCluster, prefix, commandTimeout: 10_000 })),
      );
    });

    describe("with a node-redis cluster", () => {
      sharedCases(() => ({
        create: (options) => new RedisTier({ client: nodeCluster, prefix: uniquePrefix(), ...options }),
        raw: () => raw,
      }));
      it(
        "spreads keys over all 16384 slots and every master; batch and clear reach them all",
        spreadOverAllSlots(
          (prefix) => new RedisTier({ client: nodeCluster, prefix, commandTimeout: 10_000 }),
        ),
      );
    });

    it("creates, uses and closes its own Cluster client from startup nodes", async () => {
      const prefix = uniquePrefix("owned");
      const tier = new RedisTier({ client: { cluster: cluster.nodes }, prefix, commandTimeout: 5_000 });
      const keys = keysOverAllSlots(prefix).filter((_, slot) => slot % 8 === 0);
      try {
        await tier.insertMany(keys.map((key, i) => [key, new CacheEntry(i)] as const));
        expect((await tier.getMany(keys)).every((entry, i) => entry?.value === i)).toBe(true);
        expect((await tier.get(keys[2_000]!))?.value).toBe(2_000);
        expect((await countPerMaster(raw, prefix)).every((n) => n > 500)).toBe(true);
        await tier.clear();
        expect(await countPerMaster(raw, prefix)).toEqual([0, 0, 0]);
      } finally {
        await tier.close();
      }
      const error = await tier.get("k").catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "CLOSED" });
    });

    // Last in the file: it takes a master down and brings it back.
    it("a killed master fails the calls that reach it within commandTimeout; the same tier recovers after a restart", async () => {
      const timeout = 500;
      const tier = new RedisTier({
        client: { cluster: cluster.nodes },
        prefix: uniquePrefix("kill"),
        commandTimeout: timeout,
      });
      try {
        const keys = keysOverAllSlots("x").filter((_, slot) => slot % 512 === 0);
        // The first call also discovers the slots and connects to every master, which under CI load
        // (four Node versions in a row on two cores) once took longer than the 500 ms being tested
        // below: wait, bounded, until the healthy cluster takes the writes before timing anything.
        const ready = Date.now() + 10_000;
        let written: unknown = false;
        while (written !== true && Date.now() < ready) {
          written = await tier.insertMany(keys.map((key) => [key, new CacheEntry(key)] as const)).then(
            () => true,
            (e: unknown) => e,
          );
        }
        expect(written).toBe(true);
        await cluster.killNode(0);
        const started = performance.now();
        const error = await tier.getMany(keys).catch((e: unknown) => e);
        expect(performance.now() - started).toBeLessThan(timeout + 400);
        expect(["TIER_FAILURE", "TIMEOUT"]).toContain((error as { code?: string }).code);
        await cluster.restartNode(0);
        const deadline = Date.now() + 10_000;
        let recovered = false;
        let lastError: unknown;
        // Concurrent single gets first: ioredis auto-pipelines them into one batch per node.
        while (!recovered && Date.now() < deadline) {
          recovered = await Promise.all(keys.map((key) => tier.get(key))).then(
            () => true,
            (e: unknown) => {
              lastError = e;
              return false;
            },
          );
          if (!recovered) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        recovered = false;
        while (!recovered && Date.now() < deadline) {
          recovered = await tier
            .insertMany(keys.map((key) => [key, new CacheEntry(`${key}!`)] as const))
            .then(
              () => true,
              (e: unknown) => {
                lastError = e;
                return false;
              },
            );
          if (!recovered) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(recovered ? "recovered" : String(lastError)).toBe("recovered");
        expect((await tier.getMany(keys)).map((e) => e?.value)).toEqual(keys.map((key) => `${key}!`));
      } finally {
        await tier.close();
      }
    });
  },
  true,
); // spawns cluster nodes (and kills one): REDIS_URL alone is not enough
