// Type-level tests, checked by `pnpm typecheck`: each `@ts-expect-error` line must fail to compile,
// and each `assertType<Equal<…>>` must hold. The functions below are compiled, never run.
import { CacheEntry } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import {
  ServiceTier,
  circuitBreaker,
  compose,
  concurrencyLimit,
  retry,
  tap,
  tierAsService,
  timeout,
} from "../src/index.js";
import type { CacheOperation, CacheResponse, CacheService, Layer, Service } from "../src/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

interface Get {
  op: "get";
  key: string;
}

export function middlewareKeepsTypes(
  svc: Service<Get, number>,
  toText: Layer<Service<Get, number>, Service<string, string>>,
  toFlag: Layer<Service<string, string>, Service<boolean, boolean>>,
): void {
  const _kept = compose(timeout(1), retry(), circuitBreaker(), concurrencyLimit(1), tap({}))(svc);
  assertType<Equal<typeof _kept, Service<Get, number>>>();

  const _converted = compose(timeout(1), toText)(svc);
  assertType<Equal<typeof _converted, Service<string, string>>>();

  const _twice = compose(toFlag, timeout(1), toText, retry())(svc);
  assertType<Equal<typeof _twice, Service<boolean, boolean>>>();

  const _none = compose()(svc);
  assertType<Equal<typeof _none, Service<Get, number>>>();

  const _typedTap = tap({ onRequest: (req: Get) => void req.key })(svc);
  assertType<Equal<typeof _typedTap, Service<Get, number>>>();

  // @ts-expect-error the innermost typed layer needs a Service<Get, number>
  compose(timeout(1), toText)({ call: (x: string) => Promise.resolve(x) });

  // @ts-expect-error toFlag needs a string service but toText is outside it
  compose(toText, toFlag)(svc);

  // @ts-expect-error a typed tap refuses a service with another request type
  tap({ onRequest: (req: Get) => void req.key })({ call: (x: number) => Promise.resolve(x) });
}

export function tierRoundTripKeepsTypes(): void {
  const service = tierAsService(new MockCache<string, { id: number }>());
  assertType<Equal<typeof service, CacheService<string, { id: number }>>>();
  assertType<
    Equal<typeof service, Service<CacheOperation<string, { id: number }>, CacheResponse<{ id: number }>>>
  >();
  const tier = new ServiceTier({ name: "l2", service: compose(retry(), timeout(10))(service) });
  assertType<Equal<typeof tier, ServiceTier<string, { id: number }>>>();

  // @ts-expect-error the value type is { id: number }
  void tier.insert("k", new CacheEntry("text"));
  // @ts-expect-error an insert operation needs an entry
  void service.call({ op: "insert", key: "k" });
}

describe("compose types", () => {
  it("a typed tap composed with middleware sees typed requests at run time", async () => {
    const keys: string[] = [];
    const svc: Service<Get, number> = { call: (req) => Promise.resolve(req.key.length) };
    const wrapped = compose(
      tap({ onRequest: (req: Get) => keys.push(req.key) }),
      timeout(1_000),
      concurrencyLimit(2),
    )(svc);
    await expect(wrapped.call({ op: "get", key: "abc" })).resolves.toBe(3);
    expect(keys).toEqual(["abc"]);
  });
});
