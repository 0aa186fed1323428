import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { Cache } from "@cachet/core";
import { RedisBus, RedisTier } from "@cachet/redis";
import { describeRedis, startRedis, type RedisHandle } from "@cachet/test-utils";

// Builds, uses and closes 1,000 caches, each with a RedisTier and a RedisBus over one shared
// ioredis client (the usual shape: one client per process). Afterwards nothing may be left: no
// active handles or timers (`process.getActiveResourcesInfo()`), no listeners added to the shared
// client, no extra connections on the server (each bus opens its own subscriber/reader).
// jest runs this package with --detectOpenHandles as well.

const CACHES = 1_000;
const BATCH = 25;

function countBy(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[item] = (out[item] ?? 0) + 1;
  return out;
}

function listenerCounts(emitter: Redis): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of emitter.eventNames()) out[String(name)] = emitter.listenerCount(name);
  return out;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describeRedis("closing caches with a RedisTier and a RedisBus", () => {
  let redis: RedisHandle;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.clientOptions);
    // Each RedisBus adds a "ready" listener to the client it is given (removed by close()); 25
    // buses at once on one client would otherwise print MaxListenersExceededWarning.
    client.setMaxListeners(100);
    await client.ping();
  });

  afterAll(async () => {
    await client.quit();
    await redis.stop();
  });

  it(`${CACHES} caches built, used and closed leave no handles, timers, listeners or connections`, async () => {
    await settle();
    const resourcesBefore = countBy(process.getActiveResourcesInfo());
    const listenersBefore = listenerCounts(client);
    const connectionsBefore = String(await client.client("LIST"))
      .trim()
      .split("\n").length;
    const processListenersBefore = process
      .eventNames()
      .map((e) => `${String(e)}:${process.listenerCount(e)}`);

    let served = 0;
    for (let start = 0; start < CACHES; start += BATCH) {
      await Promise.all(
        Array.from({ length: BATCH }, async (_, j) => {
          const i = start + j;
          const bus = new RedisBus({
            client,
            transport: i % 2 === 0 ? "pubsub" : "stream",
            channel: `leak${i % 4}`,
          });
          const cache = Cache.builder<string, number>()
            .name(`leak${i % 4}`)
            .memory({ maxEntries: 10 })
            .ttl(60_000)
            .fallback(
              Cache.builder<string, number>()
                .storage(new RedisTier<string, number>({ client, prefix: `leak${i}` }))
                .tierTimeout(1_000),
            )
            .bus(bus)
            .staleWhileRevalidate(1_000)
            .failSafe({ maxStaleAge: 10_000 })
            .timeouts({ soft: 100, hard: 1_000 })
            .build();
          await bus.ready();
          await cache.insert("a", i, { tags: ["t"] });
          const value = await cache.getOrInsert("b", () => i);
          served += value;
          await cache.invalidateTags(["t"]);
          await cache.close();
          await bus.close();
        }),
      );
    }
    expect(served).toBe((CACHES * (CACHES - 1)) / 2);

    // Nothing created by the caches may remain: every kind of resource is back to (at most) its
    // count before. A closed connection's socket is released a few ticks after `close()`
    // resolves, so this polls for up to 3 s (real time: sockets are real).
    const leftovers = (): Record<string, number> => {
      const now = countBy(process.getActiveResourcesInfo());
      const extra: Record<string, number> = {};
      for (const [type, n] of Object.entries(now))
        if (n > (resourcesBefore[type] ?? 0)) extra[type] = n - (resourcesBefore[type] ?? 0);
      return extra;
    };
    await settle();
    for (let i = 0; i < 150 && Object.keys(leftovers()).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(leftovers()).toEqual({});
    expect(listenerCounts(client)).toEqual(listenersBefore);
    expect(process.eventNames().map((e) => `${String(e)}:${process.listenerCount(e)}`)).toEqual(
      processListenersBefore,
    );
    // Bus connections close asynchronously on the server side: poll briefly (real time, the server's).
    let connections = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 50 && connections > connectionsBefore; i++) {
      connections = String(await client.client("LIST"))
        .trim()
        .split("\n").length;
      if (connections > connectionsBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(connections).toBe(connectionsBefore);
  }, 60_000);

  it(`${CACHES} caches whose tier and bus own their clients (from a URL) leave nothing behind`, async () => {
    const connectionsBefore = String(await client.client("LIST"))
      .trim()
      .split("\n").length;
    // In a child process: the tier's lazy import("ioredis") for a URL needs Node's ESM loader.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(__dirname, "../src/leak-check.ts"), redis.url, String(CACHES)],
      { cwd: join(__dirname, ".."), timeout: 50_000 },
    );
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
      served: number;
      leftovers: Record<string, number>;
    };
    expect(result.served).toBe((CACHES * (CACHES - 1)) / 2);
    expect(result.leftovers).toEqual({});
    expect(
      String(await client.client("LIST"))
        .trim()
        .split("\n").length,
    ).toBe(connectionsBefore);
  }, 60_000);
});
