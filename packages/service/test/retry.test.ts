import { CacheError, ManualClock, isCacheError } from "@cachet/tier";
import type { CacheErrorCode } from "@cachet/tier";
import { compose, isRetryableError, retry, timeout } from "../src/index.js";
import type { RetryOptions } from "../src/index.js";
import { ScriptedService, flush, sequence } from "./fixtures/scripted-service.js";

const failure = (code: CacheErrorCode = "TIER_FAILURE"): CacheError =>
  new CacheError(code, `injected ${code}`);

/** Times between consecutive calls of a scripted service whose calls all fail at once. */
async function retryDelays(options: RetryOptions, attempts: number): Promise<number[]> {
  const clock = new ManualClock();
  const calledAt: number[] = [];
  const service = retry({ ...options, attempts, clock })({
    call: () => {
      calledAt.push(clock.now());
      return Promise.reject(failure());
    },
  });
  const result = service.call("k");
  result.catch(() => undefined);
  await clock.advanceAsync(60_000);
  expect(calledAt).toHaveLength(attempts);
  await expect(result).rejects.toMatchObject({ code: "TIER_FAILURE" });
  return calledAt.slice(1).map((at, i) => at - calledAt[i]!);
}

describe("retry", () => {
  it("retries a TIER_FAILURE after the backoff and returns the first success", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, string>();
    const result = retry({ attempts: 3, backoff: 100, clock })(inner).call("k");
    inner.at(0).reject(failure());
    await clock.advanceAsync(99);
    expect(inner.calls).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(inner.calls).toHaveLength(2);
    expect(inner.at(1).req).toBe("k");
    inner.at(1).resolve("v");
    await expect(result).resolves.toBe("v");
  });

  it("rejects with the last error once every attempt failed", async () => {
    const last = failure("TIMEOUT");
    const inner = sequence<string, string>([{ error: failure() }, { error: failure() }, { error: last }]);
    const clock = new ManualClock();
    const result = retry({ attempts: 3, backoff: 0, clock })(inner).call("k");
    await expect(result).rejects.toBe(last);
    expect(inner.requests).toEqual(["k", "k", "k"]);
  });

  it("makes exactly one attempt when attempts is 1", async () => {
    const inner = sequence<string, string>([{ error: failure() }, { ok: "never" }]);
    await expect(retry({ attempts: 1 })(inner).call("k")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    expect(inner.requests).toHaveLength(1);
  });

  it("waits a fixed duration given as a string", async () => {
    await expect(retryDelays({ backoff: "2s" }, 3)).resolves.toEqual([2_000, 2_000]);
  });

  it("grows waits exponentially up to the cap", async () => {
    await expect(retryDelays({ backoff: { initial: 10, factor: 3, max: 100 } }, 5)).resolves.toEqual([
      10, 30, 90, 100,
    ]);
  });

  it("doubles by default and starts at 50 ms", async () => {
    await expect(retryDelays({}, 4)).resolves.toEqual([50, 100, 200]);
  });

  it("asks a backoff function with the retry number", async () => {
    const seen: number[] = [];
    const delays = await retryDelays(
      {
        backoff: (n) => {
          seen.push(n);
          return n * 7;
        },
      },
      4,
    );
    expect(seen).toEqual([1, 2, 3]);
    expect(delays).toEqual([7, 14, 21]);
  });

  it("applies fractional jitter with the injected random source", async () => {
    const draws = [0.5, 0, 0.75];
    await expect(
      retryDelays({ backoff: 100, jitter: 1, random: () => draws.shift() ?? 0 }, 4),
    ).resolves.toEqual([50, 100, 25]);
    await expect(retryDelays({ backoff: 100, jitter: 0.5, random: () => 0.5 }, 2)).resolves.toEqual([75]);
  });

  it("lets a jitter function pick the wait", async () => {
    await expect(retryDelays({ backoff: 100, jitter: (d, n) => d + n }, 3)).resolves.toEqual([101, 102]);
  });

  it.each<CacheErrorCode>(["TIER_FAILURE", "TIMEOUT"])("retries %s by default", async (code) => {
    const inner = sequence<string, string>([{ error: failure(code) }, { ok: "v" }]);
    await expect(retry({ backoff: 0 })(inner).call("k")).resolves.toBe("v");
    expect(isRetryableError(failure(code))).toBe(true);
  });

  it.each<CacheErrorCode>(["CODEC", "INVALID_OPTION", "CLOSED", "CIRCUIT_OPEN", "ABORTED", "LOADER"])(
    "never retries %s by default",
    async (code) => {
      const inner = sequence<string, string>([{ error: failure(code) }, { ok: "v" }]);
      await expect(retry({ backoff: 0 })(inner).call("k")).rejects.toMatchObject({ code });
      expect(inner.requests).toHaveLength(1);
      expect(isRetryableError(failure(code))).toBe(false);
    },
  );

  it("does not retry an error that is not a CacheError by default", async () => {
    const inner = sequence<string, string>([{ error: new Error("plain") }, { ok: "v" }]);
    await expect(retry({ backoff: 0 })(inner).call("k")).rejects.toThrow("plain");
    expect(inner.requests).toHaveLength(1);
  });

  it("asks retryIf with the error and the failed attempt number", async () => {
    const asked: [unknown, number][] = [];
    const plain = new Error("plain");
    const inner = sequence<string, string>([{ error: plain }, { error: plain }, { ok: "v" }]);
    const service = retry({
      backoff: 0,
      retryIf: (error, attempt) => {
        asked.push([error, attempt]);
        return true;
      },
    })(inner);
    await expect(service.call("k")).resolves.toBe("v");
    expect(asked).toEqual([
      [plain, 1],
      [plain, 2],
    ]);
  });

  it("treats a throwing retryIf as do-not-retry and keeps the original error", async () => {
    const original = failure();
    const inner = sequence<string, string>([{ error: original }, { ok: "v" }]);
    const service = retry({
      backoff: 0,
      retryIf: () => {
        throw new Error("bad predicate");
      },
    })(inner);
    await expect(service.call("k")).rejects.toBe(original);
  });

  it("reports each retry to onRetry, and a throwing onRetry changes nothing", async () => {
    const clock = new ManualClock();
    const reported: [unknown, number, number][] = [];
    const first = failure();
    const inner = sequence<string, string>([{ error: first }, { ok: "v" }]);
    const service = retry({
      backoff: 30,
      clock,
      onRetry: (error, attempt, delay) => {
        reported.push([error, attempt, delay]);
        throw new Error("logger down");
      },
    })(inner);
    const result = service.call("k");
    await clock.advanceAsync(30);
    await expect(result).resolves.toBe("v");
    expect(reported).toEqual([[first, 1, 30]]);
  });

  it("gives each attempt its own time limit when timeout is inside retry", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, string>();
    const service = compose(retry({ attempts: 2, backoff: 10, clock }), timeout(50, { clock }))(inner);
    const result = service.call("k");
    await clock.advanceAsync(50); // first attempt times out
    expect(inner.calls).toHaveLength(1);
    await clock.advanceAsync(10); // backoff
    expect(inner.calls).toHaveLength(2);
    await clock.advanceAsync(49);
    inner.at(1).resolve("v");
    await expect(result).resolves.toBe("v");
  });

  it("limits all attempts together when timeout is outside retry", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedService<string, string>();
    const service = compose(timeout(100, { clock }), retry({ attempts: 5, backoff: 40, clock }))(inner);
    const result = service.call("k");
    result.catch(() => undefined);
    inner.at(0).reject(failure());
    await flush();
    await clock.advanceAsync(40);
    inner.at(1).reject(failure());
    await flush();
    await clock.advanceAsync(40);
    expect(inner.calls).toHaveLength(3);
    await clock.advanceAsync(20);
    await expect(result).rejects.toMatchObject({ code: "TIMEOUT" });
    // The retry loop inside still runs its remaining attempts; they are handled, never unhandled.
    inner.at(2).reject(failure());
    await clock.advanceAsync(200);
  });

  it.each<[string, RetryOptions, string]>([
    ["attempts 0", { attempts: 0 }, "`attempts`"],
    ["attempts 1.5", { attempts: 1.5 }, "`attempts`"],
    ["attempts as a string", { attempts: "3" as unknown as number }, "`attempts`"],
    ["negative backoff", { backoff: -1 }, "`backoff`"],
    ["unparsable backoff", { backoff: "later" as "1s" }, "`backoff`"],
    ["negative initial", { backoff: { initial: -5 } }, "`backoff.initial`"],
    ["factor below 1", { backoff: { initial: 10, factor: 0.5 } }, "`backoff.factor`"],
    ["max below initial", { backoff: { initial: 10, max: 5 } }, "`backoff.max`"],
    ["jitter above 1", { jitter: 2 }, "`jitter`"],
    ["negative jitter", { jitter: -0.1 }, "`jitter`"],
    ["retryIf not a function", { retryIf: true as unknown as () => boolean }, "`retryIf`"],
    ["onRetry not a function", { onRetry: "log" as unknown as () => void }, "`onRetry`"],
    ["random not a function", { jitter: 1, random: 0.5 as unknown as () => number }, "`random`"],
    ["clock without timers", { clock: { now: () => 0 } as unknown as ManualClock }, "`clock`"],
  ])("rejects %s with INVALID_OPTION naming the option", (_label, options, name) => {
    let error: unknown;
    try {
      retry(options);
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toContain(name);
  });
});
