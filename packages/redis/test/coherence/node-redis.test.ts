import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { describeRedis, startRedis, startRedisCluster } from "@cachet/test-utils";
import type { RedisClusterHandle, RedisHandle } from "@cachet/test-utils";
import type { BusReconnectInfo, CacheBusMessage } from "@cachet/tier";
import { isCacheError } from "@cachet/tier";
import { Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { RedisBus } from "../../src/bus/redis-bus.js";
import { RedisLock } from "../../src/lock/redis-lock.js";
import { RedisStreams } from "../../src/streams/redis-streams.js";
import { waitFor } from "./fixtures/wait.js";

// The bus, the lock and the Streams helpers over node-redis clients (the `redis` package), the
// same behaviour the ioredis suites check. The jest projects run this file against `redis` 5
// (RESP2 by default) and 6 (RESP3 by default).

let counter = 0;
const unique = (what: string): string => `test:node-redis:${what}:${process.pid}:${++counter}`;

function collect(target: RedisBus): { messages: CacheBusMessage[]; reconnects: BusReconnectInfo[] } {
  const messages: CacheBusMessage[] = [];
  const reconnects: BusReconnectInfo[] = [];
  target.subscribe((m) => messages.push(m));
  target.onReconnect((info) => reconnects.push(info));
  return { messages, reconnects };
}

describeRedis(
  "bus, lock and streams over a node-redis client",
  () => {
    let redis: RedisHandle;
    let admin: Redis;
    const cleanup: (() => Promise<unknown>)[] = [];
    beforeAll(async () => {
      redis = await startRedis({ own: true });
      admin = new Redis(redis.clientOptions);
    });
    afterEach(async () => {
      for (const close of cleanup.splice(0).reverse()) await close();
    });
    afterAll(async () => {
      await admin.quit();
      await redis.stop();
    });

    async function client() {
      const made = createClient({
        socket: { host: redis.host, port: redis.port, reconnectStrategy: () => 50 },
      });
      made.on("error", () => undefined);
      await made.connect();
      cleanup.push(async () => {
        if (made.isOpen) made.destroy();
      });
      return made;
    }

    function bus(options: ConstructorParameters<typeof RedisBus>[0]): RedisBus {
      const made = new RedisBus(options);
      cleanup.push(() => made.close());
      return made;
    }

    for (const transport of ["pubsub", "stream"] as const) {
      it(`${transport}: delivers to the others, never to the sender, and leaves the user's client open`, async () => {
        const channel = unique("bus");
        const shared = await client();
        const a = bus({ client: shared, transport, channel, instanceId: "a" });
        const b = bus({ client: await client(), transport, channel, instanceId: "b" });
        await Promise.all([a.ready(), b.ready()]);
        const seenA = collect(a);
        const seenB = collect(b);
        await a.publish({ type: "invalidate", cache: "c", keys: ["k1"] });
        await a.publish({ type: "invalidate-tags", cache: "c", tags: ["t"], at: 7 });
        await waitFor(() => seenB.messages.length === 2, "two messages at B");
        expect(seenB.messages).toEqual([
          { type: "invalidate", cache: "c", keys: ["k1"] },
          { type: "invalidate-tags", cache: "c", tags: ["t"], at: 7 },
        ]);
        await b.publish({ type: "clear", cache: "c" });
        await waitFor(() => seenA.messages.length === 1, "the clear at A");
        expect(seenA.messages).toEqual([{ type: "clear", cache: "c" }]);
        expect(seenB.messages).toHaveLength(2);
        await a.close();
        expect(shared.isReady).toBe(true);
        expect(await shared.sendCommand(["PING"])).toBe("PONG");
      });
    }

    it("pubsub: a killed subscriber connection comes back and reports that messages may be lost", async () => {
      const channel = unique("bus");
      const a = bus({ client: await client(), transport: "pubsub", channel, instanceId: "a" });
      const b = bus({ client: await client(), transport: "pubsub", channel, instanceId: "b" });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      await waitFor(() => seenB.reconnects.length > 0, "B's reconnect report");
      expect(seenB.reconnects[0]).toEqual({ mayHaveMissedMessages: true });
      // Subscribed again: what A publishes from now on arrives.
      await a.publish({ type: "invalidate", cache: "c", keys: ["after"] });
      await waitFor(() => seenB.messages.length === 1, "the message after the reconnect");
      expect(seenB.messages).toEqual([{ type: "invalidate", cache: "c", keys: ["after"] }]);
    });

    it("stream: a killed reader replays what was published meanwhile and reports no gap", async () => {
      const channel = unique("bus");
      const a = bus({ client: await client(), transport: "stream", channel, instanceId: "a" });
      const b = bus({
        client: await client(),
        transport: "stream",
        channel,
        instanceId: "b",
        stream: { blockMs: 200 },
      });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      for (let i = 0; i < 5; i++) await a.publish({ type: "invalidate", cache: "c", keys: [`k${i}`] });
      // A's own connection was cut too: what it could not send went through its retry queue,
      // which merges keys of one cache into one message. Every key must arrive.
      const keys = (): string[] =>
        seenB.messages.flatMap((m) => (m.type === "invalidate" ? m.keys : [])).sort();
      await waitFor(() => keys().length >= 5, "all five keys at B", 10_000);
      expect(keys()).toEqual(["k0", "k1", "k2", "k3", "k4"]);
      expect(seenB.reconnects.every((info) => !info.mayHaveMissedMessages)).toBe(true);
    });

    it("lock: one holder at a time, a Redis-side expiry, and release only by the holder", async () => {
      const lock = new RedisLock({ client: await client(), prefix: `${unique("lock")}:` });
      const first = await lock.tryAcquire("users:42", 5_000);
      expect(first?.key).toBe("users:42");
      expect(await lock.tryAcquire("users:42", 5_000)).toBeUndefined();
      const ttl = await admin.pttl(lock.keyOf("users:42"));
      expect(ttl).toBeGreaterThan(4_000);
      await lock.release({ key: "users:42", token: "not-the-holder" });
      expect(await lock.tryAcquire("users:42", 5_000)).toBeUndefined();
      await lock.release(first!);
      expect(await admin.get(lock.keyOf("users:42"))).toBe(`released:${first!.token}`);
      // The first attempt after a release meets the "just released" marker; the next one takes it.
      expect(await lock.tryAcquire("users:42", 5_000)).toBeUndefined();
      expect(await lock.tryAcquire("users:42", 5_000)).toMatchObject({ key: "users:42" });
      await lock.close();
    });

    it("lock: rejects at once on a client its owner never connected", async () => {
      const unopened = createClient({ socket: { host: redis.host, port: redis.port } });
      const lock = new RedisLock({ client: unopened });
      const started = Date.now();
      let error: unknown;
      try {
        await lock.tryAcquire("k", 1_000);
      } catch (e) {
        error = e;
      }
      expect(Date.now() - started).toBeLessThan(100);
      expect(isCacheError(error) && error.code).toBe("TIER_FAILURE");
      expect(String(error)).toMatch(/closed \(node-redis\)/);
    });

    it("streams: append, latest, reads after an id, a blocking read, and consumer groups", async () => {
      const events = new RedisStreams<{ n: number }>({ client: await client(), maxLen: 1_000 });
      cleanup.push(() => events.close());
      const stream = unique("events");
      const first = await events.append(stream, { n: 1 });
      await events.append(stream, { n: 2 });
      expect((await events.latest(stream, 1)).map((e) => e.data)).toEqual([{ n: 2 }]);
      expect((await events.read(stream, first)).map((e) => e.data)).toEqual([{ n: 2 }]);

      const waiting = events.read(stream, "$", { block: 5_000 });
      await waitFor(
        async () =>
          String(await admin.call("CLIENT", "LIST", "TYPE", "normal"))
            .split("\n")
            .some((line) => line.includes("name=cachet-streams") && line.includes("cmd=xread")),
        "the helpers' blocking read to be issued",
      );
      await events.append(stream, { n: 3 });
      expect((await waiting).map((e) => e.data)).toEqual([{ n: 3 }]);

      expect(await events.createGroup(stream, "g", "0")).toBe(true);
      expect(await events.createGroup(stream, "g", "0")).toBe(false);
      const got = await events.readGroup(stream, "g", "w1", { count: 10 });
      expect(got.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(await events.ack(stream, "g", got[0]!.id)).toBe(1);
      const claimed = await events.claimStale(stream, "g", "w2", { minIdle: 0 });
      expect(claimed.entries.map((e) => e.data)).toEqual([{ n: 2 }, { n: 3 }]);
    });
  },
  true,
);

describeRedis(
  "bus and lock over a node-redis Cluster",
  () => {
    let cluster: RedisClusterHandle;
    const clients: { destroy(): void }[] = [];
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
    });
    afterAll(async () => {
      for (const made of clients) made.destroy();
      await cluster.stop();
    });

    async function clusterClient() {
      const made = createCluster({
        rootNodes: cluster.nodes.map(({ host, port }) => ({ socket: { host, port } })),
      });
      made.on("error", () => undefined);
      await made.connect();
      clients.push(made);
      return made;
    }

    for (const transport of ["pubsub", "stream"] as const) {
      it(`${transport}: delivers between instances on different cluster clients`, async () => {
        const channel = unique("cluster-bus");
        const a = new RedisBus({ client: await clusterClient(), transport, channel, instanceId: "a" });
        const b = new RedisBus({ client: await clusterClient(), transport, channel, instanceId: "b" });
        try {
          await Promise.all([a.ready(), b.ready()]);
          const seenB = collect(b);
          await a.publish({ type: "invalidate", cache: "c", keys: ["k"] });
          await waitFor(() => seenB.messages.length === 1, "the message at B");
          expect(seenB.messages).toEqual([{ type: "invalidate", cache: "c", keys: ["k"] }]);
        } finally {
          await a.close();
          await b.close();
        }
      });
    }

    it("lock: keys in different slots, one holder each", async () => {
      const lock = new RedisLock({ client: await clusterClient(), prefix: `${unique("cluster-lock")}:` });
      const leases = await Promise.all(["a", "b", "c", "d"].map((key) => lock.tryAcquire(key, 5_000)));
      expect(leases.every((lease) => lease !== undefined)).toBe(true);
      expect(await lock.tryAcquire("a", 5_000)).toBeUndefined();
      await Promise.all(leases.map((lease) => lock.release(lease!)));
      // The first attempt after a release meets the "just released" marker; the next one takes it.
      expect(await lock.tryAcquire("a", 5_000)).toBeUndefined();
      expect(await lock.tryAcquire("a", 5_000)).toMatchObject({ key: "a" });
    });
  },
  true,
);
