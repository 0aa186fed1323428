import { describe, expect, it } from "@jest/globals";
import { ManualClock, systemClock } from "../src/index.js";

describe("ManualClock", () => {
  it("starts at a fixed epoch or the given time, and moves only when told", () => {
    expect(new ManualClock().now()).toBe(1_700_000_000_000);
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it("fires due timers in due-time order, ties in scheduling order, with now() at each due time", () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(["c", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["b1", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["b2", clock.now()]), 20);
    clock.advance(25);
    expect(fired).toEqual([
      ["a", 10],
      ["b1", 20],
      ["b2", 20],
    ]);
    expect(clock.now()).toBe(25);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5);
    expect(fired.at(-1)).toEqual(["c", 30]);
  });

  it("fires timers scheduled by a firing timer within the same advance when they fall due", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => {
        fired.push(clock.now());
        clock.setTimeout(() => fired.push(clock.now()), 100);
      }, 5);
    }, 10);
    clock.advance(20);
    expect(fired).toEqual([10, 15]);
    clock.advance(100);
    expect(fired).toEqual([10, 15, 115]);
  });

  it("treats zero, negative and non-finite delays as 'on the next advance'", () => {
    const clock = new ManualClock(0);
    let count = 0;
    clock.setTimeout(() => count++, 0);
    clock.setTimeout(() => count++, -5);
    clock.setTimeout(() => count++, NaN);
    expect(count).toBe(0);
    clock.advance(0);
    expect(count).toBe(3);
  });

  it("clearTimeout cancels a timer; unknown handles are ignored", () => {
    const clock = new ManualClock(0);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(12345);
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it("advanceAsync lets promise callbacks started by a timer settle before time moves on", async () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => {
        log.push(`then@${clock.now()}`);
        clock.setTimeout(() => log.push(`chained@${clock.now()}`), 5);
      });
    }, 10);
    await clock.advanceAsync(20);
    expect(log).toEqual(["then@10", "chained@15"]);
    expect(clock.now()).toBe(20);
  });

  it("advance (sync) does not wait for promise callbacks", () => {
    const clock = new ManualClock(0);
    const log: number[] = [];
    clock.setTimeout(
      () => void Promise.resolve().then(() => clock.setTimeout(() => log.push(clock.now()), 5)),
      10,
    );
    clock.advance(20);
    expect(log).toEqual([]);
  });

  it("set() moves forward firing timers, and backward firing nothing", () => {
    const clock = new ManualClock(1_000);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 500);
    clock.set(500);
    expect(clock.now()).toBe(500);
    expect(fired).toEqual([]);
    clock.set(1_499);
    expect(fired).toEqual([]);
    clock.set(2_000);
    expect(fired).toEqual([1_500]);
    expect(clock.now()).toBe(2_000);
  });

  it("rejects invalid arguments with INVALID_OPTION", () => {
    const clock = new ManualClock(0);
    expect(() => new ManualClock(NaN)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => clock.advance(-1)).toThrow(/`ms`/);
    expect(() => clock.set(Infinity)).toThrow(/`epochMs`/);
    return expect(clock.advanceAsync(-1)).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});

describe("systemClock", () => {
  it("reads wall time and schedules unref'd timers that can be cleared", () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    const handle = systemClock.setTimeout(() => undefined, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    systemClock.clearTimeout(handle);
  });
});
