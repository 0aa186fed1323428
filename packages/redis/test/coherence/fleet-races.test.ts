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
    let withBus: FleetMember[];

    beforeAll(async () => {
      redis = await startRedis({ own: true });
      busProxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
      const run = uniqueRun("bus");
      const base: Omit<ChildConfig, "name"> = {
        transport: "pubsub",
        host: redis.host,
        port: redis.port,
        lock: false,
        channel: run,
        prefix: run,
        conditional: true,
      };
      // A's bus connection goes through a proxy that can hold B's messages; C is fresh to every
      // key it reads. (The same race without a bus is in fleet-faults.test.ts.)
      withBus = await startFleet([
        { ...base, name: "a", busPort: busProxy.port },
        { ...base, name: "b" },
        { ...base, name: "c" },
      ]);
    });

    afterAll(async () => {
      await Promise.all((withBus ?? []).map((member) => member.stop()));
      await busProxy?.close();
      await redis?.stop();
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
