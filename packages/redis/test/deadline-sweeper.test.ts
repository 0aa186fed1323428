// The deadline sweeper: one interval timer for every command of a tier, calls as their own list nodes.
import { afterEach, beforeEach, describe, expect, it, jest } from "@jest/globals";
import { DeadlineSweeper } from "../src/deadline-sweeper.js";
import type { Deadlined } from "../src/deadline-sweeper.js";

/** A tracked call that records its timeout. */
function call(operation: string): Deadlined & { expired: Error | undefined } {
  return {
    deadline: 0,
    previousDeadlined: undefined,
    nextDeadlined: undefined,
    tracked: false,
    operation,
    expired: undefined,
    expire(error: Error) {
      this.expired = error;
    },
  };
}

describe("DeadlineSweeper", () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it("expires the calls still tracked at their deadline, in order, and none that settled", () => {
    const sweeper = new DeadlineSweeper(100, (operation) => new Error(`${operation} timed out`));
    const [a, b, c] = [call("a"), call("b"), call("c")];
    sweeper.add(a);
    sweeper.add(b);
    sweeper.add(c);
    sweeper.delete(b); // a call in the middle of the list settles
    sweeper.delete(b); // and a second delete is a no-op
    jest.advanceTimersByTime(50);
    expect([a.expired, c.expired]).toEqual([undefined, undefined]);
    const d = call("d");
    sweeper.add(d); // added later: expires later
    jest.advanceTimersByTime(60);
    expect(a.expired?.message).toBe("a timed out");
    expect(c.expired?.message).toBe("c timed out");
    expect(b.expired).toBeUndefined();
    expect(d.expired).toBeUndefined();
    sweeper.delete(a); // a settlement after the timeout changes nothing
    expect([a.tracked, c.tracked, d.tracked]).toEqual([false, false, true]);
    sweeper.delete(d);
    jest.advanceTimersByTime(1_000);
    expect(d.expired).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0); // the interval stops once nothing is tracked
  });

  it("keeps a list it can empty and refill from either end", () => {
    const sweeper = new DeadlineSweeper(100, (operation) => new Error(operation));
    const calls = ["a", "b", "c", "d"].map(call);
    for (const c of calls) sweeper.add(c);
    sweeper.delete(calls[3]!);
    sweeper.delete(calls[0]!);
    sweeper.delete(calls[2]!);
    sweeper.delete(calls[1]!);
    const e = call("e");
    sweeper.add(e);
    jest.advanceTimersByTime(120);
    expect(e.expired?.message).toBe("e");
    expect(calls.every((c) => c.expired === undefined)).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});
