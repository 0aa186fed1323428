import { parseCacheControl } from "../../src/http/cache-control.js";
import {
  ageValue,
  currentAge,
  dateValue,
  explicitLifetime,
  heuristicLifetime,
  initialAge,
} from "../../src/http/freshness.js";

const T = Date.UTC(2026, 11, 3, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const HOUR = 3_600_000;

describe("ageValue (RFC 9111 §5.1)", () => {
  it.each([
    [undefined, 0, "absent"],
    ["0", 0, "zero"],
    ["7200", 7_200_000, "an integer"],
    [" 60 ", 60_000, "surrounding whitespace"],
    ["0,7200", 0, "a list uses its first member"],
    ["7200,0", 7_200_000, "a list uses its first member"],
    ["7200, 0", 7_200_000, "two lines combined use the first line"],
    ["0, 7200", 0, "two lines combined use the first line"],
    ["0, 0", 0, "a duplicated zero"],
    ["3600, 3600", 3_600_000, "a duplicated value"],
    [", 30", 30_000, "empty list members are skipped"],
    ["99999999999999999999", 2_147_483_648_000, "a huge value is capped at 2^31 s"],
  ])("%j → %d ms (%s)", (value, expected, _why) => {
    expect(ageValue(value)).toBe(expected);
  });

  it.each([
    ["abc", "text"],
    ["-7200", "a negative number"],
    ["7200.0", "a decimal"],
    ["7200abc", "trailing text"],
    ["7200 s", "a unit"],
    ["7200;foo=bar", "an alphabetic parameter"],
    ["7200;foo=111", "a numeric parameter"],
    ["abc, 7200", "a list whose first member is invalid"],
    ["+7200", "a sign"],
    ["", "an empty value"],
  ])("ignores an invalid value %j (%s): the age is 0, as without Age", (value) => {
    expect(ageValue(value)).toBe(0);
  });
});

describe("initialAge and currentAge (RFC 9111 §4.2.3)", () => {
  it("takes the larger of the apparent age and the corrected Age value", () => {
    const timing = { date: httpDate(T - 10_000), age: "3", requestAt: T - 1_000, responseAt: T };
    expect(initialAge(timing)).toBe(10_000); // apparent age 10 s > 3 s + 1 s delay
    expect(initialAge({ ...timing, age: "60" })).toBe(61_000); // 60 s + 1 s delay
  });

  it("an invalid Age counts as none: the response is as old as its Date says", () => {
    const timing = { date: httpDate(T), age: "-7200", requestAt: T, responseAt: T };
    expect(initialAge(timing)).toBe(0);
    expect(initialAge({ ...timing, age: "7200;foo=bar" })).toBe(0);
  });

  it("a missing or invalid Date is replaced by the time of receipt", () => {
    expect(dateValue({ date: undefined, age: undefined, requestAt: T, responseAt: T })).toBe(T);
    expect(dateValue({ date: "yesterday", age: undefined, requestAt: T, responseAt: T })).toBe(T);
    expect(
      dateValue({ date: "Thu, 03 Dec 2026 11:00:00 UTC", age: undefined, requestAt: T, responseAt: T }),
    ).toBe(T);
  });

  it("adds the time the response has been resident", () => {
    expect(currentAge({ initialAge: 5_000, responseAt: T }, T + 20_000)).toBe(25_000);
    expect(currentAge({ initialAge: 5_000, responseAt: T }, T - 1_000)).toBe(5_000); // clock went back
  });
});

describe("explicitLifetime (RFC 9111 §4.2.1, §5.3)", () => {
  const cc = (value: string | undefined) => parseCacheControl(value);

  it("prefers s-maxage in a shared cache, then max-age, then Expires − Date", () => {
    const expires = httpDate(T + HOUR);
    expect(explicitLifetime(cc("max-age=60, s-maxage=30"), expires, T, true)).toBe(30_000);
    expect(explicitLifetime(cc("max-age=60, s-maxage=30"), expires, T, false)).toBe(60_000);
    expect(explicitLifetime(cc(undefined), expires, T, true)).toBe(HOUR);
    expect(explicitLifetime(cc(undefined), undefined, T, true)).toBeUndefined();
  });

  it("an invalid max-age means already stale, and Expires is not consulted", () => {
    expect(explicitLifetime(cc("max-age=abc"), httpDate(T + HOUR), T, true)).toBe(0);
  });

  it.each([
    ["Sun, 06 Nov 2050 08:49:37 GMT"], // IMF-fixdate
    ["Sunday, 06-Nov-50 08:49:37 GMT"], // RFC 850
    ["Sun Nov  6 08:49:37 2050"], // asctime
  ])("accepts the HTTP-date format %j", (expires) => {
    expect(explicitLifetime(cc(undefined), expires, T, true)).toBe(Date.UTC(2050, 10, 6, 8, 49, 37) - T);
  });

  it.each([
    ["0"],
    ["-1"],
    ["Thu, 18 Aug 2050 02:01:18 UTC"],
    ["Thu, 18 Aug 2050 02:01:18 AEST"],
    ["Thu 18 Aug 2050 02:01:18 GMT"],
    ["Thu, 18-Aug-2050 02:01:18 GMT"],
    ["Thu, 18 Aug 2050 2:01:18 GMT"],
    ["Thu, 18  Aug  2050 02:01:18 GMT"],
    ["Thu, 18 Aug 2050 02.01.18 GMT"],
    ["Thu, 18 Aug 50 02:01:18 GMT"],
    ["Thu, 18 Aug 2050 02:01:18 GMT, Thu, 18 Aug 2050 02:01:19 GMT"],
  ])("an invalid Expires %j means already expired (0)", (expires) => {
    expect(explicitLifetime(cc(undefined), expires, T, true)).toBe(0);
  });

  it("an Expires in the past gives 0, never a negative lifetime", () => {
    expect(explicitLifetime(cc(undefined), httpDate(T - HOUR), T, true)).toBe(0);
  });
});

describe("heuristicLifetime (RFC 9111 §4.2.2)", () => {
  it("is a fraction of the time since Last-Modified, capped", () => {
    expect(heuristicLifetime(httpDate(T - 10 * HOUR), T, 0.1, 86_400_000)).toBe(HOUR);
    expect(heuristicLifetime(httpDate(T - 1_000 * HOUR), T, 0.1, 86_400_000)).toBe(86_400_000);
  });

  it("is 0 without a valid Last-Modified or with a zero fraction", () => {
    expect(heuristicLifetime(undefined, T, 0.1, 86_400_000)).toBe(0);
    expect(heuristicLifetime("last week", T, 0.1, 86_400_000)).toBe(0);
    expect(heuristicLifetime(httpDate(T - HOUR), T, 0, 86_400_000)).toBe(0);
  });
});
