import { byteRange, isNotModified, mergeNotModified, weakEtagMatch } from "../../src/http/conditional.js";
import type { HttpRequestInfo } from "../../src/http/http-cache-options.js";
import { ALL_REQUEST_DIRECTIVES, NO_RULES, requestRules } from "../../src/http/request-directives.js";
import type { StoredResponse } from "../../src/http/stored-response.js";

const T = Date.UTC(2026, 11, 3, 12);
const request = (headers: Record<string, string>, method = "GET"): HttpRequestInfo => ({
  method,
  url: "http://app.example/a",
  header: (name) => headers[name],
});

describe("requestRules (RFC 9111 §5.2.1)", () => {
  const all = new Set(ALL_REQUEST_DIRECTIVES);

  it("reads every directive when all are allowed", () => {
    expect(
      requestRules("max-age=5, max-stale=7, min-fresh=3, only-if-cached, no-store, stale-if-error=9", all),
    ).toEqual({
      noCache: false,
      noStore: true,
      maxAge: 5_000,
      maxStale: 7_000,
      minFresh: 3_000,
      onlyIfCached: true,
      staleIfError: 9_000,
    });
  });

  it("max-age=0 forces a revalidation like no-cache; a bare max-stale accepts any staleness", () => {
    expect(requestRules("max-age=0", all).noCache).toBe(true);
    expect(requestRules("no-cache", all).noCache).toBe(true);
    expect(requestRules("max-stale", all).maxStale).toBe(Infinity);
  });

  it("ignores the directives the policy does not allow, and allocates nothing when none count", () => {
    expect(requestRules("no-cache, max-age=0", new Set())).toBe(NO_RULES);
    expect(requestRules(undefined, all)).toBe(NO_RULES);
    const onlyNoCache = requestRules("no-store, max-age=0, only-if-cached", new Set(["no-cache"] as const));
    expect(onlyNoCache).toMatchObject({
      noCache: false,
      noStore: false,
      maxAge: undefined,
      onlyIfCached: false,
    });
  });
});

describe("conditional requests (RFC 9110 §13, RFC 9111 §4.3.2)", () => {
  it("weak comparison ignores W/ on both sides and matches *", () => {
    expect(weakEtagMatch('W/"a"', '"a"')).toBe(true);
    expect(weakEtagMatch('"x", "a"', 'W/"a"')).toBe(true);
    expect(weakEtagMatch("*", '"a"')).toBe(true);
    expect(weakEtagMatch('"b"', '"a"')).toBe(false);
    expect(weakEtagMatch("*", "")).toBe(false);
  });

  it("If-None-Match takes precedence over If-Modified-Since", () => {
    const lm = new Date(T - 60_000).toUTCString();
    const ims = new Date(T).toUTCString();
    expect(
      isNotModified(request({ "if-none-match": '"b"', "if-modified-since": ims }), '"a"', lm, [], T),
    ).toBe(false);
    expect(isNotModified(request({ "if-modified-since": ims }), '"a"', lm, [], T)).toBe(true);
  });

  it("compares If-Modified-Since with Last-Modified, else Date, and ignores an invalid date", () => {
    const earlier = new Date(T - 60_000).toUTCString();
    const later = new Date(T + 60_000).toUTCString();
    expect(isNotModified(request({ "if-modified-since": earlier }), "", later, [], T)).toBe(false);
    expect(isNotModified(request({ "if-modified-since": later }), "", "", [["date", earlier]], T)).toBe(true);
    expect(isNotModified(request({ "if-modified-since": earlier }), "", "", [["date", later]], T)).toBe(
      false,
    );
    expect(
      isNotModified(request({ "if-modified-since": "Thu, 03 Dec 2026 12:00:00 UTC" }), "", earlier, [], T),
    ).toBe(false);
    expect(isNotModified(request({ "if-modified-since": later }, "POST"), "", earlier, [], T)).toBe(false);
  });

  it("a 304 updates the stored fields except the ones describing the stored body", () => {
    const merged = mergeNotModified(
      [
        ["content-type", "text/plain"],
        ["etag", '"a"'],
        ["content-length", "3"],
        ["x-old", "1"],
      ],
      [
        ["content-type", "text/html"],
        ["etag", '"b"'],
        ["content-length", "0"],
        ["x-new", "2"],
        ["connection", "close"],
      ],
      (name) => name !== "connection",
    );
    expect(merged).toEqual([
      ["etag", '"a"'],
      ["content-length", "3"],
      ["x-old", "1"],
      ["content-type", "text/html"],
      ["x-new", "2"],
    ]);
  });

  it("byteRange serves one satisfiable byte range of a stored 200, else the whole response", () => {
    const stored = { status: 200, bodyLength: 10, etag: '"a"', lastModified: "" } as StoredResponse;
    expect(byteRange(request({ range: "bytes=2-4" }), stored)).toEqual([2, 5]);
    expect(byteRange(request({ range: "bytes=-3" }), stored)).toEqual([7, 10]);
    expect(byteRange(request({ range: "bytes=8-" }), stored)).toEqual([8, 10]);
    expect(byteRange(request({ range: "bytes=8-99" }), stored)).toEqual([8, 10]);
    expect(byteRange(request({ range: "bytes=0-1,3-4" }), stored)).toBeUndefined();
    expect(byteRange(request({ range: "bytes=10-12" }), stored)).toBeUndefined();
    expect(byteRange(request({ range: "items=0-1" }), stored)).toBeUndefined();
    expect(byteRange(request({ range: "bytes=0-1", "if-range": '"a"' }), stored)).toEqual([0, 2]);
    expect(byteRange(request({ range: "bytes=0-1", "if-range": '"b"' }), stored)).toBeUndefined();
    expect(byteRange(request({ range: "bytes=0-1" }, "HEAD"), stored)).toBeUndefined();
  });
});
