// Faults on a fleet of cache processes sharing one Redis (CONSISTENCY.md, "After a partition or a
// shared-tier outage"), with conditional writes on:
// - one instance partitioned (every connection of it cut, through a proxy) while it invalidates,
//   inserts, invalidates a tag and clears, for both bus transports: after the heal, every
//   instance and a fresh one converge within the documented bound;
// - redis-server killed and restarted with and without `--appendonly yes`: what a load that
//   spans the restart may write back;
// - without a bus, a load in process A racing an insert or invalidate in process B.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { describeRedis, startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle, TcpProxy } from "@cachet/test-utils";
import type { FleetMember } from "./fixtures/fleet.js";
import { startFleet } from "./fixtures/fleet.js";
import type { ChildConfig, ChildReport } from "./fixtures/fleet-protocol.js";
import { partitionCases } from "./fixtures/partition-cases.js";
import { waitFor } from "./fixtures/wait.js";

jest.setTimeout(60_000);

const figures: string[] = [];
let runCounter = 0;
const uniqueRun = (what: string): string => `faults:${process.pid}:${what}:${++runCounter}`;

describeRedis(
  "faults on a fleet sharing one Redis, with conditional writes",
  () => {
    afterAll(() => {
      if (figures.length > 0) console.log(`fault figures (standalone):\n  ${figures.join("\n  ")}`);
    });

    describe.each(["pubsub", "stream"] as const)("%s: one instance partitioned", (transport) => {
      let redis: RedisHandle;
      let proxy: TcpProxy;
      let fleet: FleetMember[];

      beforeAll(async () => {
        redis = await startRedis({ own: true });
        proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
        const run = uniqueRun(transport);
        const base = {
          transport,
          channel: run,
          prefix: run,
          host: redis.host,
          lock: false,
          conditional: true,
        };
        fleet = await startFleet([
          { ...base, name: "a", port: proxy.port },
          { ...base, name: "b", port: redis.port },
          { ...base, name: "fresh", port: redis.port },
        ]);
      });

      afterAll(async () => {
        await Promise.all((fleet ?? []).map((member) => member.stop()));
        await proxy?.close();
        await redis?.stop();
      });

      partitionCases(
        () => ({ a: fleet[0]!, others: [fleet[1]!], fresh: fleet[2]!, proxies: [proxy] }),
        transport,
        figures,
        transport,
      );
    });

    describe.each([
      ["with `--appendonly yes` (appendfsync always)", true],
      ["without persistence", false],
    ] as const)("redis-server killed and restarted %s", (_label, persistent) => {
      let redis: RedisHandle;
      let fleet: FleetMember[];

      beforeAll(async () => {
        redis = await startRedis({
          own: true,
          args: persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : [],
        });
        const run = uniqueRun(persistent ? "aof" : "volatile");
        const base: Omit<ChildConfig, "name"> = {
          transport: "pubsub",
          channel: run,
          prefix: run,
          host: redis.host,
          port: redis.port,
          lock: false,
          conditional: true,
          // No bus: B's message would supersede A's load, and A would write nothing anyway.
          noBus: true,
        };
        fleet = await startFleet([
          { ...base, name: "a" },
          { ...base, name: "b" },
          { ...base, name: "fresh" },
        ]);
      });

      afterAll(async () => {
        await Promise.all((fleet ?? []).map((member) => member.stop()));
        await redis?.stop();
      });

      async function restart(): Promise<void> {
        await redis.kill();
        await redis.restart();
        for (const member of fleet) {
          await waitFor(
            async () => (await member.state()).clientStatus === "ready",
            `${member.name} to reconnect`,
            15_000,
          );
        }
      }

      // A load in A racing a write in B, no bus, no fault (the same race with a bus is in
      // fleet-races.test.ts): registered once, on the server without persistence.
      if (!persistent) {
        it("A's load began before B's insert: A's caller gets its value, but A, B and a fresh process read B's", async () => {
          const [a, b, c] = fleet as [FleetMember, FleetMember, FleetMember];
          await a.call({ op: "loadStart", key: "k1", value: "old (A's load)" });
          await b.call({ op: "insert", key: "k1", value: "new (B)" });
          expect(await a.call({ op: "loadFinish", key: "k1" })).toBe("old (A's load)");
          await a.call({ op: "idle" });
          for (const member of [a, b, c]) expect(await member.get("k1")).toBe("new (B)");
          expect((await a.call<ChildReport>({ op: "report" })).refused).toBe(1);
        });

        it("A's load began before B's invalidate: nobody reads A's value afterwards (tombstone)", async () => {
          const [a, b, c] = fleet as [FleetMember, FleetMember, FleetMember];
          await a.call({ op: "loadStart", key: "k2-miss", value: "old (A's load)" });
          await b.call({ op: "invalidate", key: "k2-miss" });
          expect(await a.call({ op: "loadFinish", key: "k2-miss" })).toBe("old (A's load)");
          await a.call({ op: "idle" });
          for (const member of [a, b, c]) expect(await member.get("k2-miss")).toBeNull();
        });
      }

      // A's load reads the key absent (its token carries Redis's time of the read), B writes or
      // invalidates, Redis crashes and comes back, then A's loader returns the older value.
      it.each([
        ["invalidate", null],
        ["insert", "new (B)"],
      ] as const)(
        persistent
          ? "a load that began before B's %s, made before the crash, is still refused after the restart (versions and tombstones were persisted)"
          : "a load that began before B's %s, made before the crash, writes its older value back after the restart (versions and tombstones were lost: the documented limit)",
        async (write, bValue) => {
          const [a, b, fresh] = fleet as [FleetMember, FleetMember, FleetMember];
          const key = `restart:${write}`;
          const before = (await a.call<ChildReport>({ op: "report" })).refused;
          await a.call({ op: "loadStart", key, value: "old (A's load)" });
          if (write === "insert") await b.call({ op: "insert", key, value: "new (B)" });
          else await b.call({ op: "invalidate", key });
          await restart();
          expect(await a.call({ op: "loadFinish", key })).toBe("old (A's load)");
          await a.call({ op: "idle" });
          const refused = (await a.call<ChildReport>({ op: "report" })).refused - before;
          expect(refused).toBe(persistent ? 1 : 0);
          expect(await fresh.get(key)).toBe(persistent ? bValue : "old (A's load)");
        },
      );
    });
  },
  true,
);
