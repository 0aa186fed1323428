import { CacheError, ManualClock, isCacheError } from "@cachet/tier";
import { compose, tap, timeout } from "../src/index.js";
import type { Service, TapOptions } from "../src/index.js";
import { ScriptedService, flush, thrownBy } from "./fixtures/scripted-service.js";

describe("tap", () => {
  it("reports requests, responses and durations on the clock", async () => {
    const clock = new ManualClock();
    const events: unknown[] = [];
    const inner = new ScriptedService<string, number>();
    const service = tap<string, number>({
      clock,
      onRequest: (req) => events.push(["request", req]),
      onResponse: (res, req, duration) => events.push(["response", res, req, duration]),
      onError: (error, req, duration) => events.push(["error", error, req, duration]),
    })(inner);
    const result = service.call("a");
    expect(events).toEqual([["request", "a"]]);
    clock.advance(25);
    inner.at(0).resolve(1);
    await expect(result).resolves.toBe(1);
    expect(events).toEqual([
      ["request", "a"],
      ["response", 1, "a", 25],
    ]);
  });

  it("reports rejections and still rejects with the same error", async () => {
    const clock = new ManualClock();
    const seen: unknown[] = [];
    const inner = new ScriptedService<string, number>();
    const service = tap({ clock, onError: (error, req, duration) => seen.push([error, req, duration]) })(
      inner,
    );
    const result = service.call("a");
    const failure = new CacheError("TIER_FAILURE", "down");
    clock.advance(5);
    inner.at(0).reject(failure);
    await expect(result).rejects.toBe(failure);
    expect(seen).toEqual([[failure, "a", 5]]);
  });

  it("never lets a throwing or rejecting callback break the call", async () => {
    const throwing: TapOptions<unknown, unknown> = {
      onRequest: () => {
        throw new Error("onRequest");
      },
      onResponse: () => {
        throw new Error("onResponse");
      },
      onError: () => Promise.reject(new Error("onError")) as unknown as void,
    };
    const ok: Service<string, string> = { call: (req) => Promise.resolve(`ok:${req}`) };
    await expect(tap(throwing)(ok).call("a")).resolves.toBe("ok:a");
    const failing: Service<string, string> = {
      call: () => Promise.reject(new CacheError("TIMEOUT", "slow")),
    };
    await expect(tap(throwing)(failing).call("a")).rejects.toMatchObject({ code: "TIMEOUT" });
    await flush();
  });

  it("sees the timeout of a layer inside it", async () => {
    const clock = new ManualClock();
    const codes: unknown[] = [];
    const inner = new ScriptedService<string, string>();
    const service = compose(
      tap({ onError: (error) => codes.push(isCacheError(error) ? error.code : error) }),
      timeout(10, { clock }),
    )(inner);
    const result = service.call("a");
    clock.advance(10);
    await expect(result).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(codes).toEqual(["TIMEOUT"]);
  });

  it.each(["onRequest", "onResponse", "onError"])("rejects a %s that is not a function", (name) => {
    const error = thrownBy(() => tap({ [name]: 42 }));
    expect(error.code).toBe("INVALID_OPTION");
    expect(error.message).toContain(`\`${name}\``);
  });
});
