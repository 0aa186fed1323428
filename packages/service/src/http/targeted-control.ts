/**
 * Cache-control fields aimed at one class of cache rather than every cache:
 *   - targeted cache-control fields (RFC 9213), such as `CDN-Cache-Control`: Structured Fields
 *     dictionaries (RFC 8941) whose members are cache directives. The first valid, non-empty field
 *     on this cache's target list replaces `Cache-Control` (and `Expires`) for its decisions;
 *   - `Surrogate-Control` (W3C Edge Architecture), whose `max-age` and `no-store` a shared cache obeys.
 *
 * Owns: picking the directives meant for this cache out of these fields. Must never: let an invalid
 * targeted field change anything (it is ignored, as if absent), apply a field not on the target list
 * or directives targeted at another device, or remove a targeted field from what is forwarded.
 */
import { parseDictionary } from "structured-headers";
import { parseCacheControl, splitList } from "./cache-control.js";
import type { CacheControl } from "./cache-control.js";
import { headerValue } from "./header-fields.js";
import type { HeaderPairs } from "./stored-response.js";

/** Directives whose argument is delta-seconds: an Integer in a targeted field. */
const DELTA_DIRECTIVES = new Set(["max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"]);
/** Directives that restrict storing or reuse: obeyed even where they appear as a parameter. */
const FAIL_CLOSED = new Set(["private", "no-store", "no-cache"]);
/** An argument no delta-seconds parse accepts: the directive is present but invalid. */
const INVALID = "invalid";

/**
 * The directives of the first targeted field in `targets` (lowercase field names, most specific
 * first) that is present, a valid Structured Fields dictionary and not empty (RFC 9213 §2.2), in the
 * form {@link parseCacheControl} returns; `undefined` when none is, so `Cache-Control` applies.
 *
 * Members map to directives as RFC 9213 §2.1 describes: a Boolean `true` (a bare key) is a directive
 * without argument, `?0` is no directive, a non-negative Integer, a String or a Token is the argument;
 * parameters are ignored, except that a parameter named `private`, `no-store` or `no-cache` counts
 * as that directive (a shared cache fails closed on `max-age=60; private`). A delta-seconds directive (`max-age`, `s-maxage`, `stale-*`) whose value
 * is not a non-negative Integer is present but invalid, so it counts as stale like an invalid
 * `max-age` (a Decimal with a zero fraction, `60.0`, reads as 60: the parser returns both as
 * numbers). An Inner List (a field-name list on `private` / `no-cache`) counts as the unqualified
 * directive, the stricter reading.
 */
export function targetedControl(headers: HeaderPairs, targets: readonly string[]): CacheControl | undefined {
  for (const name of targets) {
    const value = headerValue(headers, name);
    if (value === undefined) continue;
    let dictionary: ReturnType<typeof parseDictionary>;
    try {
      dictionary = parseDictionary(value);
    } catch {
      continue; // RFC 9213 §2.1: a field that fails to parse is ignored
    }
    if (dictionary.size === 0) continue;
    const out = new Map<string, string | true>();
    for (const [key, member] of dictionary) {
      // `max-age=60; private` is a valid dictionary whose `private` is a parameter, which RFC 9213
      // ignores. A shared cache fails closed instead, as the Cache-Control parser does on such text.
      for (const parameter of member[1].keys()) {
        if (FAIL_CLOSED.has(parameter) && !out.has(parameter)) out.set(parameter, true);
      }
      // `unknown`: the library's BareItem union names DOM types (BufferSource) this package does not load.
      const item: unknown = member[0];
      if (typeof item === "boolean") {
        if (item) out.set(key, true);
      } else if (typeof item === "number") {
        out.set(key, Number.isInteger(item) && item >= 0 ? String(item) : INVALID);
      } else if (DELTA_DIRECTIVES.has(key)) {
        out.set(key, INVALID); // delta-seconds must be an Integer, not a String or Token
      } else if (Array.isArray(item)) {
        out.set(key, true);
      } else {
        out.set(key, String(item)); // a String or a Token (Byte Sequences and Dates are not directives)
      }
    }
    return out;
  }
  return undefined;
}

/**
 * The `Surrogate-Control` directives meant for this cache: items without a target, or targeted at
 * `;name` when the cache announced itself with `Surrogate-Capability`. `undefined` when none apply.
 */
export function surrogateControl(
  value: string | undefined,
  name: string | undefined,
): CacheControl | undefined {
  if (value === undefined) return undefined;
  let out: CacheControl | undefined;
  for (const item of splitList(value)) {
    const semi = item.indexOf(";");
    if (semi !== -1 && item.slice(semi + 1).trim() !== name) continue;
    const cc = parseCacheControl(semi === -1 ? item : item.slice(0, semi));
    if (out === undefined) out = cc;
    else out = new Map([...cc, ...out]);
  }
  return out;
}
