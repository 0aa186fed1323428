import { MockCache } from "@cachet/tier/testing";
import { createHttpCache } from "../../src/http/http-cache.js";
import type { HttpCacheValue } from "../../src/http/stored-response.js";
import { gate, read, startHarness, until, wholeSecondClock } from "./fixtures.js";
import type { Harness } from "./fixtures.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const decoder = new TextDecoder();

/** Reads the first chunk of a streamed response body. */
async function firstChunk(response: Response): Promise<{ text: string; rest: () => Promise<string> }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  return {
    text: decoder.decode(first.value),
    rest: async () => {
      let out = "";
      for (;;) {
        const next = await reader.read();
        if (next.done) return out;
        out += decoder.decode(next.value);
      }
    },
  };
}

describe("body size limits and streaming", () => {
  it("streams a response to the client while it is being stored", async () => {
    const release = gate();
    h = await startHarness(async (_req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.write("part one;");
      await release.promise;
      res.end("part two");
    });
    const response = await h.get("/a");
    const { text, rest } = await firstChunk(response);
    expect(text).toBe("part one;"); // arrived before the origin finished
    release.open();
    expect(await rest()).toBe("part two");
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "part one;part two", xCache: "HIT" });
  });

  it("passes an unknown-length stream over maxBodySize through unbuffered and does not store it", async () => {
    const release = gate();
    h = await startHarness(
      async (_req, res, n) => {
        res.writeHead(200, { "cache-control": "max-age=60" });
        res.write("0123456789ABCDEF");
        if (n === 1) await release.promise;
        res.end(`tail ${n}`);
      },
      { policy: { maxBodySize: 10 } },
    );
    const { text, rest } = await firstChunk(await h.get("/a"));
    expect(text).toBe("0123456789ABCDEF");
    release.open();
    expect(await rest()).toBe("tail 1");
    expect(await read(await h.get("/a"))).toEqual({
      status: 200,
      body: "0123456789ABCDEFtail 2",
      xCache: "MISS",
    });
    expect(h.store.calls.filter((c) => c.op === "insert")).toHaveLength(0);
  });

  it("does not store a response whose Content-Length exceeds maxBodySize or is under minBodySize", async () => {
    h = await startHarness(
      (req, res, n) => {
        const body = req.url === "/big" ? `${"x".repeat(20)}${n}` : `${n}`;
        res.writeHead(200, {
          "cache-control": "max-age=60",
          "content-length": String(Buffer.byteLength(body)),
        });
        res.end(body);
      },
      { policy: { maxBodySize: 10, minBodySize: 2 } },
    );
    await (await h.get("/big")).text();
    await (await h.get("/small")).text();
    expect((await read(await h.get("/big"))).xCache).toBe("MISS");
    expect((await read(await h.get("/small"))).xCache).toBe("MISS");
    expect(h.store.calls.filter((c) => c.op === "insert")).toHaveLength(0);
  });

  it("compress: stores gzip bytes and serves the original body", async () => {
    const body = "compressible ".repeat(200);
    h = await startHarness(
      (_req, res) => {
        res.writeHead(200, { "cache-control": "max-age=60", "content-type": "text/plain" });
        res.end(body);
      },
      { policy: { compress: true } },
    );
    await (await h.get("/a")).text();
    const hit = await h.get("/a");
    expect(hit.headers.get("content-length")).toBe(String(body.length));
    expect(await read(hit)).toEqual({ status: 200, body, xCache: "HIT" });
    const stored = [...h.store.calls].find((c) => c.op === "insert")!;
    const entry = h.store.peek(stored.key as string);
    expect(entry?.value.kind === "response" && entry.value.isCompressed).toBe(true);
    expect(entry?.value.kind === "response" ? entry.value.body.length : Infinity).toBeLessThan(
      body.length / 4,
    );
  });
});

describe("stampede protection", () => {
  it("N concurrent misses for one URL make one origin request", async () => {
    const release = gate();
    h = await startHarness(async (_req, res, n) => {
      await release.promise;
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`body ${n}`);
    });
    let arrived = 0;
    h.proxy.server.on("request", () => arrived++);
    const pending = Array.from({ length: 10 }, () => h!.get("/a"));
    await until(() => arrived === 10 && h!.origin.seen.length === 1);
    release.open();
    const results = await Promise.all(pending.map(async (p) => read(await p)));
    expect(h.origin.seen).toHaveLength(1);
    expect(new Set(results.map((r) => r.body))).toEqual(new Set(["body 1"]));
    expect(results.filter((r) => r.xCache === "MISS")).toHaveLength(1);
    expect(results.filter((r) => r.xCache === "HIT")).toHaveLength(9);
  });

  it("concurrent requests for a stale entry share one revalidation", async () => {
    const release = gate();
    h = await startHarness(async (req, res, n) => {
      if (n > 1) await release.promise;
      if (req.headers["if-none-match"] === '"v1"') {
        res.writeHead(304, { "cache-control": "max-age=60" });
        res.end();
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=60", etag: '"v1"' });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    h.clock.advance(61_000);
    let arrived = 0;
    h.proxy.server.on("request", () => arrived++);
    const pending = Array.from({ length: 5 }, () => h!.get("/a"));
    await until(() => arrived === 5 && h!.origin.seen.length === 2);
    release.open();
    const results = await Promise.all(pending.map(async (p) => read(await p)));
    expect(h.origin.seen).toHaveLength(2);
    expect(results.every((r) => r.body === "body 1")).toBe(true);
    expect(results.filter((r) => r.xCache === "REVALIDATED")).toHaveLength(1);
  });

  it("when the leader's response cannot be stored, waiting requests go to the origin themselves", async () => {
    const release = gate();
    h = await startHarness(async (_req, res, n) => {
      await release.promise;
      res.writeHead(200, { "cache-control": "no-store" });
      res.end(`body ${n}`);
    });
    let arrived = 0;
    h.proxy.server.on("request", () => arrived++);
    const pending = Array.from({ length: 3 }, () => h!.get("/a"));
    await until(() => arrived === 3 && h!.origin.seen.length === 1);
    release.open();
    const bodies = (await Promise.all(pending.map(async (p) => read(await p)))).map((r) => r.body).sort();
    expect(bodies).toEqual(["body 1", "body 2", "body 3"]);
  });
});

describe("failures", () => {
  it("a client that disconnects mid-stream stores nothing and breaks nothing", async () => {
    const release = gate();
    h = await startHarness(async (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.write("first;");
      if (n === 1) await release.promise;
      res.end(`last ${n}`);
    });
    const controller = new AbortController();
    const response = await h.get("/a", { signal: controller.signal });
    const { text } = await firstChunk(response);
    expect(text).toBe("first;");
    controller.abort();
    release.open();
    // Either the complete first response was stored after all (HIT) or it was dropped (MISS);
    // never a truncated body.
    const next = await read(await h.get("/a"));
    expect([
      { status: 200, body: "first;last 1", xCache: "HIT" },
      { status: 200, body: "first;last 2", xCache: "MISS" },
    ]).toContainEqual(next);
  });

  it("fetch face: an origin that rejects is replaced by the stale response within stale-if-error", async () => {
    let n = 0;
    const clock = wholeSecondClock();
    const store = new MockCache<string, HttpCacheValue>({ clock });
    const cache = createHttpCache({ cache: store, clock, mode: "standards" });
    const handler = cache.fetch(async () => {
      n++;
      if (n > 1) throw new Error("origin down");
      return new Response("kept", { headers: { "cache-control": "max-age=10, stale-if-error=60" } });
    });
    await (await handler(new Request("http://app.example/a"))).text();
    clock.advance(20_000);
    const stale = await handler(new Request("http://app.example/a"));
    expect(stale.headers.get("x-cache")).toBe("STALE");
    expect(await stale.text()).toBe("kept");
    clock.advance(60_000);
    await expect(handler(new Request("http://app.example/a"))).rejects.toThrow("origin down");
  });

  it("only-if-cached with only a stale entry answers 504 without calling the origin", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=10" });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    h.clock.advance(20_000);
    expect((await h.get("/a", { headers: { "cache-control": "only-if-cached" } })).status).toBe(504);
    expect(h.origin.seen).toHaveLength(1);
  });
});
