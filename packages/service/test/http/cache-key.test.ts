import { defaultKeyOf, invalidationTargets, normalizeVaryValue } from "../../src/http/cache-key.js";

describe("normalizeVaryValue", () => {
  it.each([
    ["en-US", "en-us"],
    ["en, de", "en,de"],
    [" en ,  de ", "en,de"],
    ["EN, De", "en,de"],
    ["en;q=1, de", "en,de"],
    ["en;Q=1.000, de;q=0.50", "en,de;q=0.5"],
    ["en; q=0.8", "en;q=0.8"],
    ["en,, de", "en,de"],
    ["de, en", "de,en"], // order is kept: some origins read it as a priority (RFC 9110 §12.5.4)
    ["en;q=0", "en;q=0"], // q=0 is kept: dropping it changes what the origin may answer
    ["en;q=2", "en;q=2"], // an invalid weight is kept as written
    ["en;foo=bar", "en;foo=bar"],
  ])("Accept-Language %j → %j", (value, expected) => {
    expect(normalizeVaryValue("accept-language", value)).toBe(expected);
  });

  it("values that differ only in what the normalization removes select one variant", () => {
    const a = normalizeVaryValue("accept-language", "en-GB, fr;q=0.50");
    expect(normalizeVaryValue("accept-language", "EN-gb ,FR; q=0.5")).toBe(a);
    expect(normalizeVaryValue("accept-language", "fr;q=0.5, en-GB")).not.toBe(a);
  });

  it("Accept-Encoding is the sorted set of acceptable codings", () => {
    expect(normalizeVaryValue("accept-encoding", "br, gzip;q=0.8, identity;q=0")).toBe("br,gzip");
    expect(normalizeVaryValue("accept-encoding", "GZIP, br")).toBe("br,gzip");
  });

  it("an absent field differs from every value, the empty one included", () => {
    expect(normalizeVaryValue("accept-language", undefined)).not.toBe(
      normalizeVaryValue("accept-language", ""),
    );
    expect(normalizeVaryValue("x-custom", undefined)).not.toBe(normalizeVaryValue("x-custom", ""));
  });
});

describe("defaultKeyOf", () => {
  it("lower-cases scheme and host, drops the default port and the fragment, keeps path and query", () => {
    const key = (url: string) => defaultKeyOf({ method: "GET", url, header: () => undefined });
    expect(key("HTTP://Example.COM:80/A/../b?X=1#frag")).toBe("http://example.com/A/../b?X=1");
    expect(key("https://example.com:443")).toBe("https://example.com/");
    expect(key("https://example.com:8443/a")).toBe("https://example.com:8443/a");
  });
});

describe("invalidationTargets (RFC 9111 §4.4)", () => {
  it("is the request URL plus same-origin Location and Content-Location", () => {
    expect(
      invalidationTargets("http://app.example/items", [
        ["location", "/items/7"],
        ["content-location", "http://app.example/items?page=1"],
      ]),
    ).toEqual(["http://app.example/items", "http://app.example/items/7", "http://app.example/items?page=1"]);
  });

  it("ignores cross-origin and unparsable references", () => {
    expect(
      invalidationTargets("http://app.example/items", [
        ["location", "http://other.example/items"],
        ["content-location", "http://[::1"],
      ]),
    ).toEqual(["http://app.example/items"]);
  });
});
