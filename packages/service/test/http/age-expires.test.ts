import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import { createHttpCache } from "../../src/http/http-cache.js";
import type { HttpCacheValue } from "../../src/http/stored-response.js";

const T = Date.UTC(2026, 11, 3, 12);

/** A standards-mode cache over a fetch handler that answers with `headers` and counts its calls. */
function setup(headers: (n: number) => Record<string, string>, status = (_n: number) => 200) {
  const clock = new ManualClock(T);
  let n = 0;
  const cache = createHttpCache({
    cache: new MockCache<string, HttpCacheValue>({ clock }),
    clock,
    mode: "standards",
  });
  const handler = cache.fetch(async () => {
    n++;
    return new Response(`body ${n}`, {
      status: status(n),
      headers: { date: new Date(clock.now()).toUTCString(), ...headers(n) },
    });
  });
  const get = async () => {
    const response = await handler(new Request("http://app.example/a"));
    return { status: response.status, body: await response.text(), xCache: response.headers.get("x-cache") };
  };
  return { clock, get };
}

describe("Age through the cache (RFC 9111 §5.1)", () => {
  it.each([["abc"], ["-7200"], ["7200.0"], ["7200;foo=bar"], ["0, 7200"], ["0,7200"]])(
    "a response with Age %j is stored and served while fresh",
    async (age) => {
      const { clock, get } = setup(() => ({ "cache-control": "max-age=3600", age }));
      await get();
      clock.advance(1_000);
      expect(await get()).toEqual({ status: 200, body: "body 1", xCache: "HIT" });
    },
  );

  it.each([["7200"], ["7200, 0"], ["3600"]])(
    "Age %j makes a max-age=3600 response stale at once",
    async (age) => {
      const { get } = setup(() => ({ "cache-control": "max-age=3600", age }));
      await get();
      expect((await get()).body).toBe("body 2");
    },
  );
});

describe("Expires through the cache (RFC 9111 §5.3, RFC 9110 §5.6.7)", () => {
  const future = "Thu, 18 Aug 2050 02:01:18";

  it.each([[`${future} GMT`], ["Thursday, 18-Aug-50 02:01:18 GMT"], ["Thu Aug 18 02:01:18 2050"]])(
    "a valid Expires %j makes the response fresh",
    async (expires) => {
      const { get } = setup(() => ({ expires }));
      await get();
      expect((await get()).xCache).toBe("HIT");
    },
  );

  it.each([
    [`${future} UTC`],
    ["Thu 18 Aug 2050 02:01:18 GMT"],
    ["Thu, 18-Aug-2050 02:01:18 GMT"],
    ["Thu, 18 Aug 2050 2:01:18 GMT"],
    ["Thu, 18  Aug  2050 02:01:18 GMT"],
    ["0"],
  ])("an invalid Expires %j means already expired: never served from the cache", async (expires) => {
    const { get } = setup(() => ({ expires }));
    await get();
    expect(await get()).toEqual({ status: 200, body: "body 2", xCache: "MISS" });
  });
});

describe("stale-if-error (RFC 5861 §4)", () => {
  it.each([[500], [502], [503], [504]])(
    "serves the stale response instead of a %d within the window",
    async (code) => {
      const { clock, get } = setup(
        () => ({ "cache-control": "max-age=10, stale-if-error=60" }),
        (n) => (n === 1 ? 200 : code),
      );
      await get();
      clock.advance(20_000);
      expect(await get()).toEqual({ status: 200, body: "body 1", xCache: "STALE" });
    },
  );

  it.each([[501], [505]])("passes a %d through: it is not a transient error", async (code) => {
    const { clock, get } = setup(
      () => ({ "cache-control": "max-age=10, stale-if-error=60" }),
      (n) => (n === 1 ? 200 : code),
    );
    await get();
    clock.advance(20_000);
    expect(await get()).toMatchObject({ status: code, body: "body 2" });
  });

  it("passes the error through once the window has passed", async () => {
    const { clock, get } = setup(
      () => ({ "cache-control": "max-age=10, stale-if-error=60" }),
      (n) => (n === 1 ? 200 : 503),
    );
    await get();
    clock.advance(80_000);
    expect(await get()).toMatchObject({ status: 503, body: "body 2" });
  });
});

describe("Date on a stored response (RFC 9110 §6.6.1)", () => {
  it("a response without Date is stored with the time it was received, and a hit carries that Date", async () => {
    const clock = new ManualClock(T);
    const store = new MockCache<string, HttpCacheValue>({ clock });
    const cache = createHttpCache({ cache: store, clock, mode: "standards" });
    const handler = cache.fetch(
      async () => new Response("body", { headers: { "cache-control": "max-age=3600" } }),
    );
    const first = await handler(new Request("http://app.example/a"));
    await first.text();
    clock.advance(5_000);
    const hit = await handler(new Request("http://app.example/a"));
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("date")).toBe(new Date(T).toUTCString());
    expect(hit.headers.get("age")).toBe("5");
  });

  it("an origin's own Date is kept as it is, not replaced", async () => {
    const clock = new ManualClock(T);
    const cache = createHttpCache({
      cache: new MockCache<string, HttpCacheValue>({ clock }),
      clock,
      mode: "standards",
    });
    const date = new Date(T - 2_000).toUTCString();
    const handler = cache.fetch(
      async () => new Response("body", { headers: { "cache-control": "max-age=3600", date } }),
    );
    await (await handler(new Request("http://app.example/a"))).text();
    clock.advance(7_000);
    const hit = await handler(new Request("http://app.example/a"));
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("date")).toBe(date);
    expect(hit.headers.get("age")).toBe("9"); // 2 s old on arrival (apparent age), then 7 s stored
  });

  it("through node:http: the hit's Date is the stored one, not the one node stamps per answer", async () => {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const cache = createHttpCache({
      cache: new MockCache<string, HttpCacheValue>({ clock }),
      clock,
      mode: "standards",
    });
    const middleware = cache.middleware();
    const server = createServer((req, res) =>
      middleware(req, res, () => {
        res.setHeader("cache-control", "max-age=3600");
        res.end("body");
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a`;
      const miss = await fetch(url);
      await miss.text();
      expect(miss.headers.get("x-cache")).toBe("MISS");
      clock.advance(3_000);
      let hit = await fetch(url);
      // The store write may end after the client has the whole miss: poll (bounded) for the hit.
      for (let i = 0; hit.headers.get("x-cache") !== "HIT" && i < 100; i++) {
        await hit.text();
        await new Promise((resolve) => setTimeout(resolve, 10));
        hit = await fetch(url);
      }
      await hit.text();
      expect(hit.headers.get("x-cache")).toBe("HIT");
      // One Date field, the stored one (a minute in the past by the cache's clock), not node's now.
      expect(hit.headers.get("date")).toBe(new Date(clock.now() - 3_000).toUTCString());
      expect(hit.headers.get("age")).toBe("3");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
