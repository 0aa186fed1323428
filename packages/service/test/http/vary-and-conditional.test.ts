import { gzipSync } from "node:zlib";
import { read, startHarness } from "./fixtures.js";
import type { Harness } from "./fixtures.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("Vary", () => {
  it("keeps one variant per value of the varied request fields", async () => {
    h = await startHarness((req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", vary: "Accept-Language" });
      res.end(`${req.headers["accept-language"] ?? "none"} ${n}`);
    });
    const get = (lang: string) => h!.get("/a", { headers: { "accept-language": lang } });
    expect((await read(await get("en"))).body).toBe("en 1");
    expect((await read(await get("de"))).body).toBe("de 2");
    expect((await read(await get("fr, en"))).body).toBe("fr, en 3");
    expect(await read(await get("en"))).toEqual({ status: 200, body: "en 1", xCache: "HIT" });
    expect(await read(await get("DE"))).toEqual({ status: 200, body: "de 2", xCache: "HIT" });
    expect(await read(await get("fr,en"))).toEqual({ status: 200, body: "fr, en 3", xCache: "HIT" });
    expect(h.origin.seen).toHaveLength(3);
  });

  it("never stores `Vary: *`", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", vary: "*" });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    expect((await read(await h.get("/a"))).body).toBe("body 2");
  });

  it("adds Accept-Encoding to the variant key when the origin compresses without saying so", async () => {
    h = await startHarness((req, res, n) => {
      if (String(req.headers["accept-encoding"] ?? "").includes("gzip")) {
        res.writeHead(200, { "cache-control": "max-age=60", "content-encoding": "gzip" });
        res.end(gzipSync(`zipped ${n}`));
      } else {
        res.writeHead(200, { "cache-control": "max-age=60" });
        res.end(`plain ${n}`);
      }
    });
    // fetch always sends Accept-Encoding: gzip, deflate, br, zstd and decodes the body
    expect((await read(await h.get("/a"))).body).toBe("zipped 1");
    expect((await read(await h.get("/a", { headers: { "accept-encoding": "identity" } }))).body).toBe(
      "plain 2",
    );
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "zipped 1", xCache: "HIT" });
    expect(await read(await h.get("/a", { headers: { "accept-encoding": "identity" } }))).toEqual({
      status: 200,
      body: "plain 2",
      xCache: "HIT",
    });
  });
});

describe("conditional requests", () => {
  const lastModified = "Wed, 01 Jan 2020 00:00:00 GMT";

  // fetch() adds `Cache-Control: no-cache` to conditional requests (Fetch spec), which a standards
  // mode cache must honour with a revalidation; server mode ignores it.
  it("answers the client's If-None-Match and If-Modified-Since with 304 from the cache", async () => {
    h = await startHarness(
      (_req, res, n) => {
        res.writeHead(200, { "cache-control": "max-age=60", etag: '"v1"', "last-modified": lastModified });
        res.end(`body ${n}`);
      },
      { mode: "server" },
    );
    await (await h.get("/a")).text();
    const inm = await h.get("/a", { headers: { "if-none-match": 'W/"v1", "other"' } });
    expect(inm.status).toBe(304);
    expect(inm.headers.get("etag")).toBe('"v1"');
    expect(inm.headers.get("x-cache")).toBe("HIT");
    const ims = await h.get("/a", { headers: { "if-modified-since": "Thu, 02 Jan 2020 00:00:00 GMT" } });
    expect(ims.status).toBe(304);
    const older = await h.get("/a", { headers: { "if-modified-since": "Tue, 31 Dec 2019 00:00:00 GMT" } });
    expect(await read(older)).toEqual({ status: 200, body: "body 1", xCache: "HIT" });
    const mismatch = await h.get("/a", { headers: { "if-none-match": '"v0"' } });
    expect(mismatch.status).toBe(200);
    await mismatch.text();
    expect(h.origin.seen).toHaveLength(1);
  });

  it("answers a conditional request on a miss with 304 while storing the full response", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", etag: '"v1"' });
      res.end(`body ${n}`);
    });
    const first = await h.get("/a", { headers: { "if-none-match": '"v1"' } });
    expect(first.status).toBe(304);
    expect(h.origin.seen[0]!.headers["if-none-match"]).toBeUndefined();
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 1", xCache: "HIT" });
  });

  it("revalidates a stale entry with its validators and refreshes it on 304", async () => {
    h = await startHarness((req, res, n) => {
      if (req.headers["if-none-match"] === '"v1"' && req.headers["if-modified-since"] === lastModified) {
        res.writeHead(304, { "cache-control": "max-age=60", "x-version": `${n}` });
        res.end();
        return;
      }
      res.writeHead(200, {
        "cache-control": "max-age=60",
        etag: '"v1"',
        "last-modified": lastModified,
        "x-version": `${n}`,
      });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    h.clock.advance(61_000);
    const revalidated = await h.get("/a");
    expect(revalidated.headers.get("x-version")).toBe("2");
    expect(revalidated.headers.get("age")).toBe("0");
    expect(await read(revalidated)).toEqual({ status: 200, body: "body 1", xCache: "REVALIDATED" });
    h.clock.advance(30_000);
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 1", xCache: "HIT" });
    expect(h.origin.seen).toHaveLength(2);
  });

  it("replaces the entry when revalidation returns a new 200", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", etag: `"v${n}"` });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    h.clock.advance(61_000);
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 2", xCache: "MISS" });
    expect(h.origin.seen[1]!.headers["if-none-match"]).toBe('"v1"');
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 2", xCache: "HIT" });
  });
});

describe("methods", () => {
  it("answers HEAD from the stored GET response, without a body", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", "content-type": "text/plain" });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    const head = await h.get("/a", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-cache")).toBe("HIT");
    expect(head.headers.get("content-length")).toBe("6");
    expect(await head.text()).toBe("");
    expect(h.origin.seen).toHaveLength(1);
  });

  it("a HEAD miss goes to the origin as HEAD and stores nothing", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`body ${n}`);
    });
    expect((await h.get("/a", { method: "HEAD" })).status).toBe(200);
    expect(h.origin.seen[0]!.method).toBe("HEAD");
    expect((await read(await h.get("/a"))).xCache).toBe("MISS");
  });

  it("a successful unsafe method invalidates the URL, Location and Content-Location", async () => {
    h = await startHarness((req, res, n) => {
      if (req.method === "POST") {
        req.resume();
        res.writeHead(201, { location: "/b", "content-location": "c" });
        res.end("created");
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=600" });
      res.end(`body ${n}`);
    });
    for (const path of ["/a", "/b", "/c", "/d"]) await (await h.get(path)).text();
    const post = await h.get("/a", { method: "POST", body: "x" });
    expect(post.headers.get("x-cache")).toBe("BYPASS");
    await post.text();
    expect((await read(await h.get("/a"))).xCache).toBe("MISS");
    expect((await read(await h.get("/b"))).xCache).toBe("MISS");
    expect((await read(await h.get("/c"))).xCache).toBe("MISS");
    expect((await read(await h.get("/d"))).xCache).toBe("HIT");
  });

  it("a failed unsafe method invalidates nothing", async () => {
    h = await startHarness((req, res, n) => {
      if (req.method === "DELETE") {
        res.writeHead(500);
        res.end("nope");
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=600" });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    await (await h.get("/a", { method: "DELETE" })).text();
    expect((await read(await h.get("/a"))).xCache).toBe("HIT");
  });
});

describe("byte ranges", () => {
  it("answers a single Range from the stored complete response with 206", async () => {
    // server mode: fetch() marks requests with If-Range as `no-cache`
    h = await startHarness(
      (_req, res) => {
        res.writeHead(200, { "cache-control": "max-age=60", etag: '"r1"' });
        res.end("0123456789");
      },
      { mode: "server" },
    );
    await (await h.get("/a")).text();
    const part = await h.get("/a", { headers: { range: "bytes=2-4" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-4/10");
    expect(await part.text()).toBe("234");
    const suffix = await h.get("/a", { headers: { range: "bytes=-3" } });
    expect(await suffix.text()).toBe("789");
    const open = await h.get("/a", { headers: { range: "bytes=7-" } });
    expect(await open.text()).toBe("789");
    // several ranges, a stale If-Range or an unsatisfiable range: the whole response
    for (const headers of [
      { range: "bytes=0-1,4-5" },
      { range: "bytes=2-4", "if-range": '"old"' },
      { range: "bytes=20-" },
    ]) {
      const full = await h.get("/a", { headers });
      expect(full.status).toBe(200);
      expect(await full.text()).toBe("0123456789");
    }
    expect(h.origin.seen).toHaveLength(1);
  });
});
