/**
 * A strict HTTP-date parser (RFC 9110 §5.6.7): IMF-fixdate and the two obsolete forms a recipient
 * must accept, RFC 850 and asctime. Anything else is not a date; for `Expires` that means "already
 * expired" (RFC 9111 §5.3), for `Date` "use the time of receipt", for `If-Modified-Since` "ignore".
 *
 * Follows RFC 9111 §4.2 for cache recipients: names are matched case-insensitively and a zone other
 * than GMT is invalid. Owns: the grammar, calendar validity and the RFC 850 two-digit-year rule.
 * Must never: fall back to `Date.parse` (it accepts local zones, `UTC`, one-digit hours, missing
 * commas and bare numbers, all of which the grammar rejects), or read the clock (the caller passes
 * the reference instant the two-digit-year rule needs).
 */

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES_LONG = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

// day-name "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"
const IMF_FIXDATE = /^([a-z]{3}), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/;
// day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP "GMT"
const RFC_850 = /^([a-z]{6,9}), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/;
// day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP 4DIGIT
const ASCTIME = /^([a-z]{3}) ([a-z]{3}) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

const FIFTY_YEARS_MS = 50 * 365.2425 * 86_400_000;

/**
 * Parses an HTTP-date to epoch ms, or returns `undefined` when the value is not one.
 * `reference` (epoch ms) is "now" for the RFC 850 rule: a two-digit year that would put the date
 * more than 50 years in the future means the most recent past year with those digits.
 */
export function parseHttpDate(value: string | undefined, reference: number): number | undefined {
  if (value === undefined) return undefined;
  // A field value has no leading or trailing whitespace (RFC 9110 §5.5); inner spaces are grammar.
  const text = value.replace(/^[ \t]+|[ \t]+$/g, "").toLowerCase();
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) {
    if (!DAY_NAMES.includes(match[1]!)) return undefined;
    return build(Number(match[4]), match[3]!, match[2]!, match[5]!, match[6]!, match[7]!);
  }
  match = RFC_850.exec(text);
  if (match !== null) {
    if (!DAY_NAMES_LONG.includes(match[1]!)) return undefined;
    const twoDigits = Number(match[4]);
    const refYear = new Date(reference).getUTCFullYear();
    let year = refYear - (refYear % 100) + twoDigits;
    const at = build(year, match[3]!, match[2]!, match[5]!, match[6]!, match[7]!);
    if (at === undefined) return undefined;
    if (at - reference > FIFTY_YEARS_MS) {
      year -= 100;
      return build(year, match[3]!, match[2]!, match[5]!, match[6]!, match[7]!);
    }
    if (reference - at > FIFTY_YEARS_MS && year + 100 - refYear <= 50) {
      return build(year + 100, match[3]!, match[2]!, match[5]!, match[6]!, match[7]!);
    }
    return at;
  }
  match = ASCTIME.exec(text);
  if (match !== null) {
    if (!DAY_NAMES.includes(match[1]!)) return undefined;
    return build(Number(match[7]), match[2]!, match[3]!.trim(), match[4]!, match[5]!, match[6]!);
  }
  return undefined;
}

/** Epoch ms of a UTC calendar instant, or `undefined` when a field is out of range (31 Feb, 24:00). */
function build(
  year: number,
  monthName: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const month = MONTHS.indexOf(monthName);
  const d = Number(day);
  const h = Number(hour);
  const m = Number(minute);
  // RFC 9110 allows second 60 (a leap second); it is counted as the next second.
  const s = Number(second);
  if (month === -1 || d < 1 || h > 23 || m > 59 || s > 60) return undefined;
  const at = Date.UTC(year, month, d, h, m, s);
  // Date.UTC maps years 0-99 to 1900-1999; a 4-digit year below 100 is rejected as implausible.
  if (year < 100) return undefined;
  // Reject a day past the month's end (Date.UTC would roll 31 Apr over to 1 May).
  if (new Date(Date.UTC(year, month, d)).getUTCDate() !== d) return undefined;
  return at;
}
