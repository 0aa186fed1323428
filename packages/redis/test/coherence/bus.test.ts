import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, findFreePort, startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle, TcpProxy } from "@cachet/test-utils";
import type { BusReconnectInfo, CacheBusMessage } from "@cachet/tier";
import { isCacheError } from "@cachet/tier";
import { Redis } from "ioredis";
import { decodeBusMessage, encodeBusMessage } from "../../src/bus/bus-codec.js";
import { RedisBus } from "../../src/bus/redis-bus.js";
import { RetryQueue } from "../../src/bus/retry-queue.js";
import { compareStreamIds } from "../../src/bus/stream-transport.js";
import { waitFor } from "./fixtures/wait.js";

let channelCounter = 0;
const uniqueChannel = (): string => `test:bus:${process.pid}:${++channelCounter}`;

describe("bus wire format", () => {
  const messages: CacheBusMessage[] = [
    { type: "set", cache: "users", keys: ["1", "a:b"] },
    { type: "invalidate", cache: "users", keys: ['we"ird\n\u0000'] },
    { type: "clear", cache: "c" },
    { type: "expire-tags", cache: "c", tags: ["t1"], at: 1_700_000_000_000 },
    { type: "invalidate-tags", cache: "c", tags: ["t1", "t2"], at: 1 },
  ];

  it.each(messages)("round-trips a %j message with its origin", (message) => {
    expect(decodeBusMessage(encodeBusMessage("origin-1", message))).toEqual({ origin: "origin-1", message });
  });

  it("is compact and carries keys, not values", () => {
    expect(encodeBusMessage("a1", { type: "invalidate", cache: "users", keys: ["42"] })).toBe(
      '[1,"a1","i","users",["42"]]',
    );
  });

  it("ignores other versions and garbage", () => {
    expect(decodeBusMessage('[2,"a","i","c",["k"]]')).toBeUndefined();
    expect(decodeBusMessage("not json")).toBeUndefined();
    expect(decodeBusMessage('[1,"a","i","c",[1]]')).toBeUndefined();
    expect(decodeBusMessage('[1,"a","t","c",["x"]]')).toBeUndefined();
    expect(decodeBusMessage('[1,"a","?","c"]')).toBeUndefined();
  });

  it("orders stream ids numerically", () => {
    expect(compareStreamIds("10-0", "9-5")).toBe(1);
    expect(compareStreamIds("5-10", "5-9")).toBe(1);
    expect(compareStreamIds("5-1", "5-1")).toBe(0);
    expect(compareStreamIds("0-0", "1-0")).toBe(-1);
  });
});

describe("retry queue", () => {
  it("keeps one item per key, tag and cleared cache, and the latest tag time", () => {
    const queue = new RetryQueue(100);
    queue.add({ type: "set", cache: "c", keys: ["a", "b"] });
    queue.add({ type: "invalidate", cache: "c", keys: ["a"] });
    queue.add({ type: "invalidate-tags", cache: "c", tags: ["t"], at: 5 });
    queue.add({ type: "invalidate-tags", cache: "c", tags: ["t"], at: 3 });
    queue.add({ type: "expire-tags", cache: "c", tags: ["t"], at: 4 });
    expect(queue.size).toBe(4);
    expect(queue.drain()).toEqual([
      { type: "invalidate", cache: "c", keys: ["a", "b"] },
      { type: "invalidate-tags", cache: "c", tags: ["t"], at: 5 },
      { type: "expire-tags", cache: "c", tags: ["t"], at: 4 },
    ]);
    expect(queue.size).toBe(0);
  });

  it("a clear replaces what was queued for that cache and absorbs later keys", () => {
    const queue = new RetryQueue(100);
    queue.add({ type: "set", cache: "c", keys: ["a"] });
    queue.add({ type: "set", cache: "d", keys: ["a"] });
    queue.add({ type: "clear", cache: "c" });
    queue.add({ type: "invalidate", cache: "c", keys: ["b"] });
    expect(queue.size).toBe(2);
    expect(queue.drain()).toEqual([
      { type: "clear", cache: "c" },
      { type: "invalidate", cache: "d", keys: ["a"] },
    ]);
  });

  it("stays bounded by collapsing the largest cache into a clear, never dropping an invalidation", () => {
    const queue = new RetryQueue(10);
    for (let i = 0; i < 8; i++) queue.add({ type: "invalidate", cache: "big", keys: [`k${i}`] });
    queue.add({ type: "invalidate", cache: "small", keys: ["x", "y"] });
    expect(queue.size).toBe(10);
    queue.add({ type: "invalidate", cache: "small", keys: ["z"] });
    expect(queue.size).toBe(4);
    expect(queue.collapsed).toBe(1);
    expect(queue.drain()).toEqual([
      { type: "clear", cache: "big" },
      { type: "invalidate", cache: "small", keys: ["x", "y", "z"] },
    ]);
  });

  it("splits large key sets into messages of at most 500 keys", () => {
    const queue = new RetryQueue(10_000);
    queue.add({ type: "invalidate", cache: "c", keys: Array.from({ length: 1_200 }, (_, i) => `k${i}`) });
    expect(queue.drain().map((m) => (m.type === "invalidate" ? m.keys.length : 0))).toEqual([500, 500, 200]);
  });
});

describe("RedisBus options", () => {
  const client = "redis://127.0.0.1:1";
  it.each([
    [{ client: 42 }, /`client`/],
    [{ client: "http://x" }, /redis:\/\//],
    [{ client, transport: "kafka" }, /`transport`/],
    [{ client, transport: "pubsub", channel: "" }, /`channel`/],
    [{ client, transport: "pubsub", retryQueue: { maxSize: 0 } }, /`retryQueue.maxSize`/],
    [{ client, transport: "stream", stream: { maxLen: 10, maxAge: 1_000 } }, /exclude each other/],
    [{ client, transport: "stream", stream: { blockMs: 0 } }, /`stream.blockMs`/],
  ])("rejects %j", (options, message) => {
    let error: unknown;
    try {
      new RedisBus(options as never);
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect(String(error)).toMatch(message);
  });
});

describe("RedisBus while Redis is unreachable", () => {
  it("resolves publishes at once and keeps the queue bounded by collapsing into a clear", async () => {
    const down = new Redis({ host: "127.0.0.1", port: await findFreePort(), retryStrategy: () => 1_000 });
    down.on("error", () => undefined);
    const bus = new RedisBus({ client: down, transport: "pubsub", retryQueue: { maxSize: 5 } });
    try {
      const started = Date.now();
      for (let i = 0; i < 20; i++) await bus.publish({ type: "invalidate", cache: "c", keys: [`k${i}`] });
      expect(Date.now() - started).toBeLessThan(200);
      expect(bus.pendingMessages).toBe(1); // one `clear` of cache "c" stands for the 20 keys
    } finally {
      await bus.close();
      down.disconnect();
    }
  });
});

describeRedis(
  "RedisBus on a real server",
  () => {
    let redis: RedisHandle;
    const cleanup: (() => Promise<unknown>)[] = [];
    beforeAll(async () => {
      redis = await startRedis({ own: true });
    });
    afterEach(async () => {
      for (const close of cleanup.splice(0).reverse()) await close();
    });
    afterAll(() => redis.stop());

    function client(options: { port?: number; retryMs?: number } = {}): Redis {
      const made = new Redis({
        host: redis.host,
        port: options.port ?? redis.port,
        retryStrategy: () => options.retryMs ?? 50,
        maxRetriesPerRequest: 1,
      });
      made.on("error", () => undefined);
      cleanup.push(async () => made.disconnect());
      return made;
    }

    function bus(options: ConstructorParameters<typeof RedisBus>[0]): RedisBus {
      const made = new RedisBus(options);
      cleanup.push(() => made.close());
      return made;
    }

    function collect(target: RedisBus): { messages: CacheBusMessage[]; reconnects: BusReconnectInfo[] } {
      const messages: CacheBusMessage[] = [];
      const reconnects: BusReconnectInfo[] = [];
      target.subscribe((m) => messages.push(m));
      target.onReconnect((info) => reconnects.push(info));
      return { messages, reconnects };
    }

    for (const transport of ["pubsub", "stream"] as const) {
      describe(transport, () => {
        it("delivers to the others, never to the sender, and never closes the user's client", async () => {
          const channel = uniqueChannel();
          const shared = client();
          const a = bus({ client: shared, transport, channel, instanceId: "a" });
          const b = bus({ client: client(), transport, channel, instanceId: "b" });
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
          expect(shared.status).toBe("ready");
          expect(await shared.ping()).toBe("PONG");
        });

        it("only instances on the same channel hear each other", async () => {
          const channel = uniqueChannel();
          const a = bus({ client: client(), transport, channel });
          const b = bus({ client: client(), transport, channel });
          const other = bus({ client: client(), transport, channel: uniqueChannel() });
          await Promise.all([a.ready(), b.ready(), other.ready()]);
          const seenB = collect(b);
          const seenOther = collect(other);
          await a.publish({ type: "invalidate", cache: "c", keys: ["x"] });
          await waitFor(() => seenB.messages.length === 1, "the message at B");
          await other.publish({ type: "clear", cache: "probe" });
          await waitFor(() => seenB.messages.length === 2, "the probe at B? (it must not arrive)", 200).catch(
            () => undefined,
          );
          expect(seenB.messages).toEqual([{ type: "invalidate", cache: "c", keys: ["x"] }]);
          expect(seenOther.messages).toEqual([]);
        });

        it("queues what it cannot send while Redis is down, de-duplicated, and flushes it when Redis is back", async () => {
          const channel = uniqueChannel();
          const proxy: TcpProxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
          cleanup.push(() => proxy.close());
          const errors: unknown[] = [];
          const publisherClient = client({ port: proxy.port, retryMs: 100 });
          const a = bus({
            client: publisherClient,
            transport,
            channel,
            retryQueue: { interval: 50 },
            onError: (e) => errors.push(e),
          });
          const b = bus({ client: client(), transport, channel });
          await Promise.all([a.ready(), b.ready()]);
          const seenB = collect(b);
          await proxy.close(); // the publisher's Redis is unreachable (connection refused)
          await waitFor(() => publisherClient.status !== "ready", "the publisher to notice");
          const started = Date.now();
          for (let i = 0; i < 3; i++) await a.publish({ type: "invalidate", cache: "c", keys: ["k1", "k2"] });
          expect(Date.now() - started).toBeLessThan(500);
          expect(a.pendingMessages).toBe(2);
          const reopened = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
          cleanup.push(() => reopened.close());
          // ioredis reconnects to the same port; the new proxy listens on another one, so point it there.
          (publisherClient.options as { port: number }).port = reopened.port;
          await waitFor(() => seenB.messages.length >= 1, "the queued message at B");
          expect(seenB.messages).toEqual([{ type: "invalidate", cache: "c", keys: ["k1", "k2"] }]);
          expect(a.pendingMessages).toBe(0);
        });

        it("publish never rejects, even when closed", async () => {
          const a = bus({ client: client(), transport, channel: uniqueChannel() });
          await a.close();
          await expect(a.publish({ type: "clear", cache: "c" })).resolves.toBeUndefined();
        });
      });
    }

    it("pubsub: a cut subscriber reports a possible gap once it is subscribed again, then hears new messages", async () => {
      const channel = uniqueChannel();
      const proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
      cleanup.push(() => proxy.close());
      const a = bus({ client: client(), transport: "pubsub", channel });
      const b = bus({ client: client({ port: proxy.port, retryMs: 100 }), transport: "pubsub", channel });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      proxy.cutAll();
      await a.publish({ type: "invalidate", cache: "c", keys: ["lost"] });
      await waitFor(() => seenB.reconnects.length === 1, "B's reconnect");
      expect(seenB.reconnects).toEqual([{ mayHaveMissedMessages: true }]);
      await a.publish({ type: "invalidate", cache: "c", keys: ["after"] });
      await waitFor(
        () => seenB.messages.some((m) => m.type === "invalidate" && m.keys[0] === "after"),
        "the next message",
      );
    });

    it("stream: a cut reader replays everything published meanwhile and reports no gap", async () => {
      const channel = uniqueChannel();
      const proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
      cleanup.push(() => proxy.close());
      const a = bus({ client: client(), transport: "stream", channel });
      const b = bus({
        client: client({ port: proxy.port, retryMs: 300 }),
        transport: "stream",
        channel,
        stream: { blockMs: 200 },
      });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      proxy.cutAll();
      for (let i = 0; i < 50; i++) await a.publish({ type: "invalidate", cache: "c", keys: [`k${i}`] });
      await waitFor(() => seenB.messages.length === 50, "50 replayed messages");
      await waitFor(() => seenB.reconnects.length >= 1, "B's reconnect");
      expect(seenB.reconnects.every((r) => !r.mayHaveMissedMessages)).toBe(true);
      expect(seenB.messages.map((m) => (m.type === "invalidate" ? m.keys[0] : ""))).toEqual(
        Array.from({ length: 50 }, (_, i) => `k${i}`),
      );
    });

    it("stream: a reader whose position was trimmed away reports a possible gap", async () => {
      const channel = uniqueChannel();
      const admin = client();
      const proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
      cleanup.push(() => proxy.close());
      const a = bus({ client: client(), transport: "stream", channel });
      const b = bus({
        client: client({ port: proxy.port, retryMs: 300 }),
        transport: "stream",
        channel,
        stream: { blockMs: 200 },
      });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      await a.publish({ type: "invalidate", cache: "c", keys: ["seen"] });
      await waitFor(() => seenB.messages.length === 1, "the first message");
      proxy.cutAll();
      await a.publish({ type: "invalidate", cache: "c", keys: ["trimmed"] });
      await admin.call("XTRIM", b.channel, "MAXLEN", "0");
      await waitFor(() => seenB.reconnects.length >= 1, "B's reconnect");
      expect(seenB.reconnects[0]).toEqual({ mayHaveMissedMessages: true });
    });

    it("stream: losing the stream itself (Redis restarted without persistence) reports a possible gap", async () => {
      const own = await startRedis({ own: true });
      cleanup.push(() => own.stop());
      const make = () => {
        const made = new Redis({
          host: own.host,
          port: own.port,
          retryStrategy: () => 100,
          maxRetriesPerRequest: 1,
        });
        made.on("error", () => undefined);
        cleanup.push(async () => made.disconnect());
        return made;
      };
      const channel = uniqueChannel();
      const a = bus({ client: make(), transport: "stream", channel, retryQueue: { interval: 50 } });
      const b = bus({ client: make(), transport: "stream", channel, stream: { blockMs: 200 } });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      await own.kill();
      await a.publish({ type: "invalidate", cache: "c", keys: ["while-down"] });
      expect(a.pendingMessages).toBe(1);
      await own.restart();
      await waitFor(() => seenB.reconnects.length >= 1, "B's reconnect", 10_000);
      expect(seenB.reconnects[0]).toEqual({ mayHaveMissedMessages: true });
      await waitFor(() => seenB.messages.length === 1, "the queued message", 10_000);
      expect(seenB.messages).toEqual([{ type: "invalidate", cache: "c", keys: ["while-down"] }]);
    });

    it("stream: trims the stream to about maxLen", async () => {
      const admin = client();
      const a = bus({
        client: client(),
        transport: "stream",
        channel: uniqueChannel(),
        stream: { maxLen: 100 },
      });
      await a.ready();
      for (let i = 0; i < 1_000; i++) await a.publish({ type: "invalidate", cache: "c", keys: [`k${i}`] });
      const length = (await admin.call("XLEN", a.channel)) as number;
      expect(length).toBeGreaterThanOrEqual(100);
      expect(length).toBeLessThan(400);
    });

    it("stream: trims by age with maxAge (MINID ~)", async () => {
      const admin = client();
      const a = bus({
        client: client(),
        transport: "stream",
        channel: uniqueChannel(),
        stream: { maxAge: 1 },
      });
      await a.ready();
      for (let i = 0; i < 1_000; i++) await a.publish({ type: "invalidate", cache: "c", keys: [`k${i}`] });
      expect(await admin.xlen(a.channel)).toBeLessThan(1_000);
    });

    it("a URL client is created and closed by the bus", async () => {
      const channel = uniqueChannel();
      const a = bus({ client: redis.url, transport: "pubsub", channel });
      const b = bus({ client: client(), transport: "pubsub", channel });
      await Promise.all([a.ready(), b.ready()]);
      const seenB = collect(b);
      await a.publish({ type: "clear", cache: "c" });
      await waitFor(() => seenB.messages.length === 1, "the message");
      const admin = client();
      const before = String(await admin.call("CLIENT", "LIST"))
        .split("\n")
        .filter(Boolean).length;
      await a.close();
      await waitFor(
        async () =>
          String(await admin.call("CLIENT", "LIST"))
            .split("\n")
            .filter(Boolean).length ===
          before - 2,
        "the bus's two connections to close",
      );
    });
  },
  true,
);
