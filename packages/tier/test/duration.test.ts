import { describe, expect, it } from "@jest/globals";
import { toMilliseconds, toPositiveMilliseconds } from "../src/index.js";
import type { Duration } from "../src/index.js";

describe("toMilliseconds", () => {
  it.each([
    [0, 0],
    [250, 250],
    ["250ms", 250],
    ["30s", 30_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    [" 10 s ", 10_000],
  ] as const)("converts %p to %p ms", (input, expected) => {
    expect(toMilliseconds(input as Duration, "opt")).toBe(expected);
  });

  it.each([[-1], [NaN], [Infinity], ["10"], ["10 minutes"], ["-5s"], ["s"], [""]])(
    "rejects %p with INVALID_OPTION naming the option",
    (input) => {
      expect(() => toMilliseconds(input as never, "cooldown")).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining("`cooldown`") }),
      );
    },
  );

  it("rejects zero when allowZero is false", () => {
    expect(() => toPositiveMilliseconds(0, "window")).toThrow(/`window` must be more than zero/);
    expect(() => toPositiveMilliseconds("0s", "window")).toThrow(/`window`/);
    expect(toPositiveMilliseconds("1ms", "window")).toBe(1);
  });

  it("rejects non-number, non-string values", () => {
    expect(() => toMilliseconds({} as never, "ttl")).toThrow(/`ttl` must be a number of milliseconds/);
  });
});
