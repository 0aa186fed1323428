// Issue 19's first scenario on real Redis: instance A's connection is cut while it invalidates (or
// inserts); after the heal, A replays the write and only then announces it on the bus, so B, and
// a fresh instance, read the new state. Cache time is a ManualClock; Redis and sockets are real.
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { Cache, ManualClock } from "@cachet/core";
import type { CacheEvent } from "@cachet/core";
import { describeRedis, startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { RedisBus, RedisTier } from "../src/index.js";
import { waitFor } from "./coherence/fixtures/wait.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";

describeRedis("write recovery over a real Redis, one instance partitioned", () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  async function fleet() {
    const clock = new ManualClock(Date.now());
    const prefix = uniquePrefix();
    const channel = `${prefix}:bus`;
    const proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
    const clients: Redis[] = [];
    const client = (port = redis.port) => {
      const c = new Redis({
        ...redis.clientOptions,
        port,
        retryStrategy: () => 50,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      });
      c.on("error", () => undefined);
      clients.push(c);
      return c;
    };
    const buses: RedisBus[] = [];
    const make = (name: string, tierClient: Redis) => {
      const bus = new RedisBus({ client: client(), transport: "pubsub", channel, instanceId: name });
      buses.push(bus);
      const events: CacheEvent[] = [];
      const cache = Cache.builder<string, string>({ clock })
        .name("users")
        .memory({ maxEntries: 1_000 })
        .ttl(600_000)
        .fallback(
          Cache.builder<string, string>()
            .storage(
              new RedisTier<string, string>({ client: tierClient, prefix, clock, commandTimeout: 300 }),
            )
            .circuitBreaker(false),
        )
        .bus(bus)
        .onEvent((e) => events.push(e))
        .build();
      return { cache, events };
    };
    // Only A's data connection goes through the proxy: cutting it partitions A from the tier
    // while A's bus still works, so an unheld bus message would reach B before Redis changed.
    const aClient = client(proxy.port);
    const a = make("a", aClient);
    const b = make("b", client());
    await Promise.all(buses.map((bus) => bus.ready()));
    const state = { proxy };
    return {
      clock,
      a,
      b,
      fresh: () => make("fresh", client()),
      async cut() {
        await state.proxy.close();
        await waitFor(() => aClient.status !== "ready", "A to notice the cut");
      },
      async heal() {
        state.proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
        // ioredis reconnects to the port it knows; the new proxy listens on another one.
        (aClient.options as { port: number }).port = state.proxy.port;
        await waitFor(() => aClient.status === "ready", "A to reconnect");
      },
      async close(caches: Cache<string, string>[]) {
        for (const cache of caches) await cache.close();
        for (const bus of buses) await bus.close();
        await state.proxy.close();
        for (const c of clients) c.disconnect();
      },
    };
  }

  it("A invalidates while cut off: the call resolves, A never serves v1, and after the heal B and a fresh instance read the removal", async () => {
    const f = await fleet();
    const { a, b, clock } = f;
    const fresh = f.fresh();
    try {
      await a.cache.insert("k", "v1");
      expect((await b.cache.get("k"))?.value).toBe("v1");
      await f.cut();
      const started = Date.now();
      await expect(a.cache.invalidate("k")).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(a.cache.stats().pendingWrites.pending).toBe(1);
      expect(a.events.some((e) => e.type === "write_pending")).toBe(true);
      expect(await a.cache.get("k")).toBeUndefined();

      await f.heal();
      // A's read of another key reaches Redis again, which starts the replay at once.
      await a.cache.get("unrelated");
      await waitFor(async () => (await b.cache.get("k")) === undefined, "B to read the removal");
      expect(await fresh.cache.get("k")).toBeUndefined();
      expect(await a.cache.get("k")).toBeUndefined();
      // The replay's bookkeeping settles after its DEL and bus message are on the wire (sockets).
      await waitFor(() => a.cache.stats().pendingWrites.replayed === 1, "A's replay to be counted");
      expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 0, replayed: 1 });
      // Much later, still gone everywhere (the old bug: v1 until its ttl).
      clock.advance(35_000);
      expect(await b.cache.get("k")).toBeUndefined();
    } finally {
      await f.close([a.cache, b.cache, fresh.cache]);
    }
  });

  it("A inserts v2 while cut off: A serves v2 at once, and after the heal (by the retry timer) B reads v2", async () => {
    const f = await fleet();
    const { a, b, clock } = f;
    try {
      await a.cache.insert("k", "v1");
      expect((await b.cache.get("k"))?.value).toBe("v1");
      await f.cut();
      await a.cache.insert("k", "v2");
      expect((await a.cache.get("k"))?.value).toBe("v2");
      await f.heal();
      // No traffic from A: the retry timer (500 ms of cache time) replays the write.
      clock.advance(500);
      await waitFor(async () => (await b.cache.get("k"))?.value === "v2", "B to read v2");
      await waitFor(() => a.events.some((e) => e.type === "write_replayed"), "A's replay to be reported");
      expect(a.events.some((e) => e.type === "write_replayed")).toBe(true);
    } finally {
      await f.close([a.cache, b.cache]);
    }
  });
});
