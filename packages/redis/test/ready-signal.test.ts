import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { CacheEntry, CircuitBreaker, ManualClock } from "@cachet/tier";
import { describeRedis, startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle, TcpProxy } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { RedisTier } from "../src/index.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";
import { waitFor } from "./coherence/fixtures/wait.js";

describeRedis("RedisTier.onReady: the client's ready signal, for prompt recovery", () => {
  let redis: RedisHandle;
  let proxy: TcpProxy;
  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
  });
  afterAll(async () => {
    await proxy.close();
    await redis.stop();
  });

  it("ioredis: after the connection is cut and comes back, onReady fires and the breaker probes at once", async () => {
    const client = new Redis({
      host: proxy.host,
      port: proxy.port,
      retryStrategy: () => 20,
      maxRetriesPerRequest: 0,
    });
    client.on("error", () => undefined);
    const tier = new RedisTier<string, string>({ client, prefix: uniquePrefix() });
    await tier.ping();
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock }); // default cool-down: 1 s on this clock
    let readies = 0;
    const off = tier.onReady(() => {
      readies++;
      breaker.recovered();
    });
    proxy.cutAll();
    await expect(breaker.execute(() => tier.insert("k", new CacheEntry("v")))).rejects.toMatchObject({
      code: "TIER_FAILURE",
    });
    expect(breaker.state).toBe("open");
    await waitFor(() => readies > 0, "ioredis to reconnect", 5_000);
    // The manual clock has not moved: only the ready signal made the circuit half-open.
    expect(breaker.state).toBe("half-open");
    await breaker.execute(() => tier.insert("k", new CacheEntry("v")));
    expect(breaker.state).toBe("closed");
    off();
    const before = readies;
    proxy.cutAll();
    await waitFor(() => client.status === "ready" && client, "ioredis to reconnect again", 5_000);
    expect(readies).toBe(before);
    client.disconnect();
  });

  it("node-redis: onReady fires on reconnect; a throwing listener is ignored", async () => {
    const client = createClient({
      socket: { host: proxy.host, port: proxy.port, reconnectStrategy: () => 20 },
    });
    client.on("error", () => undefined);
    await client.connect();
    try {
      const tier = new RedisTier<string, string>({ client, prefix: uniquePrefix() });
      let readies = 0;
      tier.onReady(() => {
        readies++;
        throw new Error("a listener's bug");
      });
      proxy.cutAll();
      // Commands make node-redis notice the cut at once; they fail fast while it reconnects.
      await waitFor(
        async () => {
          await tier.ping().catch(() => undefined);
          return readies > 0;
        },
        "node-redis to reconnect",
        5_000,
      );
      await tier.ping();
    } finally {
      client.destroy();
    }
  });

  it("a tier from a URL subscribes once its client exists", async () => {
    const tier = new RedisTier<string, string>({ client: proxy.url, prefix: uniquePrefix() });
    let readies = 0;
    tier.onReady(() => readies++);
    await tier.ping();
    await waitFor(() => readies > 0, "the first ready", 5_000);
    await tier.close();
  });
});
