import { read, startHarness, until } from "./fixtures.js";
import type { Harness, OriginHandler } from "./fixtures.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** An origin that answers every request with `headers` and a body naming the request number. */
function respond(headers: Record<string, string>, status = 200): OriginHandler {
  return (_req, res, n) => {
    res.writeHead(status, headers);
    res.end(`body ${n}`);
  };
}

describe("response directives (standards mode, shared)", () => {
  it("max-age: stores, serves a HIT with an accurate Age, then goes back to the origin once stale", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=60" }));
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 1", xCache: "MISS" });
    h.clock.advance(30_000);
    const hit = await h.get("/a");
    expect(hit.headers.get("age")).toBe("30");
    expect(await read(hit)).toEqual({ status: 200, body: "body 1", xCache: "HIT" });
    h.clock.advance(31_000);
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 2", xCache: "MISS" });
    expect(h.origin.seen).toHaveLength(2);
  });

  it("counts the origin's Age header into the response's age", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=60", age: "50" }));
    await (await h.get("/a")).text();
    h.clock.advance(5_000);
    const hit = await h.get("/a");
    expect(hit.headers.get("age")).toBe("55");
    await hit.text();
    h.clock.advance(6_000);
    expect((await read(await h.get("/a"))).xCache).toBe("MISS");
  });

  it("s-maxage overrides max-age in a shared cache but not in a private one", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=10, s-maxage=100" }));
    await (await h.get("/a")).text();
    h.clock.advance(50_000);
    expect((await read(await h.get("/a"))).xCache).toBe("HIT");
    await h.close();
    h = await startHarness(respond({ "cache-control": "max-age=10, s-maxage=100" }), { shared: false });
    await (await h.get("/a")).text();
    h.clock.advance(50_000);
    expect((await read(await h.get("/a"))).xCache).toBe("MISS");
  });

  it("Expires gives freshness relative to Date", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { expires: new Date(h!.clock.now() + 20_000).toUTCString() });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    h.clock.advance(19_000);
    expect((await read(await h.get("/a"))).body).toBe("body 1");
    h.clock.advance(2_000);
    expect((await read(await h.get("/a"))).body).toBe("body 2");
  });

  it.each([["no-store"], ["private"], ["max-age=0"], ["no-cache"]])(
    "does not reuse a response with `%s` and no validator",
    async (directive) => {
      h = await startHarness(respond({ "cache-control": `${directive}, s-maxage=0` }));
      await (await h.get("/a")).text();
      expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 2", xCache: "MISS" });
    },
  );

  it("a private cache stores `private` responses", async () => {
    h = await startHarness(respond({ "cache-control": "private, max-age=60" }), { shared: false });
    await (await h.get("/a")).text();
    expect((await read(await h.get("/a"))).xCache).toBe("HIT");
  });

  it("no-cache with a validator: stored, but revalidated before every reuse", async () => {
    h = await startHarness((req, res, n) => {
      if (req.headers["if-none-match"] === '"v1"') {
        res.writeHead(304, { etag: '"v1"', "cache-control": "no-cache" });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', "cache-control": "no-cache" });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 1", xCache: "REVALIDATED" });
    expect(h.origin.seen[1]!.headers["if-none-match"]).toBe('"v1"');
  });

  it("heuristic freshness: 10% of the time since Last-Modified, only with Last-Modified", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "last-modified": new Date(h!.clock.now() - 100_000).toUTCString() });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    h.clock.advance(9_000);
    expect((await read(await h.get("/a"))).xCache).toBe("HIT");
    h.clock.advance(2_000);
    expect((await read(await h.get("/a"))).xCache).not.toBe("HIT");
    await h.close();
    h = await startHarness(respond({}));
    await (await h.get("/a")).text();
    expect((await read(await h.get("/a"))).body).toBe("body 2");
  });

  it("heuristic freshness is not applied to a status that does not allow it", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(302, {
        location: "/b",
        "last-modified": new Date(h!.clock.now() - 100_000).toUTCString(),
      });
      res.end(`body ${n}`);
    });
    await (await h.get("/a", { redirect: "manual" })).text();
    expect((await read(await h.get("/a", { redirect: "manual" }))).body).toBe("body 2");
  });

  it("stale-while-revalidate: serves STALE at once and revalidates in the background, once", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=10, stale-while-revalidate=60" }));
    await (await h.get("/a")).text();
    h.clock.advance(20_000);
    const [a, b] = await Promise.all([h.get("/a"), h.get("/a")]);
    expect(await read(a)).toEqual({ status: 200, body: "body 1", xCache: "STALE" });
    expect(await read(b)).toEqual({ status: 200, body: "body 1", xCache: "STALE" });
    await until(
      () => h!.origin.seen.length === 2 && h!.store.calls.filter((c) => c.op === "insert").length === 2,
    );
    expect((await read(await h.get("/a"))).body).toBe("body 2");
    expect(h.origin.seen).toHaveLength(2);
  });

  it("stale-if-error: serves the stale response when the origin answers 5xx, not when must-revalidate", async () => {
    let failing = false;
    h = await startHarness((_req, res, n) => {
      res.writeHead(failing ? 503 : 200, { "cache-control": "max-age=10, stale-if-error=60" });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    failing = true;
    h.clock.advance(20_000);
    expect(await read(await h.get("/a"))).toEqual({ status: 200, body: "body 1", xCache: "STALE" });
    h.clock.advance(60_000);
    expect(await read(await h.get("/a"))).toEqual({ status: 503, body: "body 3", xCache: "MISS" });
  });

  it("must-revalidate: never serves stale, even within stale-if-error", async () => {
    let failing = false;
    h = await startHarness((_req, res, n) => {
      res.writeHead(failing ? 503 : 200, {
        "cache-control": "max-age=10, must-revalidate, stale-if-error=60",
      });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    failing = true;
    h.clock.advance(20_000);
    expect(await read(await h.get("/a"))).toEqual({ status: 503, body: "body 2", xCache: "MISS" });
  });

  it("never stores an error response without explicit freshness, and serves errors with their own status", async () => {
    h = await startHarness(respond({}, 500));
    expect((await read(await h.get("/a"))).status).toBe(500);
    expect(await read(await h.get("/a"))).toEqual({ status: 500, body: "body 2", xCache: "MISS" });
    await h.close();
    h = await startHarness(respond({ "cache-control": "max-age=60" }, 404));
    await (await h.get("/a")).text();
    expect(await read(await h.get("/a"))).toEqual({ status: 404, body: "body 1", xCache: "HIT" });
  });
});

describe("policy filters", () => {
  it("storeHeaders keeps only the allowlisted fields (plus the ones the cache needs)", async () => {
    h = await startHarness(
      respond({ "cache-control": "max-age=60", "content-type": "text/plain", "x-keep": "1", "x-drop": "2" }),
      { policy: { storeHeaders: ["x-keep"] } },
    );
    const miss = await h.get("/a");
    expect(miss.headers.get("x-drop")).toBe("2"); // the first client gets the origin's response as is
    await miss.text();
    const hit = await h.get("/a");
    expect([hit.headers.get("x-keep"), hit.headers.get("x-drop"), hit.headers.get("content-type")]).toEqual([
      "1",
      null,
      "text/plain",
    ]);
    expect((await read(hit)).xCache).toBe("HIT");
  });

  it("statuses limits what is stored, even with explicit freshness", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=60" }, 404), { policy: { statuses: [200] } });
    await (await h.get("/a")).text();
    expect(await read(await h.get("/a"))).toEqual({ status: 404, body: "body 2", xCache: "MISS" });
  });

  it("cacheStatusHeader renames or removes the x-cache header", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=60" }), {
      policy: { cacheStatusHeader: "cache-status" },
    });
    await (await h.get("/a")).text();
    const hit = await h.get("/a");
    expect([hit.headers.get("cache-status"), hit.headers.get("x-cache")]).toEqual(["HIT", null]);
    await hit.text();
  });
});

describe("request directives", () => {
  const fresh = { "cache-control": "max-age=600", etag: '"e1"' };

  it("standards mode: no-cache forces a revalidation, only-if-cached answers 504 on a miss", async () => {
    h = await startHarness((req, res, n) => {
      if (req.headers["if-none-match"] === '"e1"') {
        res.writeHead(304, fresh);
        res.end();
      } else {
        res.writeHead(200, fresh);
        res.end(`body ${n}`);
      }
    });
    expect((await h.get("/x", { headers: { "cache-control": "only-if-cached" } })).status).toBe(504);
    expect(h.origin.seen).toHaveLength(0);
    await (await h.get("/a")).text();
    expect((await read(await h.get("/a", { headers: { "cache-control": "no-cache" } }))).xCache).toBe(
      "REVALIDATED",
    );
    expect(h.origin.seen).toHaveLength(2);
  });

  it("standards mode: max-age, min-fresh and max-stale constrain what is reused", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=60" }));
    await (await h.get("/a")).text();
    h.clock.advance(30_000);
    expect((await read(await h.get("/a", { headers: { "cache-control": "max-age=40" } }))).xCache).toBe(
      "HIT",
    );
    expect((await read(await h.get("/a", { headers: { "cache-control": "min-fresh=40" } }))).xCache).toBe(
      "MISS",
    );
    h.clock.advance(70_000); // body 2 is now 10 s stale
    expect(await read(await h.get("/a", { headers: { "cache-control": "max-stale=20" } }))).toEqual({
      status: 200,
      body: "body 2",
      xCache: "STALE",
    });
  });

  it("server mode: clients cannot force a miss with no-cache, unless the policy lets them", async () => {
    h = await startHarness(respond({ "cache-control": "max-age=60" }), { mode: "server" });
    await (await h.get("/a")).text();
    expect((await read(await h.get("/a", { headers: { "cache-control": "no-cache" } }))).xCache).toBe("HIT");
    expect((await read(await h.get("/a", { headers: { "cache-control": "max-age=0" } }))).xCache).toBe("HIT");
    await h.close();
    h = await startHarness(respond({ "cache-control": "max-age=60" }), {
      mode: "server",
      policy: { requestDirectives: ["no-cache"] },
    });
    await (await h.get("/a")).text();
    expect((await read(await h.get("/a", { headers: { "cache-control": "no-cache" } }))).xCache).toBe("MISS");
  });

  it("server mode: the policy ttl replaces the origin's freshness and negativeTtl covers 404", async () => {
    h = await startHarness(
      (req, res, n) => {
        res.writeHead(req.url === "/missing" ? 404 : 200, { "cache-control": "max-age=5" });
        res.end(`body ${n}`);
      },
      {
        mode: "server",
        policy: { ttl: (req) => (req.url.endsWith("/long") ? 100_000 : undefined), negativeTtl: 30_000 },
      },
    );
    await (await h.get("/long")).text();
    await (await h.get("/short")).text();
    await (await h.get("/missing")).text();
    h.clock.advance(50_000);
    expect((await read(await h.get("/long"))).xCache).toBe("HIT");
    expect((await read(await h.get("/short"))).xCache).toBe("MISS");
    expect((await read(await h.get("/missing"))).xCache).toBe("MISS");
  });
});
