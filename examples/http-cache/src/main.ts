/**
 * The HTTP response cache of @cachet/service backed by the multi-tier Cache of @cachet/core: two
 * instances of one app (each with its own L1) share an L2 (in-process, or Redis with REDIS_URL) and
 * a bus, so a response cached by one is served by the other, and a tag purge on one reaches both.
 * Every step asserts what it prints; `pnpm test` runs it.
 */
import assert from "node:assert/strict";
import { createServer, get as httpGet } from "node:http";
import type { AddressInfo } from "node:net";
import { Cache, MemoryBus, MemoryBusHub, MemoryTier } from "@cachet/core";
import type { CacheTier } from "@cachet/core";
import { createHttpCache } from "@cachet/service";
import type { HttpCacheValue } from "@cachet/service";

async function sharedTier(): Promise<{ tier: CacheTier<string, HttpCacheValue>; label: string }> {
  const url = process.env.REDIS_URL;
  if (url) {
    const { RedisTier } = await import("@cachet/core/redis");
    const prefix = `cachet-http-example:${process.pid}`;
    return { tier: new RedisTier<string, HttpCacheValue>({ client: url, prefix }), label: `Redis at ${url}` };
  }
  return {
    tier: new MemoryTier<string, HttpCacheValue>({ maxEntries: 10_000, name: "shared" }),
    label: "an in-process L2",
  };
}

async function main(): Promise<void> {
  const { tier, label } = await sharedTier();
  const hub = new MemoryBusHub(); // in production: RedisBus from @cachet/redis
  let originCalls = 0;

  // One "app instance": its own L1, the shared L2, the bus, and the HTTP cache in front of the origin.
  const instance = async (name: string) => {
    const cache = Cache.builder<string, HttpCacheValue>()
      .name("http")
      .memory({ maxEntries: 1_000 })
      .fallback(Cache.builder<string, HttpCacheValue>().storage(tier, { close: false }))
      .bus(new MemoryBus(hub, name))
      .build();
    const httpCache = createHttpCache({ cache });
    const handler = httpCache.middleware();
    const server = createServer((req, res) =>
      handler(req, res, () => {
        originCalls++;
        res.setHeader("cache-control", "public, max-age=60");
        res.setHeader("cache-tag", "catalog");
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ served: name, n: originCalls }));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/catalog`;
    const close = async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cache.close();
    };
    return { url, httpCache, close };
  };

  const a = await instance("a");
  const b = await instance("b");
  // Both instances sit behind one public host (as behind a load balancer): the cache keys on the
  // Host the server sees, so requests carry the same Host whichever instance answers.
  const get = (url: string) =>
    new Promise<{ xCache: string | undefined; body: { served: string } }>((resolve, reject) => {
      const request = httpGet(url, { headers: { host: "shop.example" } }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => {
          const xCache = response.headers["x-cache"];
          resolve({
            xCache: Array.isArray(xCache) ? xCache[0] : xCache,
            body: JSON.parse(text) as { served: string },
          });
        });
      });
      request.on("error", reject);
    });
  console.log(`HTTP cache on a multi-tier Cache: two app instances, L1 each, shared L2 = ${label}\n`);

  const first = await get(a.url);
  console.log(`1. GET via A: ${first.xCache}, origin calls ${originCalls}`);
  assert.equal(first.xCache, "MISS");
  const second = await get(a.url);
  console.log(`2. GET via A: ${second.xCache} (from A's L1), origin calls ${originCalls}`);
  assert.equal(second.xCache, "HIT");
  const third = await get(b.url);
  console.log(
    `3. GET via B: ${third.xCache} (from the shared L2, served by "${third.body.served}"), origin calls ${originCalls}`,
  );
  assert.equal(third.xCache, "HIT");
  assert.equal(third.body.served, "a");
  assert.equal(originCalls, 1);

  await a.httpCache.purgeTags(["catalog"]);
  const afterPurge = await get(b.url);
  console.log(
    `4. purgeTags(["catalog"]) on A, then GET via B: ${afterPurge.xCache}, origin calls ${originCalls}`,
  );
  assert.equal(afterPurge.xCache, "MISS");
  assert.equal(originCalls, 2);

  await a.close();
  await b.close();
  await tier.clear();
  await tier.close?.();
  console.log("\nok");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
