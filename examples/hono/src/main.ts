/**
 * @cachet/hono: the RFC 9111 HTTP response cache as Hono middleware, on @hono/node-server, stored in a
 * multi-tier core Cache (L1 memory here; add a RedisTier fallback and a RedisBus to share it across
 * instances). Shows a miss then a hit, one variant per `Accept-Language` (Vary), a conditional
 * request answered from the cache, and a purge by tag. Every step asserts what it prints;
 * `pnpm test` runs it.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Cache } from "@cachet/core";
import { httpCache } from "@cachet/hono";
import { createHttpCache } from "@cachet/service";
import type { HttpCacheValue } from "@cachet/service";
import { Hono } from "hono";

let renders = 0;
const store = Cache.builder<string, HttpCacheValue>().name("http").memory({ maxEntries: 10_000 }).build();
const cache = createHttpCache({ cache: store });

const app = new Hono();
app.use("/api/*", httpCache(cache));
app.get("/api/greeting", (c) => {
  renders++;
  const french = (c.req.header("accept-language") ?? "").startsWith("fr");
  c.header("cache-control", "public, max-age=60");
  c.header("vary", "accept-language");
  c.header("etag", french ? '"fr-1"' : '"en-1"');
  c.header("cache-tag", "greetings");
  return c.json({ greeting: french ? "bonjour" : "hello", render: renders });
});

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; xCache: string | undefined; text: string }>((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        const xCache = response.headers["x-cache"];
        resolve({
          status: response.statusCode ?? 0,
          xCache: Array.isArray(xCache) ? xCache[0] : xCache,
          text,
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/greeting`;
  console.log("@cachet/hono: httpCache() middleware on @hono/node-server\n");

  const first = await get(url);
  const second = await get(url);
  console.log(`1. GET twice: ${first.xCache} then ${second.xCache}, renders ${renders}`);
  assert.deepEqual([first.xCache, second.xCache, renders], ["MISS", "HIT", 1]);

  const fr = await get(url, { "accept-language": "fr" });
  const frAgain = await get(url, { "accept-language": "fr" });
  console.log(
    `2. Accept-Language: fr (Vary): ${fr.xCache} then ${frAgain.xCache}, "${frAgain.text}", renders ${renders}`,
  );
  assert.deepEqual([fr.xCache, frAgain.xCache, renders], ["MISS", "HIT", 2]);
  assert.match(frAgain.text, /bonjour/);

  const conditional = await get(url, { "if-none-match": '"en-1"' });
  console.log(`3. If-None-Match: "en-1": ${conditional.status} from the cache, renders ${renders}`);
  assert.deepEqual([conditional.status, renders], [304, 2]);

  await new Promise((resolve) => setTimeout(resolve, 2)); // the purge is later than the stored responses
  await cache.purgeTags(["greetings"]);
  const afterPurge = await get(url);
  console.log(`4. purgeTags(["greetings"]), then GET: ${afterPurge.xCache}, renders ${renders}`);
  assert.deepEqual([afterPurge.xCache, renders], ["MISS", 3]);

  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  console.log("\nok");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
