import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { describeRedis, sendCommand, startRedisCluster } from "../src/index.js";
import type { RedisClusterHandle } from "../src/index.js";

describeRedis(
  "startRedisCluster",
  () => {
    let cluster: RedisClusterHandle;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3, own: true });
    });
    afterAll(async () => {
      await cluster.stop();
    });

    it("starts three masters that share all 16384 slots", async () => {
      expect(cluster.nodes).toHaveLength(3);
      expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
      for (const node of cluster.nodes) {
        const info = (await sendCommand(node.host, node.port, ["CLUSTER", "INFO"])) as string;
        expect(info).toContain("cluster_state:ok");
        expect(info).toContain("cluster_known_nodes:3");
        expect(info).toContain("cluster_size:3");
      }
    });

    it("killNode() takes a node down and restartNode() brings the cluster back to ok", async () => {
      const node = cluster.nodes[1]!;
      await cluster.killNode(1);
      await expect(sendCommand(node.host, node.port, ["PING"], 300)).rejects.toThrow();
      await cluster.restartNode(1);
      const info = (await sendCommand(node.host, node.port, ["CLUSTER", "INFO"])) as string;
      expect(info).toContain("cluster_state:ok");
      expect(info).toContain("cluster_slots_ok:16384");
    });
  },
  true,
);

describeRedis(
  "startRedisCluster with replicas",
  () => {
    let cluster: RedisClusterHandle;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, own: true });
    });
    afterAll(async () => {
      await cluster.stop();
    });

    const role = async (node: { host: string; port: number }) =>
      (await sendCommand(node.host, node.port, ["ROLE"])) as unknown[];

    it("gives each master one replica, in sync", async () => {
      expect(cluster.replicas.map((r) => r.length)).toEqual([1, 1, 1]);
      for (const [i, [replica]] of cluster.replicas.entries()) {
        const [kind, , masterPort, state] = await role(replica!);
        expect([kind, Number(masterPort), state]).toEqual(["slave", cluster.nodes[i]!.port, "connected"]);
      }
    });

    it("failover() promotes the replica; the old master becomes its replica", async () => {
      const promoted = await cluster.failover(0);
      expect(promoted).toEqual(cluster.replicas[0]![0]);
      expect((await role(promoted))[0]).toBe("master");
      expect((await role(cluster.nodes[0]!))[0]).toBe("slave");
    });

    it("rejects a bad replicasPerMaster, naming it", async () => {
      await expect(startRedisCluster({ own: true, replicasPerMaster: -1 })).rejects.toThrow(
        /replicasPerMaster/,
      );
    });
  },
  true,
);
