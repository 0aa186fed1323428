// The synchronous hit path: a store with `getSync` (an in-process tier) lets the engine answer a fresh
// hit with no promise. These tests check that it answers exactly what the asynchronous path does
// (Age, 304, HEAD, ranges, variants, Authorization) and hands everything else to it.
import type { CacheEntry, ManualClock } from "@cachet/tier";
import Fastify from "fastify";
import { createHttpCache } from "../../src/http/http-cache.js";
import type { HttpCache } from "../../src/http/http-cache.js";
import type { HttpCacheOptions } from "../../src/http/http-cache-options.js";
import type { HttpCacheStore, HttpCacheValue } from "../../src/http/stored-response.js";
import { forward, listen, read, startOrigin, until, wholeSecondClock } from "./fixtures.js";
import type { Listening, Origin, OriginHandler } from "./fixtures.js";

/** A Map store with `getSync`, counting reads, that can make `getSync` throw. */
class SyncStore implements HttpCacheStore {
  readonly entries = new Map<string, CacheEntry<HttpCacheValue>>();
  gets = 0;
  syncGets = 0;
  isSyncFailing = false;

  constructor(private readonly clock: ManualClock) {}

  getSync(key: string): CacheEntry<HttpCacheValue> | undefined {
    this.syncGets++;
    if (this.isSyncFailing) throw new Error("getSync failed");
    return this.#live(key);
  }

  get(key: string): Promise<CacheEntry<HttpCacheValue> | undefined> {
    this.gets++;
    return Promise.resolve(this.#live(key));
  }

  insert(key: string, entry: CacheEntry<HttpCacheValue>): Promise<void> {
    this.entries.set(key, entry);
    return Promise.resolve();
  }

  invalidate(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }

  #live(key: string): CacheEntry<HttpCacheValue> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.ttl !== undefined && this.clock.now() >= entry.cachedAt! + entry.ttl) return undefined;
    return entry;
  }
}

interface SyncHarness {
  readonly clock: ManualClock;
  readonly store: SyncStore;
  readonly origin: Origin;
  readonly cache: HttpCache;
  readonly errors: unknown[];
  get(path: string, init?: RequestInit): Promise<Response>;
  /** A miss, then waits until its response was stored (the client can finish before the store write). */
  prime(path: string, init?: RequestInit): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function start(handler: OriginHandler, options: Partial<HttpCacheOptions> = {}): Promise<SyncHarness> {
  const clock = wholeSecondClock();
  const store = new SyncStore(clock);
  const errors: unknown[] = [];
  const origin = await startOrigin(clock, handler);
  closers.push(() => origin.close());
  const cache = createHttpCache({
    cache: store,
    clock,
    mode: "standards",
    onError: (error) => errors.push(error),
    ...options,
  });
  const middleware = cache.middleware();
  const proxy: Listening = await listen((req, res) =>
    middleware(req, res, () => forward(origin.url, req, res)),
  );
  closers.push(() => proxy.close());
  const get = (path: string, init?: RequestInit): Promise<Response> => fetch(`${proxy.url}${path}`, init);
  const prime = async (path: string, init?: RequestInit): Promise<void> => {
    const before = store.entries.size;
    expect((await read(await get(path, init))).xCache).toBe("MISS");
    await until(() => store.entries.size > before);
  };
  return { clock, store, origin, cache, errors, get, prime };
}

const BODY = "0123456789abcdef";

/** A fresh-for-60-s response with an ETag; a matching If-None-Match gets 304. */
function cacheable(extra: Record<string, string> = {}): OriginHandler {
  return (req, res) => {
    if (req.headers["if-none-match"] === '"v1"') {
      res.writeHead(304, { "cache-control": "max-age=60", etag: '"v1"' });
      res.end();
      return;
    }
    res.writeHead(200, {
      "content-type": "text/plain",
      "cache-control": "max-age=60",
      etag: '"v1"',
      ...extra,
    });
    res.end(BODY);
  };
}

describe("HTTP cache: synchronous hits on a store with getSync", () => {
  it("answers a fresh hit without store.get, with the headers and body the stored response had", async () => {
    const h = await start(cacheable({ "x-custom": "a" }));
    await h.prime("/a");
    const getsBefore = h.store.gets;
    const response = await h.get("/a");
    expect(await read(response)).toEqual({ status: 200, body: BODY, xCache: "HIT" });
    expect(h.store.gets).toBe(getsBefore);
    expect(response.headers.get("content-length")).toBe(String(BODY.length));
    expect(response.headers.get("age")).toBe("0");
    expect(response.headers.get("x-custom")).toBe("a");
    expect(response.headers.get("etag")).toBe('"v1"');
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(h.origin.seen).toHaveLength(1);
  });

  it("sends the current Age on every hit, also when the prepared list of an earlier second exists", async () => {
    const h = await start(cacheable());
    await h.prime("/a");
    const getsBefore = h.store.gets;
    expect((await h.get("/a")).headers.get("age")).toBe("0");
    h.clock.advance(1_500);
    expect((await h.get("/a")).headers.get("age")).toBe("1");
    expect((await h.get("/a")).headers.get("age")).toBe("1");
    h.clock.advance(30_000);
    const later = await h.get("/a");
    expect(later.headers.get("age")).toBe("31");
    expect(later.headers.get("x-cache")).toBe("HIT");
    expect(h.store.gets).toBe(getsBefore);
  });

  // Server mode: fetch() adds `Cache-Control: no-cache` to conditional requests, which a standards
  // mode cache honours with a revalidation.
  it("answers If-None-Match with 304, HEAD without a body and a Range with 206", async () => {
    const h = await start(cacheable(), { mode: "server" });
    await h.prime("/a");
    const getsBefore = h.store.gets;
    const notModified = await h.get("/a", { headers: { "if-none-match": '"v1"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe('"v1"');
    expect(notModified.headers.get("x-cache")).toBe("HIT");
    const head = await h.get("/a", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(BODY.length));
    expect(await head.text()).toBe("");
    const range = await h.get("/a", { headers: { range: "bytes=2-5" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe(`bytes 2-5/${BODY.length}`);
    expect(await range.text()).toBe("2345");
    // The whole response after a range still carries the full length.
    const whole = await h.get("/a");
    expect(whole.headers.get("content-length")).toBe(String(BODY.length));
    expect(await whole.text()).toBe(BODY);
    expect(h.origin.seen).toHaveLength(1);
    expect(h.store.gets).toBe(getsBefore);
  });

  it("gives each variant its own body and headers", async () => {
    const h = await start((req, res) => {
      const language = String(req.headers["accept-language"] ?? "none");
      res.writeHead(200, { "cache-control": "max-age=60", vary: "accept-language", "x-lang": language });
      res.end(`body for ${language}`);
    });
    const en = { headers: { "accept-language": "en" } };
    const de = { headers: { "accept-language": "de" } };
    await h.prime("/v", en);
    await h.prime("/v", de);
    for (let i = 0; i < 3; i++) {
      const a = await h.get("/v", en);
      const b = await h.get("/v", de);
      expect(a.headers.get("x-lang")).toBe("en");
      expect(b.headers.get("x-lang")).toBe("de");
      expect(await read(a)).toEqual({ status: 200, body: "body for en", xCache: "HIT" });
      expect(await read(b)).toEqual({ status: 200, body: "body for de", xCache: "HIT" });
    }
    expect(h.origin.seen).toHaveLength(2);
  });

  it("in a shared cache, does not answer a request with Authorization from a response that does not allow it", async () => {
    const h = await start(cacheable(), { mode: "server" });
    await h.prime("/a");
    const getsBefore = h.store.gets;
    const authorized = await h.get("/a", { headers: { authorization: "Bearer x" } });
    expect((await read(authorized)).xCache).not.toBe("HIT");
    expect(h.origin.seen).toHaveLength(2);
    expect(h.store.gets).toBeGreaterThan(getsBefore);
  });

  it("hands stale responses, request directives and store failures to the asynchronous path", async () => {
    const h = await start(cacheable());
    await h.prime("/a");
    const noCache = await h.get("/a", { headers: { "cache-control": "no-cache" } });
    expect((await read(noCache)).xCache).toBe("REVALIDATED");
    h.clock.advance(61_000);
    expect((await read(await h.get("/a"))).xCache).toBe("REVALIDATED");
    h.store.isSyncFailing = true;
    const getsBefore = h.store.gets;
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: BODY, xCache: "HIT" });
    expect(h.store.gets).toBeGreaterThan(getsBefore);
    expect(h.errors).toEqual([]);
  });

  it("runs keyOf once per request, also when the synchronous path declines", async () => {
    const keyed: string[] = [];
    const h = await start(cacheable(), {
      keyOf: (request) => {
        keyed.push(request.url);
        return request.url.endsWith("/bypass") ? undefined : request.url;
      },
    });
    await h.prime("/a");
    expect(keyed).toHaveLength(1);
    expect((await read(await h.get("/a"))).xCache).toBe("HIT");
    expect(keyed).toHaveLength(2);
    h.clock.advance(61_000);
    await read(await h.get("/a"));
    expect(keyed).toHaveLength(3);
    await read(await h.get("/bypass"));
    expect(keyed).toHaveLength(4);
  });

  it("serves hits through the fetch and Fastify faces too", async () => {
    const clock = wholeSecondClock();
    const store = new SyncStore(clock);
    const cache = createHttpCache({ cache: store, clock, mode: "standards" });
    let calls = 0;
    const handler = cache.fetch(() => {
      calls++;
      return Promise.resolve(
        new Response(BODY, { headers: { "cache-control": "max-age=60", "content-type": "text/plain" } }),
      );
    });
    await (await handler(new Request("http://example.test/a"))).text();
    for (let i = 0; i < 2; i++) {
      const hit = await handler(new Request("http://example.test/a"));
      expect(hit.headers.get("x-cache")).toBe("HIT");
      expect(hit.headers.get("age")).toBe("0");
      expect(await hit.text()).toBe(BODY);
    }
    expect(calls).toBe(1);

    const app = Fastify();
    closers.push(() => app.close());
    await app.register(createHttpCache({ cache: new SyncStore(clock), clock, mode: "standards" }).fastify);
    let routeCalls = 0;
    app.get("/f", (_request, reply) => {
      routeCalls++;
      void reply.header("cache-control", "max-age=60");
      return reply.send("fastify body");
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${address.port}/f`;
    expect((await read(await fetch(url))).xCache).toBe("MISS");
    const hit = await fetch(url);
    expect(await read(hit)).toEqual({ status: 200, body: "fastify body", xCache: "HIT" });
    expect(hit.headers.get("content-length")).toBe(String("fastify body".length));
    expect(routeCalls).toBe(1);
  });
});
