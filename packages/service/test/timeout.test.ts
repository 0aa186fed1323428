import { CacheError, ManualClock, isCacheError } from "@cachet/tier";
import { timeout } from "../src/index.js";
import type { Service } from "../src/index.js";
import { ScriptedService, flush } from "./fixtures/scripted-service.js";

describe("timeout", () => {
  it("passes a response through when the call settles in time", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, number>();
    const service = timeout(100, { clock })(inner);
    const result = service.call("a");
    clock.advance(99);
    inner.at(0).resolve(7);
    await expect(result).resolves.toBe(7);
    expect(inner.at(0).req).toBe("a");
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects with TIMEOUT when the limit elapses on the clock", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, number>();
    const service = timeout("250ms", { clock })(inner);
    const result = service.call("a");
    let settled = false;
    result.then(
      () => (settled = true),
      () => (settled = true),
    );
    clock.advance(249);
    await flush();
    expect(settled).toBe(false);
    clock.advance(1);
    await expect(result).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(result).rejects.toBeInstanceOf(CacheError);
  });

  // That the late rejection is also *handled* is checked in a separate process with
  // --unhandled-rejections=strict: see late-rejections.test.ts.
  it("keeps TIMEOUT when the timed-out inner call rejects later", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, number>();
    const result = timeout(10, { clock })(inner).call("a");
    clock.advance(10);
    inner.at(0).reject(new Error("backend finally failed"));
    await expect(result).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("ignores a late success after the timeout", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, number>();
    const result = timeout(10, { clock })(inner).call("a");
    clock.advance(10);
    inner.at(0).resolve(1);
    await expect(result).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("forwards the inner rejection unchanged and clears its timer", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, number>();
    const result = timeout(10, { clock })(inner).call("a");
    const failure = new CacheError("TIER_FAILURE", "down");
    inner.at(0).reject(failure);
    await expect(result).rejects.toBe(failure);
    expect(clock.pendingTimers).toBe(0);
  });

  it("turns a synchronous throw of the inner service into a rejection", async () => {
    const clock = new ManualClock();
    const inner: Service<string, number> = {
      call: () => {
        throw new Error("sync");
      },
    };
    const service = timeout(10, { clock })(inner);
    let result: Promise<number> | undefined;
    expect(() => {
      result = service.call("a");
    }).not.toThrow();
    await expect(result).rejects.toThrow("sync");
  });

  it.each([0, -1, Number.NaN, "soon", "0ms"])("rejects the limit %p with INVALID_OPTION", (limit) => {
    let error: unknown;
    try {
      timeout(limit as number);
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toContain("`timeout`");
  });

  it("rejects a clock that is not a Clock", () => {
    expect(() => timeout(10, { clock: {} as ManualClock })).toThrow(/`clock` must be a Clock/);
  });
});
