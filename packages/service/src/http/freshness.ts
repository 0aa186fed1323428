/**
 * Freshness (RFC 9111 §4.2): a response's age and its freshness lifetime, computed from header
 * values and timestamps alone, so that every rule is unit-testable without a server or a store.
 *
 * Owns: the age calculation (§4.2.3), explicit (§4.2.1) and heuristic (§4.2.2) lifetimes. Must
 * never: read a clock, a store or a request (callers pass the instants), or throw on a malformed
 * header (a malformed value has a defined meaning: see each function).
 */
import { deltaSeconds, parseDelta } from "./cache-control.js";
import type { CacheControl } from "./cache-control.js";
import { parseHttpDate } from "./http-date.js";

const OWS_AROUND = /^[ \t]+|[ \t]+$/g;

/** The instants and header values the age calculation needs (times in epoch ms). */
export interface ResponseTiming {
  /** The response's `Date` field value, if any. */
  readonly date: string | undefined;
  /** The response's `Age` field value (lines combined), if any. */
  readonly age: string | undefined;
  /** When the request that produced the response was sent. */
  readonly requestAt: number;
  /** When the response was received. */
  readonly responseAt: number;
}

/**
 * The `Age` field value in ms (RFC 9111 §5.1). Several lines or a comma-separated list use the first
 * member; a first member that is not a non-negative integer (text, a sign, a fraction, trailing
 * text or parameters) makes the field invalid, and an invalid field is ignored: the age is 0, as
 * without `Age`. Values past 2^31 seconds are capped there (§1.2.2).
 */
export function ageValue(age: string | undefined): number {
  if (age === undefined) return 0;
  return parseDelta(firstMember(age)) ?? 0;
}

/** The first non-empty member of a comma-separated field value, without surrounding whitespace. */
function firstMember(value: string): string {
  for (const part of value.split(",")) {
    const member = part.replace(OWS_AROUND, "");
    if (member.length > 0) return member;
  }
  return "";
}

/** The `Date` value in epoch ms, or `responseAt` when absent or invalid (RFC 9110 §6.6.1). */
export function dateValue(timing: ResponseTiming): number {
  return parseHttpDate(timing.date, timing.responseAt) ?? timing.responseAt;
}

/** `corrected_initial_age` of RFC 9111 §4.2.3, in ms. */
export function initialAge(timing: ResponseTiming): number {
  const apparentAge = Math.max(0, timing.responseAt - dateValue(timing));
  const correctedAge = ageValue(timing.age) + (timing.responseAt - timing.requestAt);
  return Math.max(apparentAge, correctedAge);
}

/** `current_age` of RFC 9111 §4.2.3: the initial age plus the time the response has been resident. */
export function currentAge(
  stored: { readonly initialAge: number; readonly responseAt: number },
  now: number,
): number {
  return stored.initialAge + Math.max(0, now - stored.responseAt);
}

/**
 * The explicit freshness lifetime in ms (RFC 9111 §4.2.1): `s-maxage` (shared caches), then
 * `max-age`, then `Expires − Date`. An invalid `max-age` / `s-maxage` or `Expires` means "already
 * stale" (0). `undefined` when the response has no explicit freshness at all.
 */
export function explicitLifetime(
  cc: CacheControl,
  expires: string | undefined,
  date: number,
  isShared: boolean,
): number | undefined {
  let explicit: number | undefined;
  if (isShared) explicit = deltaSeconds(cc, "s-maxage");
  explicit ??= deltaSeconds(cc, "max-age");
  if (explicit !== undefined) return explicit;
  if (cc.has("max-age") || (isShared && cc.has("s-maxage"))) return 0;
  if (expires === undefined) return undefined;
  // RFC 9111 §5.3: an invalid date, "0" among them, means already expired.
  const at = parseHttpDate(expires, date);
  return at === undefined ? 0 : Math.max(0, at - date);
}

/**
 * Heuristic freshness (RFC 9111 §4.2.2): `fraction` of the time between `Last-Modified` and `Date`,
 * at most `max`; 0 without a valid `Last-Modified`.
 */
export function heuristicLifetime(
  lastModified: string | undefined,
  date: number,
  fraction: number,
  max: number,
): number {
  const modified = parseHttpDate(lastModified, date);
  if (modified === undefined || fraction <= 0) return 0;
  return Math.min(max, Math.max(0, date - modified) * fraction);
}
