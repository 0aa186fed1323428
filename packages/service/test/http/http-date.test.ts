import { parseHttpDate } from "../../src/http/http-date.js";

// The reference instant for the RFC 850 two-digit-year rule: 2026-12-03T00:00:00Z.
const NOW = Date.UTC(2026, 11, 3);
const SUNDAY_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

describe("parseHttpDate (RFC 9110 §5.6.7, RFC 9111 §4.2)", () => {
  it.each([
    // the RFC's own examples of the three formats, which a recipient must all accept
    ["Sun, 06 Nov 1994 08:49:37 GMT", SUNDAY_1994], // IMF-fixdate
    ["Sunday, 06-Nov-94 08:49:37 GMT", SUNDAY_1994], // obsolete RFC 850
    ["Sun Nov  6 08:49:37 1994", SUNDAY_1994], // obsolete asctime, one-digit day padded by a space
    ["Thu Aug 18 02:01:18 2050", Date.UTC(2050, 7, 18, 2, 1, 18)], // asctime, two-digit day
    // RFC 9111 §4.2: a cache matches names case-insensitively
    ["THU, 18 Aug 2050 02:01:18 GMT", Date.UTC(2050, 7, 18, 2, 1, 18)],
    ["Thu, 18 AUG 2050 02:01:18 GMT", Date.UTC(2050, 7, 18, 2, 1, 18)],
    ["Thu, 18 Aug 2050 02:01:18 gMT", Date.UTC(2050, 7, 18, 2, 1, 18)],
    // field values carry no surrounding whitespace
    ["  Sun, 06 Nov 1994 08:49:37 GMT\t", SUNDAY_1994],
    // far future and the 32-bit boundary
    ["Tue, 19 Jan 2038 03:14:08 GMT", 2_147_483_648_000],
    ["Sun, 21 Nov 2286 04:46:39 GMT", Date.UTC(2286, 10, 21, 4, 46, 39)],
    // a leap second is allowed by the grammar
    ["Wed, 31 Dec 2008 23:59:60 GMT", Date.UTC(2009, 0, 1, 0, 0, 0)],
    ["Thu, 29 Feb 2024 00:00:00 GMT", Date.UTC(2024, 1, 29)],
  ])("accepts %j", (value, expected) => {
    expect(parseHttpDate(value, NOW)).toBe(expected);
  });

  it.each([
    // RFC 850 two-digit years: within 50 years ahead stays in this century, further ahead is the past one
    ["Thursday, 18-Aug-50 02:01:18 GMT", Date.UTC(2050, 7, 18, 2, 1, 18)],
    ["Thursday, 18-Aug-77 02:01:18 GMT", Date.UTC(1977, 7, 18, 2, 1, 18)], // 2077 is over 50 years ahead
    ["Sunday, 06-Nov-94 08:49:37 GMT", SUNDAY_1994],
    ["Monday, 01-Jan-01 00:00:00 GMT", Date.UTC(2001, 0, 1)],
  ])("reads the RFC 850 year of %j per the 50-year rule", (value, expected) => {
    expect(parseHttpDate(value, NOW)).toBe(expected);
  });

  it.each([
    ["Thu, 18 Aug 2050 02:01:18 UTC", "a zone other than GMT"],
    ["Thu, 18 Aug 2050 02:01:18 AEST", "a zone other than GMT"],
    ["Thu, 18 Aug 2050 02:01:18 +0000", "a numeric zone"],
    ["Thu, 18 Aug 2050 02:01:18", "no zone in IMF-fixdate"],
    ["Thu 18 Aug 2050 02:01:18 GMT", "a missing comma"],
    ["Thu, 18  Aug  2050 02:01:18 GMT", "extra spaces"],
    ["Thu,  18 Aug 2050 02:01:18 GMT", "an extra space after the comma"],
    ["Thu, 18-Aug-2050 02:01:18 GMT", "dashes in an IMF-fixdate"],
    ["Thu, 18 Aug 2050 02.01.18 GMT", "periods in the time"],
    ["Thu, 18 Aug 2050 2:01:18 GMT", "a one-digit hour"],
    ["Thu, 8 Aug 2050 02:01:18 GMT", "a one-digit day in IMF-fixdate"],
    ["Thu, 18 Aug 50 02:01:18 GMT", "a two-digit year in IMF-fixdate"],
    ["Thu, 18 Aug 2050 02:01:18 GMT, Fri, 19 Aug 2050 02:01:18 GMT", "two values (several lines combined)"],
    ["Thu, 18 Aug 2050 24:00:00 GMT", "hour 24"],
    ["Thu, 18 Aug 2050 23:60:00 GMT", "minute 60"],
    ["Thu, 31 Apr 2050 00:00:00 GMT", "31 April"],
    ["Thu, 29 Feb 2023 00:00:00 GMT", "29 February of a common year"],
    ["Thu, 00 Aug 2050 00:00:00 GMT", "day 0"],
    ["Xyz, 18 Aug 2050 02:01:18 GMT", "an unknown day name"],
    ["Thu, 18 Foo 2050 02:01:18 GMT", "an unknown month"],
    ["Thursday, 18 Aug 2050 02:01:18 GMT", "a long day name in IMF-fixdate"],
    ["Thu, 18-Aug-50 02:01:18 GMT", "a short day name in RFC 850"],
    ["Thu Aug 8 02:01:18 2050", "asctime with an unpadded one-digit day"],
    ["2050-08-18T02:01:18Z", "ISO 8601"],
    ["0", "the value 0"],
    ["-1", "a negative number"],
    ["1700000000", "epoch seconds"],
    ["", "an empty value"],
  ])("rejects %j (%s)", (value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined();
  });

  it("returns undefined for an absent field", () => {
    expect(parseHttpDate(undefined, NOW)).toBeUndefined();
  });
});
