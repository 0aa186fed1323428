import { CacheError } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import { createHttpCache } from "../../src/http/http-cache.js";
import type { HttpCacheValue } from "../../src/http/stored-response.js";

const store = (): MockCache<string, HttpCacheValue> => new MockCache<string, HttpCacheValue>();

describe("createHttpCache option keys", () => {
  it.each([
    [{ policy: { tll: 1_000 } }, "unknown option `policy.tll`; did you mean `policy.ttl`?"],
    [
      { policy: { maxBodySise: 1 } },
      "unknown option `policy.maxBodySise`; did you mean `policy.maxBodySize`?",
    ],
    [
      { policy: { negativeTTL: 1 } },
      "unknown option `policy.negativeTTL`; did you mean `policy.negativeTtl`?",
    ],
    [{ shard: true }, "unknown option `shard`; did you mean `shared`?"],
    [{ onerror: () => undefined }, "unknown option `onerror`; did you mean `onError`?"],
  ])("refuses %j with INVALID_OPTION naming the key and the closest known one", (extra, message) => {
    let caught: unknown;
    try {
      createHttpCache({ cache: store(), ...extra } as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CacheError);
    expect(caught).toMatchObject({ code: "INVALID_OPTION", message });
  });

  it("refuses an unknown key even when its value is undefined", () => {
    expect(() => createHttpCache({ cache: store(), policy: { tll: undefined } } as never)).toThrow(
      "`policy.tll`",
    );
  });

  it("accepts every documented key", () => {
    expect(() =>
      createHttpCache({
        cache: store(),
        mode: "standards",
        shared: false,
        keyOf: (request) => request.url,
        onError: () => undefined,
        policy: {
          methods: ["GET"],
          statuses: [200],
          ttl: 1_000,
          negativeTtl: 0,
          requestDirectives: ["no-cache"],
          storeHeaders: ["x-a"],
          minBodySize: 0,
          maxBodySize: 10,
          compress: true,
          tagHeaders: ["cache-tag"],
          tagsOf: () => [],
          cacheStatusHeader: false,
          heuristicFraction: 0.1,
          heuristicMax: 1_000,
          keepStale: 0,
          stripRequestHeaders: [],
          surrogateName: "edge",
        },
      }),
    ).not.toThrow();
  });
});
