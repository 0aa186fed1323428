import { describe, expect, it } from "@jest/globals";
import { CircuitBreaker, ManualClock, isCacheError } from "../src/index.js";
import type { CircuitState } from "../src/index.js";

function setup(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const changes: [CircuitState, CircuitState][] = [];
  const breaker = new CircuitBreaker({
    clock,
    onStateChange: (state, previous) => changes.push([state, previous]),
    ...options,
  });
  return { clock, breaker, changes };
}

const fail = () => Promise.reject(new Error("backend down"));

describe("CircuitBreaker", () => {
  it("opens after failureThreshold consecutive failures; a success resets the count", () => {
    const { breaker, changes } = setup({ failureThreshold: 3 });
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe("closed");
    breaker.recordFailure();
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire()).toBe(false);
    expect(changes).toEqual([["open", "closed"]]);
  });

  it("defaults to 5 failures and a 1 s cooldown that doubles per failed probe up to 5 s", () => {
    const { breaker, clock } = setup({});
    for (let i = 0; i < 4; i++) breaker.recordFailure();
    expect(breaker.state).toBe("closed");
    breaker.recordFailure();
    expect(breaker.state).toBe("open");
    clock.advance(999);
    expect(breaker.state).toBe("open");
    clock.advance(1);
    expect(breaker.state).toBe("half-open");
    const waits: number[] = [];
    for (let probe = 0; probe < 7; probe++) {
      expect(breaker.tryAcquire()).toBe(true);
      breaker.recordFailure();
      const openedAt = clock.now();
      while (breaker.state === "open") clock.advance(100);
      waits.push(clock.now() - openedAt);
    }
    expect(waits).toEqual([2_000, 4_000, 5_000, 5_000, 5_000, 5_000, 5_000]);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordSuccess(); // closing resets the cool-down
    expect(breaker.cooldown).toBe(1_000);
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    clock.advance(1_000);
    expect(breaker.state).toBe("half-open");
  });

  it("with defaults, a backend back after a 20 s outage is used again within 5 s of its return", () => {
    const { breaker, clock } = setup({});
    const backendUpAt = 20_000;
    let usedAgainAt: number | undefined;
    // A caller every 100 ms; the backend fails until backendUpAt.
    for (let t = 0; t <= 60_000 && usedAgainAt === undefined; t += 100) {
      clock.set(t);
      if (!breaker.tryAcquire()) continue;
      if (t < backendUpAt) breaker.recordFailure();
      else {
        breaker.recordSuccess();
        usedAgainAt = t;
      }
    }
    expect(usedAgainAt).toBeDefined();
    expect(usedAgainAt! - backendUpAt).toBeLessThanOrEqual(5_000);
    expect(breaker.state).toBe("closed");
  });

  it("recovered() turns an open circuit half-open at once; only a successful probe closes it", () => {
    const { breaker, clock, changes } = setup({ failureThreshold: 1, cooldown: "30s" });
    breaker.recovered(); // closed: nothing to do
    expect(breaker.state).toBe("closed");
    breaker.recordFailure();
    clock.advance(10);
    breaker.recovered();
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.recovered(); // a second ready signal lets a new probe out even with one pending
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordFailure(); // the probe says otherwise: open again
    expect(breaker.state).toBe("open");
    breaker.recovered();
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe("closed");
    expect(changes.map(([state]) => state)).toEqual(["open", "half-open", "open", "half-open", "closed"]);
  });

  it("an explicit cooldown stays fixed unless maxCooldown lets it grow", () => {
    const fixed = setup({ failureThreshold: 1, cooldown: 500 });
    const grows = setup({ failureThreshold: 1, cooldown: 500, maxCooldown: 1_500 });
    for (const { breaker } of [fixed, grows]) {
      breaker.recordFailure();
      for (let i = 0; i < 3; i++) {
        breaker.recovered();
        breaker.tryAcquire();
        breaker.recordFailure();
      }
    }
    expect(fixed.breaker.cooldown).toBe(500);
    expect(grows.breaker.cooldown).toBe(1_500);
  });

  it("lets exactly one probe through when half-open; its success closes the circuit", () => {
    const { breaker, clock, changes } = setup({ failureThreshold: 1, cooldown: "10s" });
    breaker.recordFailure();
    clock.advance(10_000);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes).toEqual([
      ["open", "closed"],
      ["half-open", "open"],
      ["closed", "half-open"],
    ]);
  });

  it("reopens for a full cooldown when the probe fails", () => {
    const { breaker, clock } = setup({ failureThreshold: 1, cooldown: 1_000 });
    breaker.recordFailure();
    clock.advance(1_000);
    expect(breaker.tryAcquire()).toBe(true);
    clock.advance(500);
    breaker.recordFailure();
    expect(breaker.state).toBe("open");
    clock.advance(999);
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("allows another probe when the first one is never reported within a cooldown", () => {
    const { breaker, clock } = setup({ failureThreshold: 1, cooldown: 1_000 });
    breaker.recordFailure();
    clock.advance(1_000);
    expect(breaker.tryAcquire()).toBe(true);
    clock.advance(999);
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("ignores outcomes reported while open (calls that started before it opened)", () => {
    const { breaker, clock } = setup({ failureThreshold: 1, cooldown: 1_000 });
    breaker.recordFailure();
    breaker.recordSuccess();
    expect(breaker.state).toBe("open");
    clock.advance(1_000);
    expect(breaker.state).toBe("half-open");
  });

  it("opens on the failure rate over the window once minimumCalls is reached", () => {
    const { breaker } = setup({
      failureThreshold: 100,
      failureRate: { threshold: 0.5, window: "10s", minimumCalls: 4 },
    });
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.state).toBe("closed"); // 2/3 but only 3 calls
    breaker.recordSuccess();
    breaker.recordFailure(); // 3 of 5
    expect(breaker.state).toBe("open");
  });

  it("forgets outcomes older than the window", () => {
    const { breaker, clock } = setup({
      failureThreshold: 100,
      failureRate: { threshold: 0.5, window: 1_000, minimumCalls: 2 },
    });
    breaker.recordFailure();
    clock.advance(1_000);
    breaker.recordSuccess();
    breaker.recordSuccess();
    breaker.recordFailure(); // 1 of 3 in the window; the old failure is gone
    expect(breaker.state).toBe("closed");
    breaker.recordFailure(); // 2 of 4
    expect(breaker.state).toBe("open");
  });

  it("execute runs the function, records its outcome, and rejects with CIRCUIT_OPEN when open", async () => {
    const { breaker, clock } = setup({ failureThreshold: 2, cooldown: 100, name: "redis" });
    await expect(breaker.execute(() => Promise.resolve(42))).resolves.toBe(42);
    await expect(breaker.execute(fail)).rejects.toThrow("backend down");
    await expect(breaker.execute(fail)).rejects.toThrow("backend down");
    let called = false;
    const refused = await breaker
      .execute(() => {
        called = true;
        return Promise.resolve(1);
      })
      .catch((error: unknown) => error);
    expect(called).toBe(false);
    expect(isCacheError(refused)).toBe(true);
    expect(refused).toMatchObject({ code: "CIRCUIT_OPEN", tier: "redis" });
    clock.advance(100);
    await expect(breaker.execute(() => Promise.resolve("ok"))).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
  });

  it("execute counts a synchronous throw as a failure and honours isFailure", async () => {
    const { breaker } = setup({ failureThreshold: 1, isFailure: (e) => !(e instanceof TypeError) });
    await expect(breaker.execute(() => Promise.reject(new TypeError("caller bug")))).rejects.toThrow(
      TypeError,
    );
    expect(breaker.state).toBe("closed");
    await expect(
      breaker.execute(() => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    expect(breaker.state).toBe("open");
  });

  it("swallows errors from onStateChange", () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      clock: new ManualClock(),
      onStateChange: () => {
        throw new Error("listener bug");
      },
    });
    expect(() => breaker.recordFailure()).not.toThrow();
    expect(breaker.state).toBe("open");
  });

  it("reset closes the circuit", () => {
    const { breaker, changes } = setup({ failureThreshold: 1 });
    breaker.recordFailure();
    breaker.reset();
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes.at(-1)).toEqual(["closed", "open"]);
  });

  it.each([
    [{ failureThreshold: 0 }, /`failureThreshold`/],
    [{ failureThreshold: 1.5 }, /`failureThreshold`/],
    [{ cooldown: 0 }, /`cooldown`/],
    [{ maxCooldown: 0 }, /`maxCooldown`/],
    [{ cooldown: 2_000, maxCooldown: 1_000 }, /`maxCooldown`/],
    [{ cooldown: "later" as never }, /`cooldown`/],
    [{ failureRate: { threshold: 0, window: 1_000, minimumCalls: 1 } }, /`failureRate.threshold`/],
    [{ failureRate: { threshold: 1.5, window: 1_000, minimumCalls: 1 } }, /`failureRate.threshold`/],
    [{ failureRate: { threshold: 0.5, window: 0, minimumCalls: 1 } }, /`failureRate.window`/],
    [{ failureRate: { threshold: 0.5, window: 1_000, minimumCalls: 0 } }, /`failureRate.minimumCalls`/],
    [{ name: "" }, /`name`/],
  ])("rejects invalid options %p", (options, message) => {
    let error: unknown;
    try {
      new CircuitBreaker(options);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "INVALID_OPTION", message: expect.stringMatching(message) });
  });
});
