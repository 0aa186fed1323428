import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { describeRedis, sendCommand, startRedisCluster, startTcpProxy } from "@cachet/test-utils";
import type { RedisClusterHandle, TcpProxy } from "@cachet/test-utils";
import { partitionCases } from "./fixtures/partition-cases.js";
import type { FleetMember } from "./fixtures/fleet.js";
import { startFleet } from "./fixtures/fleet.js";
import { Cluster } from "ioredis";
import type { CacheBusMessage } from "@cachet/tier";
import { RedisBus } from "../../src/bus/redis-bus.js";
import { percentile, waitFor } from "./fixtures/wait.js";

jest.setTimeout(60_000);

const figures: string[] = [];

describeRedis(
  "a fleet of cache processes on a 3-master Redis Cluster",
  () => {
    let cluster: RedisClusterHandle;
    beforeAll(async () => {
      // Without full coverage, the surviving masters keep serving while one is down (last test).
      cluster = await startRedisCluster({ masters: 3, args: ["--cluster-require-full-coverage", "no"] });
    });
    afterAll(async () => {
      await cluster?.stop();
      if (figures.length > 0) console.log(`coherence figures (cluster):\n  ${figures.join("\n  ")}`);
    });

    describe.each(["pubsub", "stream"] as const)("%s", (transport) => {
      let fleet: FleetMember[];
      let a: FleetMember, b: FleetMember;

      beforeAll(async () => {
        const run = `fleet:cluster:${process.pid}:${transport}`;
        const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
        const base = { transport, channel: run, prefix: run, cluster: nodes, lock: true };
        fleet = await startFleet([
          { ...base, name: "a" },
          { ...base, name: "b" },
          { ...base, name: "c" },
        ]);
        [a, b] = fleet as [FleetMember, FleetMember];
      });

      afterAll(async () => {
        await Promise.all((fleet ?? []).map((member) => member.stop()));
      });

      it("after A writes, B serves the new value once the message arrived; arrival is bounded", async () => {
        const keys = Array.from({ length: 100 }, (_, i) => `prop:${i}`);
        await a.call({ op: "insertMany", keys, value: "v1" });
        expect(await b.call({ op: "getMany", keys })).toEqual(keys.map(() => "v1"));
        await b.call({ op: "settle", names: keys.map((k) => `key:${k}`), timeoutMs: 5_000 }); // the setup's own messages must not count
        const latencies: number[] = [];
        for (const key of keys) {
          const { startedAt } = await a.call<{ startedAt: number }>({ op: "insert", key, value: "v2" });
          const [arrivedAt] = await b.call<number[]>({
            op: "awaitArrivals",
            names: [`key:${key}`],
            timeoutMs: 2_000,
          });
          latencies.push(arrivedAt! - startedAt);
          expect(await b.get(key)).toBe("v2");
        }
        figures.push(
          `${transport}: insert start → arrival p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
        );
        // Bounded, with room for a loaded 2-core CI machine; the quiet-machine figure is in the README.
        expect(percentile(latencies, 99)).toBeLessThan(250);
      });

      it("a thousand keys invalidated in a burst all arrive; tags reach every instance", async () => {
        const keys = Array.from({ length: 1_000 }, (_, i) => `burst:${i}`);
        await a.call({ op: "insertMany", keys, value: "old" });
        await b.call({ op: "getMany", keys });
        await b.call({ op: "settle", names: keys.map((k) => `key:${k}`), timeoutMs: 5_000 }); // the setup's own messages must not count
        await a.call({ op: "invalidateMany", keys });
        await b.call({ op: "awaitArrivals", names: keys.map((k) => `key:${k}`), timeoutMs: 5_000 });
        expect((await b.call<(string | null)[]>({ op: "getMany", keys })).filter((v) => v !== null)).toEqual(
          [],
        );

        await a.call({ op: "insert", key: "tagged", value: "x", tags: ["t"] });
        for (const member of fleet) expect(await member.get("tagged")).toBe("x");
        await a.call({ op: "invalidateTags", tags: ["t"] });
        for (const member of fleet.slice(1)) {
          await member.call({ op: "awaitArrivals", names: ["tag:t"], timeoutMs: 2_000 });
        }
        for (const member of fleet) expect(await member.get("tagged")).toBeNull();
      });

      it("fleet-wide stampede protection holds on the cluster", async () => {
        const results = await Promise.all(
          fleet.map((member) =>
            member.call<{ loads: number }>({
              op: "stampede",
              key: "stampede:1",
              concurrency: 250,
              loaderMs: 150,
            }),
          ),
        );
        const loads = results.reduce((sum, r) => sum + r.loads, 0);
        figures.push(`${transport}: 3 processes x 250 concurrent misses → ${loads} loader call(s)`);
        expect(loads).toBe(1);
      });
    });
    describe("pubsub, conditional writes: one instance partitioned from every master", () => {
      let fleet: FleetMember[];
      let proxies: TcpProxy[];

      beforeAll(async () => {
        const run = `fleet:cluster:${process.pid}:partition`;
        const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
        // A reaches each master through its own proxy: the cluster announces the real addresses,
        // which A's client maps to the proxies (ioredis natMap).
        proxies = await Promise.all(nodes.map((target) => startTcpProxy({ target })));
        const natMap = Object.fromEntries(
          nodes.map(({ host, port }, i) => [
            `${host}:${port}`,
            { host: proxies[i]!.host, port: proxies[i]!.port },
          ]),
        );
        const base = {
          transport: "pubsub" as const,
          channel: run,
          prefix: run,
          lock: false,
          conditional: true,
        };
        fleet = await startFleet([
          { ...base, name: "a", cluster: proxies.map(({ host, port }) => ({ host, port })), natMap },
          { ...base, name: "b", cluster: nodes },
          { ...base, name: "fresh", cluster: nodes },
        ]);
      });

      afterAll(async () => {
        await Promise.all((fleet ?? []).map((member) => member.stop()));
        await Promise.all((proxies ?? []).map((proxy) => proxy.close()));
      });

      partitionCases(
        () => ({ a: fleet[0]!, others: [fleet[1]!], fresh: fleet[2]!, proxies }),
        "cluster pubsub",
        figures,
        "pubsub",
      );
    });

    describe("pubsub subscriber whose node dies", () => {
      it("moves to another master, reports a possible gap, and hears messages again", async () => {
        const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
        const makeClient = (): Cluster => {
          const client = new Cluster(nodes, { clusterRetryStrategy: () => 100 });
          client.on("error", () => undefined);
          return client;
        };
        const clientA = makeClient();
        const clientB = makeClient();
        const channel = `fleet:cluster:${process.pid}:failover`;
        const a = new RedisBus({
          client: clientA,
          transport: "pubsub",
          channel,
          instanceId: "fa",
          retryQueue: { interval: 50 },
        });
        const b = new RedisBus({ client: clientB, transport: "pubsub", channel, instanceId: "fb" });
        const reconnects: boolean[] = [];
        const messages: CacheBusMessage[] = [];
        b.onReconnect((info) => reconnects.push(info.mayHaveMissedMessages));
        b.subscribe((message) => messages.push(message));
        let killed = -1;
        try {
          await Promise.all([a.ready(), b.ready()]);
          for (let i = 0; i < cluster.nodes.length && killed === -1; i++) {
            const { host, port } = cluster.nodes[i]!;
            const list = await sendCommand(host, port, ["CLIENT", "LIST"]);
            if (typeof list === "string" && list.includes("name=cachet-bus-fb")) killed = i;
          }
          expect(killed).toBeGreaterThanOrEqual(0);
          await cluster.killNode(killed);
          await waitFor(() => reconnects.length > 0, "B's subscriber to move", 15_000);
          expect(reconnects).toEqual([true]);
          await a.publish({ type: "invalidate", cache: "c", keys: ["after-failover"] });
          await waitFor(() => messages.length > 0, "a message after the move", 10_000);
          expect(messages).toEqual([{ type: "invalidate", cache: "c", keys: ["after-failover"] }]);
        } finally {
          await Promise.all([a.close(), b.close()]);
          clientA.disconnect();
          clientB.disconnect();
          if (killed >= 0) await cluster.restartNode(killed);
        }
      });
    });
  },
  true,
);
