// A load in process A racing a write in process B on one Redis (CONSISTENCY.md, "Across
// processes, with conditional writes"): A's loader starts, B inserts or invalidates, A's loader
// returns the older value afterwards. With conditional writes, A's caller gets its value but
// Redis keeps B's state, so after both finished no process, and no fresh process, reads A's
// older value. Without a bus the window is unbounded; with a bus it is the time B's message takes
// to reach A, which this test widens by holding A's bus connection in a proxy.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { describeRedis, startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle, TcpProxy } from "@cachet/test-utils";
import type { FleetMember } from "./fixtures/fleet.js";
import { startFleet } from "./fixtures/fleet.js";
import type { ChildConfig, ChildReport } from "./fixtures/fleet-protocol.js";

jest.setTimeout(60_000);

let runCounter = 0;
const uniqueRun = (what: string): string => `races:${process.pid}:${what}:${++runCounter}`;

describeRedis(
  "a load in one process racing a write in another, on one Redis",
  () => {
    let redis: RedisHandle;
    let busProxy: TcpProxy;
    let noBus: FleetMember[];
    let withBus: FleetMember[];

    beforeAll(async () => {
      redis = await startRedis({ own: true });
      busProxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
      const quiet = uniqueRun("no-bus");
      const loud = uniqueRun("bus");
      const base = { transport: "pubsub" as const, host: redis.host, port: redis.port, lock: false };
      const plain: Omit<ChildConfig, "name"> = {
        ...base,
        channel: quiet,
        prefix: quiet,
        conditional: true,
        noBus: true,
      };
      const bused: Omit<ChildConfig, "name"> = { ...base, channel: loud, prefix: loud, conditional: true };
      // Six processes: A, B and C (fresh to every key it reads) without a bus, and with one, where
      // A's bus connection goes through a proxy that can hold B's messages.
      [noBus, withBus] = await Promise.all([
        startFleet([
          { ...plain, name: "a" },
          { ...plain, name: "b" },
          { ...plain, name: "c" },
        ]),
        startFleet([
          { ...bused, name: "a", busPort: busProxy.port },
          { ...bused, name: "b" },
          { ...bused, name: "c" },
        ]),
      ]);
    });

    afterAll(async () => {
      await Promise.all([...(noBus ?? []), ...(withBus ?? [])].map((member) => member.stop()));
      await busProxy?.close();
      await redis?.stop();
    });

    describe("without a bus", () => {
      it("A's load began before B's insert: A's caller gets its value, but A, B and a fresh process read B's", async () => {
        const [a, b, c] = noBus as [FleetMember, FleetMember, FleetMember];
        await a.call({ op: "loadStart", key: "k1", value: "old (A's load)" });
        await b.call({ op: "insert", key: "k1", value: "new (B)" });
        expect(await a.call({ op: "loadFinish", key: "k1" })).toBe("old (A's load)");
        await a.call({ op: "idle" });
        for (const member of [a, b, c]) expect(await member.get("k1")).toBe("new (B)");
        expect((await a.call<ChildReport>({ op: "report" })).refused).toBe(1);
      });

      it("A's load began before B's invalidate: nobody reads A's value afterwards (tombstone)", async () => {
        const [a, b, c] = noBus as [FleetMember, FleetMember, FleetMember];
        await b.call({ op: "insert", key: "k2", value: "v1" });
        await a.call({ op: "loadStart", key: "k2-miss", value: "old (A's load)" });
        await b.call({ op: "invalidate", key: "k2-miss" });
        expect(await a.call({ op: "loadFinish", key: "k2-miss" })).toBe("old (A's load)");
        await a.call({ op: "idle" });
        for (const member of [a, b, c]) expect(await member.get("k2-miss")).toBeNull();
      });
    });

    describe("with a bus whose message reaches A only after A's write-back", () => {
      it("A's load began before B's insert: after the message, A, B and a fresh process read B's", async () => {
        const [a, b] = withBus as [FleetMember, FleetMember, FleetMember];
        await a.call({ op: "loadStart", key: "k3", value: "old (A's load)" });
        busProxy.pause();
        await b.call({ op: "insert", key: "k3", value: "new (B)" });
        expect(await a.call({ op: "loadFinish", key: "k3" })).toBe("old (A's load)");
        await a.call({ op: "idle" });
        busProxy.resume();
        await a.call({ op: "awaitArrivals", names: ["key:k3"], timeoutMs: 5_000 });
        for (const member of withBus) expect(await member.get("k3")).toBe("new (B)");
        expect((await a.call<ChildReport>({ op: "report" })).refused).toBe(1);
      });

      it("A's load began before B's invalidate: after the message, nobody reads A's value", async () => {
        const [a, b] = withBus as [FleetMember, FleetMember, FleetMember];
        await a.call({ op: "loadStart", key: "k4", value: "old (A's load)" });
        busProxy.pause();
        await b.call({ op: "invalidate", key: "k4" });
        expect(await a.call({ op: "loadFinish", key: "k4" })).toBe("old (A's load)");
        await a.call({ op: "idle" });
        busProxy.resume();
        await a.call({ op: "awaitArrivals", names: ["key:k4"], timeoutMs: 5_000 });
        for (const member of withBus) expect(await member.get("k4")).toBeNull();
      });
    });
  },
  true,
);
