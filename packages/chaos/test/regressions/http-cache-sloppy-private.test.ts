import { expect, it } from "@jest/globals";
import type { CacheEntry } from "@cachet/tier";
import { createHttpCache } from "@cachet/service";
import type { HttpCacheValue } from "@cachet/service";

// Regression test for a hardening gap found while fuzzing Cache-Control
// (test/http-cache-fuzz.test.ts checks the RFC reading). `parseCacheControl` used to skip
// everything after a directive's argument up to the next comma, so with a missing comma
// (`max-age=60; private`, `max-age=60 private`) `private` and `no-store` were ignored and a shared
// cache stored the response. These headers are invalid, but they are a common origin mistake and
// the response is plainly meant to be private; nginx, for one, looks for `private`/`no-store`/
// `no-cache` anywhere in the value, and so does @cachet/service now.
it.each(["max-age=60; private", "max-age=60 private", "max-age=60;no-store"])(
  "a shared cache does not store a response with Cache-Control %j",
  async (cacheControl) => {
    let stored = 0;
    const store = {
      get: () => Promise.resolve(undefined),
      insert: (_key: string, _entry: CacheEntry<HttpCacheValue>) => {
        stored++;
        return Promise.resolve();
      },
      invalidate: () => Promise.resolve(),
    };
    const handler = createHttpCache({ cache: store, mode: "standards" }).fetch(() =>
      Promise.resolve(new Response("per-user data", { headers: { "cache-control": cacheControl } })),
    );
    await (await handler(new Request("http://example.com/account"))).text();
    expect(stored).toBe(0);
  },
);
