import { CacheError, isCacheError } from "@cachet/tier";
import { concurrencyLimit } from "../src/index.js";
import type { ConcurrencyLimitOptions, Service } from "../src/index.js";
import { ScriptedService, flush } from "./fixtures/scripted-service.js";

describe("concurrencyLimit", () => {
  it("runs at most n calls at once and starts waiters in FIFO order", async () => {
    const inner = new ScriptedService<string, string>();
    const service = concurrencyLimit(2)(inner);
    const results = ["a", "b", "c", "d", "e"].map((req) => service.call(req));
    await flush();
    expect(inner.calls.map((c) => c.req)).toEqual(["a", "b"]);

    inner.at(1).resolve("B");
    await flush();
    expect(inner.calls.map((c) => c.req)).toEqual(["a", "b", "c"]);

    inner.at(0).reject(new CacheError("TIER_FAILURE", "down"));
    await flush();
    expect(inner.calls.map((c) => c.req)).toEqual(["a", "b", "c", "d"]);

    inner.at(2).resolve("C");
    inner.at(3).resolve("D");
    await flush();
    expect(inner.calls.map((c) => c.req)).toEqual(["a", "b", "c", "d", "e"]);
    inner.at(4).resolve("E");

    await expect(results[0]).rejects.toMatchObject({ code: "TIER_FAILURE" });
    await expect(Promise.all(results.slice(1))).resolves.toEqual(["B", "C", "D", "E"]);
  });

  it("frees the slot when the inner service throws synchronously", async () => {
    let calls = 0;
    const inner: Service<string, string> = {
      call: (req) => {
        calls++;
        if (req === "boom") throw new Error("sync");
        return Promise.resolve(req);
      },
    };
    const service = concurrencyLimit(1)(inner);
    await expect(service.call("boom")).rejects.toThrow("sync");
    await expect(service.call("ok")).resolves.toBe("ok");
    expect(calls).toBe(2);
  });

  it("rejects with TIER_FAILURE beyond maxQueue without calling the service", async () => {
    const inner = new ScriptedService<string, string>();
    const service = concurrencyLimit(1, { maxQueue: 1 })(inner);
    const first = service.call("a");
    const queued = service.call("b");
    const shed = service.call("c");
    await expect(shed).rejects.toMatchObject({ code: "TIER_FAILURE" });
    await expect(shed).rejects.toThrow(/queue is full/);
    inner.at(0).resolve("A");
    await flush();
    inner.at(1).resolve("B");
    await expect(Promise.all([first, queued])).resolves.toEqual(["A", "B"]);
    expect(inner.calls.map((c) => c.req)).toEqual(["a", "b"]);
  });

  it("with maxQueue 0 never queues", async () => {
    const inner = new ScriptedService<string, string>();
    const service = concurrencyLimit(1, { maxQueue: 0 })(inner);
    const first = service.call("a");
    await expect(service.call("b")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    inner.at(0).resolve("A");
    await expect(first).resolves.toBe("A");
    const again = service.call("c");
    await flush();
    inner.at(1).resolve("C");
    await expect(again).resolves.toBe("C");
  });

  it("keeps a separate limit for each wrapped service", async () => {
    const layer = concurrencyLimit(1);
    const one = new ScriptedService<string, string>();
    const two = new ScriptedService<string, string>();
    void layer(one).call("a");
    void layer(two).call("b");
    await flush();
    expect(one.calls).toHaveLength(1);
    expect(two.calls).toHaveLength(1);
    one.at(0).resolve("");
    two.at(0).resolve("");
  });

  it.each<[string, unknown, ConcurrencyLimitOptions | undefined, string]>([
    ["limit 0", 0, undefined, "`limit`"],
    ["limit 1.5", 1.5, undefined, "`limit`"],
    ["limit Infinity", Infinity, undefined, "`limit`"],
    ["negative maxQueue", 1, { maxQueue: -1 }, "`maxQueue`"],
    ["fractional maxQueue", 1, { maxQueue: 0.5 }, "`maxQueue`"],
  ])("rejects %s with INVALID_OPTION", (_label, limit, options, name) => {
    let error: unknown;
    try {
      concurrencyLimit(limit as number, options);
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toContain(name);
  });
});
