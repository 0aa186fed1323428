import { Readable } from "node:stream";
import { CacheError } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import type { CacheEntry } from "@cachet/tier";
import * as expressModule from "express";
import Fastify from "fastify";
import { createHttpCache } from "../../src/http/http-cache.js";
import type { FetchHandler } from "../../src/http/fetch-adapter.js";
import type { HttpCacheStore, HttpCacheValue } from "../../src/http/stored-response.js";
import { listen, read, startOrigin, until, wholeSecondClock } from "./fixtures.js";
import type { Listening, Origin } from "./fixtures.js";

// Jest runs these files as CommonJS without esModuleInterop: take the function whichever way it comes.
const express = ((expressModule as unknown as { default?: typeof expressModule.default }).default ??
  expressModule) as typeof expressModule.default;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Serves a fetch handler on a real port (what Hono's or any fetch server's node adapter does). */
async function serveFetch(handler: FetchHandler): Promise<Listening> {
  const server = await listen((req, res) => {
    const url = `http://${req.headers.host}${req.url}`;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    const method = req.method ?? "GET";
    const body = method === "GET" || method === "HEAD" ? null : Readable.toWeb(req);
    void handler(new Request(url, { method, headers, body, duplex: "half" }))
      .then(async (response) => {
        const out: Record<string, string> = {};
        response.headers.forEach((value, name) => (out[name] = value));
        res.writeHead(response.status, out);
        if (response.body === null) {
          res.end();
          return;
        }
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
        res.end();
      })
      .catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
  });
  closers.push(() => server.close());
  return server;
}

async function origin(clock = wholeSecondClock()): Promise<Origin> {
  const o = await startOrigin(clock, (req, res, n) => {
    res.writeHead(200, { "cache-control": "max-age=60", "content-type": "text/plain" });
    res.end(`${req.method} ${req.url} ${n}`);
  });
  closers.push(() => o.close());
  return o;
}

describe("fetch face", () => {
  it("wraps a (Request) => Promise<Response> handler: MISS, then HIT without calling the handler", async () => {
    const clock = wholeSecondClock();
    const o = await origin(clock);
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>({ clock }), clock });
    let calls = 0;
    const app = await serveFetch(
      cache.fetch(async (request) => {
        calls++;
        return fetch(`${o.url}${new URL(request.url).pathname}`);
      }),
    );
    expect(await read(await fetch(`${app.url}/x`))).toEqual({
      status: 200,
      body: "GET /x 1",
      xCache: "MISS",
    });
    const hit = await fetch(`${app.url}/x`);
    expect(hit.headers.get("age")).toBe("0");
    expect(await read(hit)).toEqual({ status: 200, body: "GET /x 1", xCache: "HIT" });
    expect(calls).toBe(1);
  });

  it("rejects like the handler when the origin fails and nothing stale may stand in", async () => {
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>() });
    const handler = cache.fetch(() => Promise.reject(new Error("origin down")));
    await expect(handler(new Request("http://app.example/a"))).rejects.toThrow("origin down");
  });

  it("returns a null body for HEAD and 304 answers", async () => {
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>() });
    const handler = cache.fetch(
      async () => new Response("hello", { headers: { "cache-control": "max-age=60", etag: '"e"' } }),
    );
    expect(await (await handler(new Request("http://app.example/a"))).text()).toBe("hello");
    const head = await handler(new Request("http://app.example/a", { method: "HEAD" }));
    expect(head.body).toBeNull();
    expect(head.headers.get("content-length")).toBe("5");
    const conditional = await handler(
      new Request("http://app.example/a", { headers: { "if-none-match": '"e"' } }),
    );
    expect(conditional.status).toBe(304);
    expect(conditional.body).toBeNull();
  });
});

describe("Express face", () => {
  it("caches an Express route and revalidates with Express's own ETag handling", async () => {
    const clock = wholeSecondClock();
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>({ clock }), clock });
    let calls = 0;
    const app = express();
    app.use(cache.middleware());
    app.get("/items", (_req, res) => {
      calls++;
      res.set("cache-control", "max-age=10").json({ items: [1, 2, 3] });
    });
    const server = await listen(app);
    closers.push(() => server.close());
    const first = await fetch(`${server.url}/items`);
    expect(first.headers.get("etag")).toMatch(/^W\//);
    expect(await read(first)).toEqual({ status: 200, body: '{"items":[1,2,3]}', xCache: "MISS" });
    expect((await read(await fetch(`${server.url}/items`))).xCache).toBe("HIT");
    clock.advance(11_000);
    // Express answers the cache's conditional request with 304; the client still gets the full body.
    expect(await read(await fetch(`${server.url}/items`))).toEqual({
      status: 200,
      body: '{"items":[1,2,3]}',
      xCache: "REVALIDATED",
    });
    expect(calls).toBe(2);
  });

  it("stale-while-revalidate re-runs the Express route after the client got the stale answer", async () => {
    const clock = wholeSecondClock();
    const store = new MockCache<string, HttpCacheValue>({ clock });
    const cache = createHttpCache({ cache: store, clock });
    let calls = 0;
    const app = express();
    app.use(cache.middleware());
    app.get("/swr", (_req, res) => {
      calls++;
      res.set("cache-control", "max-age=10, stale-while-revalidate=60").send(`version ${calls}`);
    });
    const server = await listen(app);
    closers.push(() => server.close());
    await (await fetch(`${server.url}/swr`)).text();
    clock.advance(20_000);
    expect(await read(await fetch(`${server.url}/swr`))).toEqual({
      status: 200,
      body: "version 1",
      xCache: "STALE",
    });
    await until(() => calls === 2 && store.calls.filter((c) => c.op === "insert").length === 2);
    expect(await read(await fetch(`${server.url}/swr`))).toEqual({
      status: 200,
      body: "version 2",
      xCache: "HIT",
    });
  });

  it("keys on the full path when mounted under a prefix (req.originalUrl)", async () => {
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>() });
    const app = express();
    app.use("/api", cache.middleware());
    app.use("/admin", cache.middleware());
    app.get("/api/x", (_req, res) => void res.set("cache-control", "max-age=60").send("api"));
    app.get("/admin/x", (_req, res) => void res.set("cache-control", "max-age=60").send("admin"));
    const server = await listen(app);
    closers.push(() => server.close());
    expect((await read(await fetch(`${server.url}/api/x`))).body).toBe("api");
    expect(await read(await fetch(`${server.url}/admin/x`))).toEqual({
      status: 200,
      body: "admin",
      xCache: "MISS",
    });
    expect(await read(await fetch(`${server.url}/api/x`))).toEqual({
      status: 200,
      body: "api",
      xCache: "HIT",
    });
  });

  it("passes errors of the store through as misses and reports them", async () => {
    const store = new MockCache<string, HttpCacheValue>();
    store.failAll("get");
    const errors: unknown[] = [];
    const cache = createHttpCache({ cache: store, onError: (e) => errors.push(e) });
    const app = express();
    app.use(cache.middleware());
    app.get("/a", (_req, res) => void res.set("cache-control", "max-age=60").send("ok"));
    const server = await listen(app);
    closers.push(() => server.close());
    expect(await read(await fetch(`${server.url}/a`))).toEqual({ status: 200, body: "ok", xCache: "MISS" });
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe("Fastify face", () => {
  it("caches Fastify routes through the plugin", async () => {
    const clock = wholeSecondClock();
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>({ clock }), clock });
    const app = Fastify();
    let calls = 0;
    await app.register(cache.fastify);
    app.get("/hello", async (_request, reply) => {
      calls++;
      void reply.header("cache-control", "max-age=60");
      return { hello: "world", calls };
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => app.close());
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    expect(await read(await fetch(`${url}/hello`))).toEqual({
      status: 200,
      body: '{"hello":"world","calls":1}',
      xCache: "MISS",
    });
    const hit = await fetch(`${url}/hello`);
    expect(hit.headers.get("content-type")).toContain("application/json");
    expect(await read(hit)).toEqual({ status: 200, body: '{"hello":"world","calls":1}', xCache: "HIT" });
    expect(calls).toBe(1);
  });
});

describe("Fastify face, revalidation in the background", () => {
  it("serves STALE and runs the route again behind the client's back", async () => {
    const clock = wholeSecondClock();
    const store = new MockCache<string, HttpCacheValue>({ clock });
    const cache = createHttpCache({ cache: store, clock });
    const app = Fastify();
    let calls = 0;
    await app.register(cache.fastify);
    app.get("/swr", async (_request, reply) => {
      calls++;
      void reply.header("cache-control", "max-age=10, stale-while-revalidate=60");
      return `version ${calls}`;
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => app.close());
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/swr`;
    await (await fetch(url)).text();
    clock.advance(20_000);
    expect(await read(await fetch(url))).toEqual({ status: 200, body: "version 1", xCache: "STALE" });
    await until(() => calls === 2 && store.calls.filter((c) => c.op === "insert").length === 2);
    const next = await read(await fetch(url));
    expect(next).toEqual({ status: 200, body: "version 2", xCache: "HIT" });
    expect(calls).toBe(2);
  });
});

describe("tags, invalidation and options", () => {
  /** A MockCache with an `invalidateTags` (what a @cachet/core Cache provides). */
  function taggedStore(): HttpCacheStore & { inner: MockCache<string, HttpCacheValue> } {
    const inner = new MockCache<string, HttpCacheValue>();
    const tags = new Map<string, Set<string>>();
    return {
      inner,
      get: (key) => inner.get(key),
      insert: async (key, entry: CacheEntry<HttpCacheValue>) => {
        for (const tag of entry.tags) tags.set(tag, (tags.get(tag) ?? new Set()).add(key));
        await inner.insert(key, entry);
      },
      invalidate: (key) => inner.invalidate(key),
      invalidateTags: async (list) => {
        for (const tag of list) for (const key of tags.get(tag) ?? []) await inner.invalidate(key);
      },
    };
  }

  it("purges by the tags of the Cache-Tag / Surrogate-Key headers and of tagsOf, and hides those headers", async () => {
    const store = taggedStore();
    let n = 0;
    const cache = createHttpCache({
      cache: store,
      policy: { tagsOf: (request) => (request.url.includes("/p/") ? ["products"] : []) },
    });
    const handler = cache.fetch(async (request) => {
      n++;
      const tag =
        new URL(request.url).pathname === "/a" ? { "cache-tag": "red, blue" } : { "surrogate-key": "green" };
      return new Response(`body ${n}`, { headers: { "cache-control": "max-age=60", ...tag } });
    });
    const get = (path: string) => handler(new Request(`http://app.example${path}`));
    const first = await get("/a");
    expect(first.headers.get("cache-tag")).toBeNull();
    await first.text();
    await (await get("/b")).text();
    await (await get("/p/1")).text();
    await cache.purgeTags(["blue"]);
    expect(await (await get("/a")).text()).toBe("body 4");
    expect(await (await get("/b")).text()).toBe("body 2");
    await cache.purgeTags(["products"]);
    expect(await (await get("/p/1")).text()).toBe("body 5");
  });

  it("purgeTags rejects with INVALID_OPTION when the store cannot purge by tag", async () => {
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>() });
    await expect(cache.purgeTags(["x"])).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });

  it("invalidate(url) drops the stored response", async () => {
    let n = 0;
    const cache = createHttpCache({ cache: new MockCache<string, HttpCacheValue>() });
    const handler = cache.fetch(
      async () => new Response(`body ${++n}`, { headers: { "cache-control": "max-age=60" } }),
    );
    await (await handler(new Request("http://app.example/a?x=1"))).text();
    await cache.invalidate("http://app.example/a?x=1");
    expect(await (await handler(new Request("http://app.example/a?x=1"))).text()).toBe("body 2");
  });

  it("keyOf can bypass the cache or add to the key", async () => {
    let n = 0;
    const cache = createHttpCache({
      cache: new MockCache<string, HttpCacheValue>(),
      keyOf: (request) =>
        request.url.includes("/live") ? undefined : `${request.url}|${request.header("x-tenant")}`,
    });
    const handler = cache.fetch(
      async () => new Response(`body ${++n}`, { headers: { "cache-control": "max-age=60" } }),
    );
    const get = (path: string, tenant = "t1") =>
      handler(new Request(`http://app.example${path}`, { headers: { "x-tenant": tenant } }));
    await (await get("/live")).text();
    const live = await get("/live");
    expect(live.headers.get("x-cache")).toBe("BYPASS");
    expect(await live.text()).toBe("body 2");
    await (await get("/a")).text();
    expect(await (await get("/a", "t2")).text()).toBe("body 4");
    expect(await (await get("/a")).text()).toBe("body 3");
  });

  it.each([
    [{ cache: undefined }, "`cache`"],
    [{ mode: "proxy" }, "`mode`"],
    [{ policy: { maxBodySize: -1 } }, "`policy.maxBodySize`"],
    [{ policy: { methods: ["POST"] } }, "`policy.methods`"],
    [{ policy: { statuses: [99] } }, "`policy.statuses`"],
    [{ policy: { ttl: Number.NaN } }, "`policy.ttl`"],
    [{ policy: { minBodySize: 10, maxBodySize: 5 } }, "`policy.minBodySize`"],
    [{ policy: { surrogateName: "a b" } }, "`policy.surrogateName`"],
  ])("rejects invalid options at construction: %j", (options, name) => {
    const build = (): unknown =>
      createHttpCache({ cache: new MockCache<string, HttpCacheValue>(), ...options } as never);
    expect(build).toThrow(CacheError);
    expect(build).toThrow(name);
  });

  it("entries carry the retention ttl and the tags", async () => {
    const store = new MockCache<string, HttpCacheValue>();
    const cache = createHttpCache({ cache: store, policy: { keepStale: 1_000 } });
    const handler = cache.fetch(
      async () =>
        new Response("x", {
          headers: { "cache-control": "max-age=60, stale-while-revalidate=30", "cache-tag": "t" },
        }),
    );
    await (await handler(new Request("http://app.example/a"))).text();
    const entry = store.peek("http://app.example/a");
    expect(entry?.ttl).toBeGreaterThanOrEqual(89_000); // fresh time left (minus the exchange) + 30 s
    expect(entry?.ttl).toBeLessThanOrEqual(90_000);
    expect(entry?.tags).toEqual(["t"]);
    expect(entry?.value.kind).toBe("response");
  });
});
