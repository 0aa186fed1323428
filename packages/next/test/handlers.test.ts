// The handlers against Next's contracts, in one process on a memory-only NextCache (no Redis):
// stream storage and replay, pending sets, tags, soft tags, options and fail-safe.
import { afterEach, describe, expect, it } from "@jest/globals";
import { Cache, ManualClock, isCacheError } from "@cachet/core";
import { MockCache } from "@cachet/core/testing";
import { NextCache, createNextCache } from "../src/index.js";
import type { IncrementalValue, StoredEntry, UseCacheEntry } from "../src/index.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return decoder.decode(new Uint8Array(await new Response(stream).arrayBuffer()));
}

function useCacheEntry(overrides: Partial<UseCacheEntry> = {}): UseCacheEntry {
  return {
    value: streamOf("<rsc ", "payload>"),
    tags: ["item-1"],
    stale: 300,
    timestamp: Date.now(),
    expire: 3600,
    revalidate: 900,
    ...overrides,
  };
}

function page(tags: string): IncrementalValue {
  const value: IncrementalValue & Record<string, unknown> = {
    kind: "APP_PAGE",
    html: "<html>page</html>",
    rscData: Buffer.from("rsc"),
    segmentData: new Map([["/_tree", Buffer.from("tree")]]),
    headers: { "x-next-cache-tags": tags },
    status: 200,
    postponed: undefined,
  };
  return value;
}

const caches: NextCache[] = [];
function memoryCache(): NextCache {
  const cache = createNextCache({ buildId: false });
  caches.push(cache);
  return cache;
}

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

describe("options", () => {
  it.each([
    [{ redis: "" }, "redis"],
    [{ memoryBytes: 0 }, "memoryBytes"],
    [{ busTransport: "kafka" }, "busTransport"],
    [{ maxTtl: "forever" }, "maxTtl"],
    [{ prefix: "" }, "prefix"],
    [{ staleWindow: -1 }, "staleWindow"],
    [{ colour: "blue" }, "colour"],
  ])("rejects %j with INVALID_OPTION naming `%s`", (options, name) => {
    let caught: unknown;
    try {
      new NextCache(options as never);
    } catch (error) {
      caught = error;
    }
    expect(isCacheError(caught) && caught.code === "INVALID_OPTION").toBe(true);
    expect((caught as Error).message).toContain(name);
  });
});

describe('"use cache" handler', () => {
  it("stores the stream's bytes and replays them as a new stream on every get", async () => {
    const handler = memoryCache().useCacheHandler;
    const entry = useCacheEntry();
    await handler.set("k", Promise.resolve(entry));
    const first = await handler.get("k", []);
    const second = await handler.get("k", []);
    expect(first).toMatchObject({ tags: ["item-1"], stale: 300, expire: 3600, revalidate: 900 });
    expect(first!.timestamp).toBe(entry.timestamp);
    expect(first!.value).not.toBe(second!.value);
    expect(await text(first!.value)).toBe("<rsc payload>");
    expect(await text(second!.value)).toBe("<rsc payload>");
  });

  it("makes a get during a pending set wait for it instead of missing", async () => {
    const handler = memoryCache().useCacheHandler;
    let resolve!: (entry: UseCacheEntry) => void;
    const setting = handler.set("k", new Promise((r) => (resolve = r)));
    const reading = handler.get("k", []);
    resolve(useCacheEntry());
    await setting;
    const entry = await reading;
    expect(entry).toBeDefined();
    expect(await text(entry!.value)).toBe("<rsc payload>");
  });

  it("drops an entry whose stream errors, and an expire-0 (dynamic) entry", async () => {
    const handler = memoryCache().useCacheHandler;
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("partial"));
        controller.error(new Error("render failed"));
      },
    });
    await handler.set("broken", Promise.resolve(useCacheEntry({ value: broken })));
    await handler.set("dynamic", Promise.resolve(useCacheEntry({ expire: 0 })));
    await handler.set("rejected", Promise.reject(new Error("no entry")));
    expect(await handler.get("broken", [])).toBeUndefined();
    expect(await handler.get("dynamic", [])).toBeUndefined();
    expect(await handler.get("rejected", [])).toBeUndefined();
  });

  it("misses after updateTags without durations, and serves stale (revalidate -1) with durations", async () => {
    const handler = memoryCache().useCacheHandler;
    await handler.set("a", Promise.resolve(useCacheEntry({ tags: ["t-a"], timestamp: Date.now() - 5 })));
    await handler.set("b", Promise.resolve(useCacheEntry({ tags: ["t-b"], timestamp: Date.now() - 5 })));
    await handler.updateTags(["t-a"]);
    await handler.updateTags(["t-b"], { expire: 3600 });
    expect(await handler.get("a", [])).toBeUndefined();
    const stale = await handler.get("b", []);
    expect(stale?.revalidate).toBe(-1);
    expect(await text(stale!.value)).toBe("<rsc payload>");
    // A new entry written after the revalidation is fresh.
    await handler.set("b", Promise.resolve(useCacheEntry({ tags: ["t-b"], timestamp: Date.now() + 1 })));
    expect((await handler.get("b", []))?.revalidate).toBe(900);
  });

  it("reports the latest expiry of implicit tags through getExpiration", async () => {
    const handler = memoryCache().useCacheHandler;
    expect(await handler.getExpiration(["_N_T_/p/1"])).toBe(0);
    const before = Date.now();
    await handler.updateTags(["_N_T_/p/1"]);
    const expiration = await handler.getExpiration(["_N_T_/layout", "_N_T_/p/1"]);
    expect(expiration).toBeGreaterThanOrEqual(before);
    expect(expiration).toBeLessThanOrEqual(Date.now());
    // A stale-only revalidation (with a profile) is not an expiry yet.
    await handler.updateTags(["_N_T_/p/2"], { expire: 3600 });
    expect(await handler.getExpiration(["_N_T_/p/2"])).toBe(0);
  });
});

describe("lifetimes on a ManualClock", () => {
  it("keeps a tag-staled entry stale until the profile's expire, then misses", async () => {
    const clock = new ManualClock();
    const next = createNextCache({ buildId: false, clock });
    caches.push(next);
    const handler = next.useCacheHandler;
    await handler.set("k", Promise.resolve(useCacheEntry({ tags: ["t"], timestamp: clock.now() })));
    clock.advance(1_000);
    await handler.updateTags(["t"], { expire: 60 });
    clock.advance(59_000);
    expect((await handler.get("k", []))?.revalidate).toBe(-1);
    clock.advance(1_000);
    expect(await handler.get("k", [])).toBeUndefined();
  });

  it("drops a page at its own expire, and a tag-staled one after the stale window", async () => {
    const clock = new ManualClock();
    const next = createNextCache({ buildId: false, clock, staleWindow: "10m" });
    caches.push(next);
    const handler = new next.CacheHandler();
    await handler.set("/a", page("_N_T_/a"), { cacheControl: { revalidate: 60, expire: 3600 } });
    await handler.set("/b", page("_N_T_/b"), { cacheControl: { revalidate: 60, expire: 3600 } });
    clock.advance(1_000);
    await handler.revalidateTag("_N_T_/b", {});
    clock.advance(9 * 60_000);
    expect((await handler.get("/b", { kind: "APP_PAGE" }))?.cacheControl?.revalidate).toBe(1);
    clock.advance(2 * 60_000);
    expect(await handler.get("/b", { kind: "APP_PAGE" })).toBeNull();
    expect(await handler.get("/a", { kind: "APP_PAGE" })).not.toBeNull();
    clock.advance(3600_000);
    expect(await handler.get("/a", { kind: "APP_PAGE" })).toBeNull();
  });
});

describe("incremental cache handler", () => {
  it("returns a page as stored, with its lifetime, and misses after revalidateTag of one of its tags", async () => {
    const { CacheHandler } = memoryCache();
    const handler = new CacheHandler({});
    const cacheControl = { revalidate: 60, expire: 3600 };
    await handler.set("/p/1", page("_N_T_/p/1,item-1"), { cacheControl });
    const hit = await handler.get("/p/1", { kind: "APP_PAGE" });
    expect(hit?.cacheControl).toEqual(cacheControl);
    expect(hit?.value).toMatchObject({ kind: "APP_PAGE", html: "<html>page</html>" });
    const segments = (hit?.value as { segmentData?: Map<string, Buffer> } | null)?.segmentData;
    expect(segments?.get("/_tree")?.toString()).toBe("tree");
    // Another request's instance sees the same store.
    await new CacheHandler({}).revalidateTag("item-1");
    expect(await handler.get("/p/1", { kind: "APP_PAGE" })).toBeNull();
  });

  it("marks a page stale after revalidateTag with a profile: a revalidate period that has passed", async () => {
    const { CacheHandler } = memoryCache();
    const handler = new CacheHandler();
    await handler.set("/p/2", page("_N_T_/p/2"), { cacheControl: { revalidate: 60, expire: 3600 } });
    await handler.revalidateTag(["_N_T_/p/2"], { expire: 3600 });
    const stale = await handler.get("/p/2", { kind: "APP_PAGE" });
    expect(stale?.cacheControl?.revalidate).toBe(1);
    expect(stale?.cacheControl?.expire).toBe(3600);
    expect(stale!.lastModified).toBeLessThan(Date.now() - 1_000);
  });

  it("checks a fetch result's own tags and the page's soft tags", async () => {
    const { CacheHandler } = memoryCache();
    const handler = new CacheHandler();
    const value: IncrementalValue & Record<string, unknown> = {
      kind: "FETCH",
      data: { headers: {}, body: "{}", url: "http://x/" },
      revalidate: 60,
    };
    await handler.set("f1", value, { fetchCache: true, tags: ["api"] });
    await handler.set("f2", value, { fetchCache: true, tags: ["api"] });
    expect(await handler.get("f1", { kind: "FETCH", tags: ["api"], softTags: ["_N_T_/a"] })).not.toBeNull();
    await handler.revalidateTag("_N_T_/a");
    expect(await handler.get("f1", { kind: "FETCH", tags: ["api"], softTags: ["_N_T_/a"] })).toBeNull();
    expect(await handler.get("f2", { kind: "FETCH", tags: ["api"], softTags: ["_N_T_/b"] })).not.toBeNull();
    await handler.revalidateTag("api");
    expect(await handler.get("f2", { kind: "FETCH", tags: ["api"], softTags: ["_N_T_/b"] })).toBeNull();
  });
});

describe("fail-safe", () => {
  it("never rejects when every tier operation fails: misses, drops writes, still revalidates", async () => {
    const mock = new MockCache<string, StoredEntry>();
    for (const op of ["get", "insert", "getMany", "insertMany", "invalidate"] as const) mock.failAll(op);
    const cache = Cache.builder<string, StoredEntry>()
      .storage(mock)
      .valueMode("reference")
      .tierErrors("throw")
      .build();
    const next = createNextCache({ cache });
    caches.push(next);
    const handler = new next.CacheHandler();
    await expect(handler.set("/p", page("t"), {})).resolves.toBeUndefined();
    await expect(handler.get("/p", { kind: "APP_PAGE" })).resolves.toBeNull();
    await expect(handler.revalidateTag("t")).resolves.toBeUndefined();
    const use = next.useCacheHandler;
    await expect(use.set("k", Promise.resolve(useCacheEntry()))).resolves.toBeUndefined();
    await expect(use.get("k", [])).resolves.toBeUndefined();
    await expect(use.updateTags(["t"])).resolves.toBeUndefined();
    await expect(use.getExpiration(["t"])).resolves.toBeGreaterThan(0);
    expect(mock.calls.length).toBeGreaterThan(0);
  });
});
