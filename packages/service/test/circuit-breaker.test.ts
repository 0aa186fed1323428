import { CacheEntry, CacheError, CircuitBreaker, ManualClock, isCacheError } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import type { CircuitState } from "@cachet/tier";
import { circuitBreaker, compose, isBackendFailure, retry, tierAsService, timeout } from "../src/index.js";
import { ScriptedService, sequence } from "./fixtures/scripted-service.js";

describe("circuitBreaker", () => {
  it("opens after the failure threshold, refuses calls without reaching the tier, and recovers after the cooldown", async () => {
    const clock = new ManualClock();
    const tier = new MockCache<string, string>({ clock });
    await tier.insert("k", new CacheEntry("v"));
    const states: CircuitState[] = [];
    const service = circuitBreaker({
      failureThreshold: 2,
      cooldown: "10s",
      clock,
      name: "l2",
      onStateChange: (state) => states.push(state),
    })(tierAsService(tier));

    tier.failAll("get");
    await expect(service.call({ op: "get", key: "k" })).rejects.toMatchObject({ code: "TIER_FAILURE" });
    await expect(service.call({ op: "get", key: "k" })).rejects.toMatchObject({ code: "TIER_FAILURE" });
    expect(states).toEqual(["open"]);

    const getsBefore = tier.calls.filter((c) => c.op === "get").length;
    await expect(service.call({ op: "get", key: "k" })).rejects.toMatchObject({
      code: "CIRCUIT_OPEN",
      tier: "l2",
    });
    expect(tier.calls.filter((c) => c.op === "get")).toHaveLength(getsBefore);

    tier.heal("get");
    clock.advance(9_999);
    await expect(service.call({ op: "get", key: "k" })).rejects.toMatchObject({ code: "CIRCUIT_OPEN" });
    clock.advance(1);
    const probe = await service.call({ op: "get", key: "k" });
    expect(probe).toMatchObject({ op: "get", entry: { value: "v" } });
    expect(states).toEqual(["open", "half-open", "closed"]);
  });

  it("uses a breaker instance it is given, so its state can be read and shared", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldown: 1_000, clock });
    const layer = circuitBreaker(breaker);
    const failing = layer(sequence<string, string>([{ error: new CacheError("TIER_FAILURE", "down") }]));
    const other = new ScriptedService<string, string>();
    const sharing = layer(other);
    await expect(failing.call("a")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    expect(breaker.state).toBe("open");
    await expect(sharing.call("b")).rejects.toMatchObject({ code: "CIRCUIT_OPEN" });
    expect(other.calls).toHaveLength(0);
    breaker.reset();
    const result = sharing.call("c");
    other.at(0).resolve("C");
    await expect(result).resolves.toBe("C");
  });

  it("does not count CODEC or INVALID_OPTION errors against the backend by default", async () => {
    const clock = new ManualClock();
    const inner = sequence<string, string>([
      { error: new CacheError("CODEC", "bad value") },
      { error: new CacheError("INVALID_OPTION", "bad op") },
      { ok: "fine" },
    ]);
    const service = circuitBreaker({ failureThreshold: 1, clock })(inner);
    await expect(service.call("a")).rejects.toMatchObject({ code: "CODEC" });
    await expect(service.call("b")).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(service.call("c")).resolves.toBe("fine");
    expect(isBackendFailure(new Error("socket hang up"))).toBe(true);
    expect(isBackendFailure(new CacheError("TIMEOUT", "slow"))).toBe(true);
    expect(isBackendFailure(new CacheError("CLOSED", "closed"))).toBe(false);
  });

  it("counts a timeout as a failure and one retried call as one outcome when outside retry", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      cooldown: 5_000,
      clock,
      isFailure: isBackendFailure,
    });
    const inner = new ScriptedService<string, string>();
    const service = compose(
      circuitBreaker(breaker),
      retry({ attempts: 3, backoff: 10, clock }),
      timeout(100, { clock }),
    )(inner);

    const first = service.call("a");
    first.catch(() => undefined);
    await clock.advanceAsync(100 + 10 + 100 + 10 + 100);
    await expect(first).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(inner.calls).toHaveLength(3);
    expect(breaker.state).toBe("closed"); // three timed-out attempts, one failure

    const second = service.call("b");
    second.catch(() => undefined);
    await clock.advanceAsync(320);
    await expect(second).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(breaker.state).toBe("open");
    await expect(service.call("c")).rejects.toMatchObject({ code: "CIRCUIT_OPEN" });
    expect(inner.calls).toHaveLength(6);
  });

  it.each<[string, object, string]>([
    ["failureThreshold 0", { failureThreshold: 0 }, "`failureThreshold`"],
    ["negative cooldown", { cooldown: -1 }, "`cooldown`"],
    ["empty name", { name: "" }, "`name`"],
    [
      "failure rate above 1",
      { failureRate: { threshold: 2, window: "1m", minimumCalls: 5 } },
      "`failureRate.threshold`",
    ],
  ])("rejects %s with INVALID_OPTION", (_label, options, name) => {
    let error: unknown;
    try {
      circuitBreaker(options);
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toContain(name);
  });
});
