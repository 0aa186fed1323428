import { describe, expect, it } from "@jest/globals";
import type { CacheHandler as NextUseCacheHandler } from "next/cache.js";
import type { CacheHandlerContext } from "next/dist/server/lib/incremental-cache/index.js";
import type {
  GetIncrementalFetchCacheContext,
  GetIncrementalResponseCacheHandlerContext,
  IncrementalCacheValue,
  SetIncrementalFetchCacheContext,
  SetIncrementalResponseCacheHandlerContext,
} from "next/dist/server/response-cache/types.js";
import { createNextCache } from "../src/index.js";
import type {
  IncrementalCacheHandlerClass,
  IncrementalGetContext,
  IncrementalSetContext,
  IncrementalValue,
  UseCacheHandler,
} from "../src/index.js";

// Compile-time checks against the installed Next.js (run by `pnpm typecheck`): the "use cache"
// handler is a `CacheHandler` of `next/cache`, and what Next passes to the incremental cache
// handler fits its parameters. The runtime test keeps jest happy with a real assertion.
function typeChecks(handler: UseCacheHandler, Handler: IncrementalCacheHandlerClass): () => void {
  const asNext: NextUseCacheHandler = handler;
  void asNext;
  const context = {} as CacheHandlerContext;
  const instance = new Handler(context);
  const value = {} as IncrementalCacheValue;
  const stored: IncrementalValue = value;
  const fetchGet = {} as GetIncrementalFetchCacheContext;
  const responseGet = {} as GetIncrementalResponseCacheHandlerContext;
  const fetchSet = {} as SetIncrementalFetchCacheContext;
  const responseSet = {} as SetIncrementalResponseCacheHandlerContext;
  const getContexts: IncrementalGetContext[] = [fetchGet, responseGet];
  const setContexts: IncrementalSetContext[] = [fetchSet, responseSet];
  // Never called: these lines only have to compile (or, for the last, fail to).
  return () => {
    void instance.get("k", getContexts[0]!);
    void instance.set("k", stored, setContexts[0]!);
    // @ts-expect-error `revalidateTag` takes tags, not a number
    void instance.revalidateTag(1);
  };
}

describe("types", () => {
  it("exposes a class and a handler object of the shapes Next loads", async () => {
    const next = createNextCache({ buildId: false });
    typeChecks(next.useCacheHandler, next.CacheHandler);
    expect(typeof next.CacheHandler).toBe("function");
    expect(Object.keys(next.useCacheHandler).sort()).toEqual([
      "get",
      "getExpiration",
      "refreshTags",
      "set",
      "updateTags",
    ]);
    await next.close();
  });
});
