import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { Cache, isCacheError, ManualClock } from "@cachet/core";
import { createHttpCache } from "@cachet/service";
import type { HttpCache, HttpCacheValue } from "@cachet/service";
import { Hono } from "hono";
import { compress } from "hono/compress";
import { httpCache } from "../src/index.js";

interface Reply {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
}

/** One request on its own connection, so no socket outlives the test. */
function send(url: string, method = "GET", headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        const flat: Record<string, string | undefined> = {};
        for (const [name, value] of Object.entries(res.headers))
          flat[name] = Array.isArray(value) ? value.join(", ") : value;
        resolve({ status: res.statusCode ?? 0, headers: flat, text });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("httpCache() Hono middleware on @hono/node-server", () => {
  let clock: ManualClock;
  let store: Cache<string, HttpCacheValue>;
  let cache: HttpCache;
  let app: Hono;
  let server: ServerType;
  let base: string;
  let calls: Record<string, number>;
  let seenIfNoneMatch: (string | undefined)[];

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    store = Cache.builder<string, HttpCacheValue>({ clock }).memory({ maxEntries: 1_000 }).build();
    cache = createHttpCache({ cache: store, clock });
    calls = {};
    seenIfNoneMatch = [];
    const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
    app = new Hono();
    app.onError((_error, c) => c.text("failed", 500)); // Hono's default handler logs to stderr
    app.use("*", async (c, next) => {
      await next();
      c.header("date", new Date(clock.now()).toUTCString());
    });
    app.use("*", httpCache(cache));
    app.get("/public", (c) => {
      const n = count("public");
      c.header("cache-control", "public, max-age=60");
      c.header("cache-tag", "catalog");
      return c.json({ n });
    });
    app.get("/greeting", (c) => {
      const n = count("greeting");
      const lang = c.req.header("accept-language") ?? "en";
      c.header("cache-control", "max-age=60");
      c.header("vary", "accept-language");
      return c.text(`${lang.startsWith("fr") ? "bonjour" : "hello"} #${n}`);
    });
    app.get("/no-store", (c) => {
      c.header("cache-control", "no-store");
      return c.text(`no-store #${count("no-store")}`);
    });
    app.get("/private", (c) => {
      c.header("cache-control", "private, max-age=60");
      return c.text(`private #${count("private")}`);
    });
    app.get("/etag", (c) => {
      count("etag");
      seenIfNoneMatch.push(c.req.header("if-none-match"));
      c.header("cache-control", "max-age=10");
      c.header("etag", '"v1"');
      if (c.req.header("if-none-match") === '"v1"') return c.body(null, 304);
      return c.text("versioned body");
    });
    app.get("/boom", (c) => {
      count("boom");
      c.header("cache-control", "max-age=60");
      throw new Error("boom");
    });
    app.get("/swr", (c) => {
      const n = count("swr");
      c.header("cache-control", "max-age=1, stale-while-revalidate=60");
      c.header("x-render", String(n));
      return c.text(`swr #${n}`);
    });
    app.post("/public", (c) => c.text(`posted #${count("post")}`));
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  });

  it("a miss runs the handlers and stores the response; a hit does not run them; HEAD reuses GET", async () => {
    const first = await send(`${base}/public`);
    expect(first.status).toBe(200);
    expect(first.headers["x-cache"]).toBe("MISS");
    expect(JSON.parse(first.text)).toEqual({ n: 1 });
    expect(first.headers["cache-tag"]).toBeUndefined(); // tag headers stay inside the cache
    const second = await send(`${base}/public`);
    expect(second.headers["x-cache"]).toBe("HIT");
    expect(second.text).toBe(first.text);
    expect(second.headers["content-type"]).toMatch(/application\/json/);
    const head = await send(`${base}/public`, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["x-cache"]).toBe("HIT");
    expect(head.text).toBe("");
    expect(calls.public).toBe(1);
  });

  it("stores one variant per Vary-ing request header", async () => {
    const en = await send(`${base}/greeting`, "GET", { "accept-language": "en" });
    const fr = await send(`${base}/greeting`, "GET", { "accept-language": "fr" });
    expect([en.text, fr.text]).toEqual(["hello #1", "bonjour #2"]);
    expect([en.headers["x-cache"], fr.headers["x-cache"]]).toEqual(["MISS", "MISS"]);
    const enAgain = await send(`${base}/greeting`, "GET", { "accept-language": "en" });
    const frAgain = await send(`${base}/greeting`, "GET", { "accept-language": "fr" });
    expect([enAgain.text, frAgain.text]).toEqual(["hello #1", "bonjour #2"]);
    expect([enAgain.headers["x-cache"], frAgain.headers["x-cache"]]).toEqual(["HIT", "HIT"]);
    expect(calls.greeting).toBe(2);
  });

  it("never stores no-store responses, nor private ones in a shared cache", async () => {
    expect((await send(`${base}/no-store`)).text).toBe("no-store #1");
    expect((await send(`${base}/no-store`)).text).toBe("no-store #2");
    expect((await send(`${base}/private`)).text).toBe("private #1");
    const again = await send(`${base}/private`);
    expect(again.text).toBe("private #2");
    expect(again.headers["x-cache"]).not.toBe("HIT");
  });

  it("answers conditional requests from the cache and revalidates a stale entry with the origin's 304", async () => {
    const first = await send(`${base}/etag`);
    expect(first.headers.etag).toBe('"v1"');
    expect(seenIfNoneMatch).toEqual([undefined]);

    const conditional = await send(`${base}/etag`, "GET", { "if-none-match": '"v1"' });
    expect(conditional.status).toBe(304);
    expect(conditional.text).toBe("");
    expect(calls.etag).toBe(1); // answered from the cache

    clock.advance(11_000); // stale now: the cache asks the origin with its validator
    const revalidated = await send(`${base}/etag`);
    expect(revalidated.status).toBe(200);
    expect(revalidated.text).toBe("versioned body");
    expect(revalidated.headers["x-cache"]).toBe("REVALIDATED");
    expect(calls.etag).toBe(2);
    expect(seenIfNoneMatch[1]).toBe('"v1"'); // the handler saw the request the cache forwarded
    expect((await send(`${base}/etag`)).headers["x-cache"]).toBe("HIT");
  });

  it("expires by max-age on the clock, purges by tag, and unsafe methods invalidate", async () => {
    await send(`${base}/public`);
    clock.advance(61_000);
    expect(JSON.parse((await send(`${base}/public`)).text)).toEqual({ n: 2 });
    clock.advance(1);
    await cache.purgeTags(["catalog"]);
    clock.advance(1);
    expect(JSON.parse((await send(`${base}/public`)).text)).toEqual({ n: 3 });
    expect((await send(`${base}/public`)).headers["x-cache"]).toBe("HIT");
    clock.advance(1);
    expect((await send(`${base}/public`, "POST")).text).toBe("posted #1");
    clock.advance(1);
    const afterPost = await send(`${base}/public`);
    expect(afterPost.headers["x-cache"]).toBe("MISS");
    expect(JSON.parse(afterPost.text)).toEqual({ n: 4 });
  });

  it("serves a stale response and runs the handlers again in the background (stale-while-revalidate)", async () => {
    expect((await send(`${base}/swr`)).text).toBe("swr #1");
    clock.advance(2_000);
    const stale = await send(`${base}/swr`);
    expect(stale.headers["x-cache"]).toBe("STALE");
    expect(stale.text).toBe("swr #1");
    // The background run happens after the client got its answer: poll (bounded) for its result.
    const deadline = Date.now() + 5_000;
    let fresh = await send(`${base}/swr`);
    while (fresh.text !== "swr #2" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      fresh = await send(`${base}/swr`);
    }
    expect(fresh.text).toBe("swr #2");
    expect(fresh.headers["x-cache"]).toBe("HIT");
    expect(fresh.headers["x-render"]).toBe("2"); // the revalidated response's own headers, not the stale one's
    expect(calls.swr).toBe(2);
  });

  it("on a fetch runtime (no node bindings), the background run waits until the stale body was read", async () => {
    const fetchText = async () => {
      const response = await app.fetch(new Request("http://shop.example/swr"));
      return { text: await response.text(), xCache: response.headers.get("x-cache") };
    };
    expect(await fetchText()).toEqual({ text: "swr #1", xCache: "MISS" });
    clock.advance(2_000);
    const response = await app.fetch(new Request("http://shop.example/swr"));
    expect(response.headers.get("x-cache")).toBe("STALE");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.swr).toBe(1); // the body was not read yet: the context may still be in use
    expect(await response.text()).toBe("swr #1");
    const deadline = Date.now() + 5_000;
    while (calls.swr !== 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls.swr).toBe(2);
    let fresh = await fetchText();
    while (fresh.text !== "swr #2" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      fresh = await fetchText();
    }
    expect(fresh).toEqual({ text: "swr #2", xCache: "HIT" });
  });

  it("does not store a handler's error", async () => {
    expect((await send(`${base}/boom`)).status).toBe(500);
    expect((await send(`${base}/boom`)).status).toBe(500);
    expect(calls.boom).toBe(2);
  });

  it("builds the cache from createHttpCache options, checking them", () => {
    expect(typeof httpCache({ cache: store, policy: { ttl: 1_000 } })).toBe("function");
    let thrown: unknown;
    try {
      httpCache({ cache: store, mode: "sometimes" as never });
    } catch (error) {
      thrown = error;
    }
    expect(isCacheError(thrown) && thrown.code).toBe("INVALID_OPTION");
    expect((thrown as Error).message).toContain("mode");
  });
});

describe("httpCache() with compress() registered before it", () => {
  it("stores the identity body once and compresses per client", async () => {
    const clock = new ManualClock(Date.now());
    const store = Cache.builder<string, HttpCacheValue>({ clock }).memory({ maxEntries: 100 }).build();
    let renders = 0;
    const app = new Hono();
    app.use("*", compress());
    app.use("*", httpCache({ cache: store, clock }));
    app.get("/big", (c) => {
      renders++;
      c.header("cache-control", "public, max-age=60");
      return c.text("x".repeat(4_096));
    });
    const gzip = await app.fetch(
      new Request("http://shop.example/big", { headers: { "accept-encoding": "gzip" } }),
    );
    expect(gzip.headers.get("content-encoding")).toBe("gzip");
    expect(gzip.headers.get("x-cache")).toBe("MISS");
    const unzipped = await new Response(gzip.body!.pipeThrough(new DecompressionStream("gzip"))).text();
    expect(unzipped).toBe("x".repeat(4_096));
    const identity = await app.fetch(new Request("http://shop.example/big"));
    expect(identity.headers.get("content-encoding")).toBeNull();
    expect(identity.headers.get("x-cache")).toBe("HIT");
    expect(await identity.text()).toBe("x".repeat(4_096));
    expect(renders).toBe(1);
    await store.close();
  });
});
