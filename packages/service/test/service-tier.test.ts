import { CacheEntry, CacheError, ManualClock, isCacheError } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import { ServiceTier, tierAsService } from "../src/index.js";
import type { CacheResponse, CacheService, ServiceTierOptions } from "../src/index.js";
import { ScriptedService, rejectionOf } from "./fixtures/scripted-service.js";
import type { CacheOperation } from "../src/index.js";

describe("ServiceTier", () => {
  it("answers size() from the service, and rejects with TIER_FAILURE when the storage cannot count", async () => {
    const clock = new ManualClock();
    const mock = new MockCache<string, string>({ clock });
    const counting = new ServiceTier({ name: "counting", service: tierAsService(mock) });
    await counting.insert("a", new CacheEntry("1"));
    expect(await counting.size()).toBe(1);
    const blind = new ServiceTier<string, string>({
      name: "blind",
      service: tierAsService({
        name: "x",
        get: mock.get.bind(mock),
        insert: mock.insert.bind(mock),
        invalidate: mock.invalidate.bind(mock),
        clear: mock.clear.bind(mock),
      }),
    });
    await expect(blind.size()).rejects.toMatchObject({ code: "TIER_FAILURE", tier: "blind" });
  });

  it("forwards every method to the service as an operation", async () => {
    const clock = new ManualClock();
    const mock = new MockCache<string, number>({ clock });
    const seen: string[] = [];
    const inner = tierAsService(mock);
    const service: CacheService<string, number> = {
      call: (op) => {
        seen.push(op.op);
        return inner.call(op);
      },
    };
    const tier = new ServiceTier({ name: "svc", service });
    expect(tier.name).toBe("svc");
    await tier.insert("a", new CacheEntry(1));
    await expect(tier.get("a")).resolves.toMatchObject({ value: 1 });
    await tier.insertMany([["b", new CacheEntry(2)]]);
    await expect(tier.getMany(["a", "b", "c"])).resolves.toEqual([
      expect.objectContaining({ value: 1 }),
      expect.objectContaining({ value: 2 }),
      undefined,
    ]);
    await tier.invalidate("a");
    await tier.invalidateMany(["b"]);
    await tier.clear();
    expect(seen).toEqual(["insert", "get", "insertMany", "getMany", "invalidate", "invalidateMany", "clear"]);
  });

  it("wraps a non-CacheError rejection as TIER_FAILURE with the tier name and cause", async () => {
    const cause = new Error("ECONNRESET");
    const tier = new ServiceTier<string, number>({
      name: "svc",
      service: { call: () => Promise.reject(cause) },
    });
    await expect(tier.get("a")).rejects.toMatchObject({ code: "TIER_FAILURE", tier: "svc", cause });
  });

  it("turns a synchronous throw of the service into a rejection", async () => {
    const tier = new ServiceTier<string, number>({
      name: "svc",
      service: {
        call: () => {
          throw new Error("sync");
        },
      },
    });
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = tier.get("a");
    }).not.toThrow();
    await expect(result).rejects.toMatchObject({ code: "TIER_FAILURE" });
  });

  it("passes a CacheError through unchanged", async () => {
    const failure = new CacheError("TIMEOUT", "slow");
    const tier = new ServiceTier<string, number>({
      name: "svc",
      service: { call: () => Promise.reject(failure) },
    });
    await expect(tier.insert("a", new CacheEntry(1))).rejects.toBe(failure);
  });

  it("rejects an answer for another operation with TIER_FAILURE", async () => {
    const service = new ScriptedService<CacheOperation<string, number>, CacheResponse<number>>();
    const tier = new ServiceTier({ name: "svc", service });
    const got = tier.get("a");
    service.at(0).resolve({ op: "clear" });
    const wrongOp = await rejectionOf(got);
    expect(wrongOp.code).toBe("TIER_FAILURE");
    expect(wrongOp.message).toContain("`get`");
    const many = tier.getMany(["a", "b"]);
    await Promise.resolve();
    service.at(1).resolve({ op: "getMany", entries: [undefined] });
    const wrongLength = await rejectionOf(many);
    expect(wrongLength.code).toBe("TIER_FAILURE");
    expect(wrongLength.message).toContain("2 keys");
    const nothing = tier.clear();
    await Promise.resolve();
    service.at(2).resolve(undefined as unknown as CacheResponse<number>);
    await expect(nothing).rejects.toMatchObject({ code: "TIER_FAILURE" });
  });

  it("after close rejects every call with CLOSED, runs the close option once, and is idempotent", async () => {
    const mock = new MockCache<string, number>();
    let closes = 0;
    const tier = new ServiceTier({
      name: "svc",
      service: tierAsService(mock),
      close: async () => {
        closes++;
        await mock.close();
      },
    });
    await tier.insert("a", new CacheEntry(1));
    expect(tier.isClosed).toBe(false);
    await Promise.all([tier.close(), tier.close()]);
    await tier.close();
    expect(closes).toBe(1);
    expect(tier.isClosed).toBe(true);
    expect(mock.isClosed).toBe(true);
    const callsBefore = mock.calls.length;
    await expect(tier.get("a")).rejects.toMatchObject({ code: "CLOSED", tier: "svc" });
    await expect(tier.insert("a", new CacheEntry(2))).rejects.toMatchObject({ code: "CLOSED" });
    await expect(tier.getMany(["a"])).rejects.toMatchObject({ code: "CLOSED" });
    await expect(tier.clear()).rejects.toMatchObject({ code: "CLOSED" });
    expect(mock.calls).toHaveLength(callsBefore);
  });

  it("reports a failing close option as a CacheError", async () => {
    const tier = new ServiceTier<string, number>({
      name: "svc",
      service: tierAsService(new MockCache()),
      close: () => Promise.reject(new Error("quit failed")),
    });
    await expect(tier.close()).rejects.toMatchObject({ code: "TIER_FAILURE", tier: "svc" });
  });

  it.each<[string, unknown, string]>([
    ["no options", undefined, "`options`"],
    ["an empty name", { name: "", service: { call: () => Promise.resolve({ op: "clear" }) } }, "`name`"],
    ["a service without call", { name: "x", service: {} }, "`service`"],
    [
      "a close that is not a function",
      { name: "x", service: { call: () => Promise.resolve() }, close: 1 },
      "`close`",
    ],
  ])("rejects %s with INVALID_OPTION", (_label, options, name) => {
    let error: unknown;
    try {
      new ServiceTier(options as ServiceTierOptions<string, number>);
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toContain(name);
  });
});
