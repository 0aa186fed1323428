import { ManualClock } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import { createHttpCache } from "../../src/http/http-cache.js";
import { analyzeResponse } from "../../src/http/response-meta.js";
import type { MetaPolicy } from "../../src/http/response-meta.js";
import type { HttpCacheValue } from "../../src/http/stored-response.js";
import { targetedControl } from "../../src/http/targeted-control.js";

const CDN = ["cdn-cache-control"];

describe("targetedControl (RFC 9213 §2, RFC 8941 dictionaries)", () => {
  it.each([
    ["max-age=600", [["max-age", "600"]]],
    [
      "max-age=600, must-revalidate",
      [
        ["max-age", "600"],
        ["must-revalidate", true],
      ],
    ],
    ["no-store", [["no-store", true]]],
    [
      "private, no-cache",
      [
        ["private", true],
        ["no-cache", true],
      ],
    ],
    [
      "max-age=60;foo=bar, public",
      [
        ["max-age", "60"],
        ["public", true],
      ],
    ], // parameters ignored
    ["max-age=60, max-age=90", [["max-age", "90"]]], // a repeated key: the last wins (RFC 8941 §4.2.2)
    ["public, private=?0", [["public", true]]], // ?0 is no directive
    ['no-cache=("set-cookie")', [["no-cache", true]]], // a field list counts as the whole directive
    [
      'x-ext="hello", y-tok=abc',
      [
        ["x-ext", "hello"],
        ["y-tok", "abc"],
      ],
    ],
    ["  max-age=60  ", [["max-age", "60"]]], // surrounding spaces are allowed by the parser
  ])("reads %j", (value, expected) => {
    expect([...(targetedControl([["cdn-cache-control", value]], CDN) ?? [])]).toEqual(expected);
  });

  it.each([["max-age=1.5"], ["max-age=-1"], ['max-age="60"'], ["max-age=abc"]])(
    "keeps a delta-seconds directive with a non-Integer value %j as present but invalid",
    (value) => {
      const cc = targetedControl([["cdn-cache-control", value]], CDN);
      expect(cc?.has("max-age")).toBe(true);
      expect(cc?.get("max-age")).toBe("invalid");
    },
  );

  it.each([
    ["Max-Age=60", "an upper-case key"],
    ["max-age=60,", "a trailing comma"],
    ["max-age=60 no-store", "a missing comma"],
    ["", "an empty value"],
    ["max-age==60", "a doubled equals sign"],
    ['max-age="60', "an unterminated string"],
  ])("ignores an invalid or empty field %j (%s)", (value) => {
    expect(targetedControl([["cdn-cache-control", value]], CDN)).toBeUndefined();
  });

  it("fails closed on a restricting directive written as a parameter (`max-age=60; private`)", () => {
    const cc = targetedControl([["cdn-cache-control", "max-age=60; private, public;no-store"]], CDN);
    expect([...(cc ?? [])]).toEqual([
      ["private", true],
      ["max-age", "60"],
      ["no-store", true],
      ["public", true],
    ]);
  });

  it("combines several lines of one field as one dictionary", () => {
    const cc = targetedControl(
      [
        ["cdn-cache-control", "max-age=60"],
        ["cdn-cache-control", "must-revalidate"],
      ],
      CDN,
    );
    expect([...(cc ?? [])]).toEqual([
      ["max-age", "60"],
      ["must-revalidate", true],
    ]);
  });

  it("uses the first valid field of the target list, skipping absent and invalid ones", () => {
    const targets = ["edge-cache-control", "cdn-cache-control"];
    const headers: [string, string][] = [
      ["cdn-cache-control", "max-age=10"],
      ["edge-cache-control", "max-age=20"],
    ];
    expect(targetedControl(headers, targets)?.get("max-age")).toBe("20");
    expect(targetedControl([["edge-cache-control", "Bad"], headers[0]!], targets)?.get("max-age")).toBe("10");
    expect(targetedControl([headers[0]!], targets)?.get("max-age")).toBe("10");
  });

  it("ignores fields that are not on the target list", () => {
    expect(targetedControl([["other-cache-control", "max-age=60"]], CDN)).toBeUndefined();
    expect(targetedControl([["cdn-cache-control", "max-age=60"]], [])).toBeUndefined();
  });
});

describe("analyzeResponse with a targeted field", () => {
  const T = Date.UTC(2026, 11, 3, 12);
  const policy: MetaPolicy = {
    isShared: true,
    isServerMode: false,
    statuses: undefined,
    negativeTtl: 0,
    heuristicFraction: 0.1,
    heuristicMax: 86_400_000,
    surrogateName: undefined,
    targets: CDN,
  };
  const analyze = (headers: [string, string][], targets = CDN) =>
    analyzeResponse(
      {
        status: 200,
        headers,
        hasAuthorization: false,
        policyTtl: undefined,
        timing: { date: new Date(T).toUTCString(), age: undefined, requestAt: T, responseAt: T },
      },
      { ...policy, targets },
    );

  it("replaces Cache-Control for freshness (RFC 9213 §3 example: 60 s downstream, 600 s here)", () => {
    const meta = analyze([
      ["cache-control", "max-age=60"],
      ["cdn-cache-control", "max-age=600"],
    ]);
    expect(meta.freshFor).toBe(600_000);
    expect(meta.isStorable).toBe(true);
  });

  it("lets this cache store what Cache-Control forbids for the others, and the reverse", () => {
    const stores = analyze([
      ["cache-control", "no-store"],
      ["cdn-cache-control", "max-age=600"],
    ]);
    expect(stores.isStorable).toBe(true);
    const refuses = analyze([
      ["cache-control", "max-age=600"],
      ["cdn-cache-control", "no-store"],
    ]);
    expect(refuses.isStorable).toBe(false);
    expect(
      analyze([
        ["cache-control", "max-age=600"],
        ["cdn-cache-control", "private"],
      ]).isStorable,
    ).toBe(false);
  });

  it("replaces Expires too: a targeted field without max-age leaves no explicit freshness", () => {
    const meta = analyze([
      ["expires", new Date(T + 3_600_000).toUTCString()],
      ["cdn-cache-control", "must-revalidate"],
      ["etag", '"a"'],
    ]);
    expect(meta.freshFor).toBe(0);
    expect(meta.isMustRevalidate).toBe(true);
    expect(meta.isStorable).toBe(true); // kept for revalidation: it has a validator
  });

  it("carries no-cache, must-revalidate, s-maxage and the stale windows from the targeted field", () => {
    const meta = analyze([
      ["cache-control", "max-age=5"],
      ["cdn-cache-control", "s-maxage=100, max-age=50, no-cache, stale-while-revalidate=7, stale-if-error=9"],
      ["etag", '"a"'],
    ]);
    expect(meta.freshFor).toBe(100_000);
    expect(meta.isNoCache).toBe(true);
    expect(meta.isMustRevalidate).toBe(true); // s-maxage implies proxy-revalidate
    expect(meta.staleWhileRevalidate).toBe(7_000);
    expect(meta.staleIfError).toBe(9_000);
  });

  it("an invalid targeted field is ignored and Cache-Control applies", () => {
    const meta = analyze([
      ["cache-control", "max-age=60"],
      ["cdn-cache-control", "max-age=600,"],
    ]);
    expect(meta.freshFor).toBe(60_000);
  });

  it("an invalid max-age inside a valid targeted field makes the response stale", () => {
    expect(
      analyze([
        ["cache-control", "max-age=60"],
        ["cdn-cache-control", "max-age=1.5"],
      ]).freshFor,
    ).toBe(0);
  });

  it("with no targets the field changes nothing", () => {
    expect(
      analyze(
        [
          ["cache-control", "max-age=60"],
          ["cdn-cache-control", "max-age=600"],
        ],
        [],
      ).freshFor,
    ).toBe(60_000);
  });
});

describe("CDN-Cache-Control through the cache", () => {
  const T = Date.UTC(2026, 11, 3, 12);

  it("a shared cache obeys it by default and forwards it unchanged; a private cache ignores it", async () => {
    for (const shared of [true, false]) {
      const clock = new ManualClock(T);
      let n = 0;
      const cache = createHttpCache({
        cache: new MockCache<string, HttpCacheValue>({ clock }),
        clock,
        mode: "standards",
        shared,
      });
      const handler = cache.fetch(
        async () =>
          new Response(`body ${++n}`, {
            headers: { "cache-control": "max-age=10", "cdn-cache-control": "max-age=600" },
          }),
      );
      const first = await handler(new Request("http://app.example/a"));
      expect(first.headers.get("cdn-cache-control")).toBe("max-age=600");
      await first.text();
      clock.advance(60_000);
      const later = await handler(new Request("http://app.example/a"));
      expect(later.headers.get("cdn-cache-control")).toBe("max-age=600");
      expect(later.headers.get("cache-control")).toBe("max-age=10");
      expect(await later.text()).toBe(shared ? "body 1" : "body 2");
      expect(later.headers.get("x-cache")).toBe(shared ? "HIT" : "MISS");
    }
  });

  it("the targets option names the fields this cache obeys, most specific first", async () => {
    const clock = new ManualClock(T);
    let n = 0;
    const cache = createHttpCache({
      cache: new MockCache<string, HttpCacheValue>({ clock }),
      clock,
      mode: "standards",
      policy: { targets: ["acme-cache-control", "cdn-cache-control"] },
    });
    const handler = cache.fetch(
      async () =>
        new Response(`body ${++n}`, {
          headers: { "acme-cache-control": "no-store", "cdn-cache-control": "max-age=600" },
        }),
    );
    await (await handler(new Request("http://app.example/a"))).text();
    expect(await (await handler(new Request("http://app.example/a"))).text()).toBe("body 2");
  });

  it.each([[["bad name"]], ["cdn-cache-control"], [[""]]])(
    "refuses targets %j at construction",
    (targets) => {
      expect(() =>
        createHttpCache({ cache: new MockCache<string, HttpCacheValue>(), policy: { targets } as never }),
      ).toThrow("`policy.targets`");
    },
  );
});
