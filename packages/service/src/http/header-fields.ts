/**
 * Header-field facts the HTTP cache and its adapters share: the hop-by-hop field list (the only copy
 * in the codebase; the conformance proxy script imports it from the built package), reading a
 * field's combined value from header pairs, and the fields a `Connection` header lists.
 *
 * Owns: field names and field lookup. Must never: parse field values beyond list splitting (that
 * is `cache-control.ts`, `http-date.ts` and `structured-fields.ts`), or depend on the engine.
 */
import { splitList } from "./cache-control.js";
import type { HeaderPairs } from "./stored-response.js";

/**
 * Header fields that describe one connection rather than the message (RFC 9110 §7.6.1, plus the
 * legacy `keep-alive` / `proxy-connection` and the proxy authentication fields that a proxy consumes).
 * A cache never stores them and a proxy never forwards them; fields listed in `Connection` are
 * hop-by-hop too.
 */
export const HOP_BY_HOP_FIELDS: readonly string[] = Object.freeze([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-authentication-info",
]);

const HOP_BY_HOP = new Set(HOP_BY_HOP_FIELDS);

/** True for a lowercase field name in {@link HOP_BY_HOP_FIELDS}. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/** A field's value, its lines combined with `", "` as RFC 9110 §5.3 allows, or `undefined`. */
export function headerValue(headers: HeaderPairs, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of headers) {
    if (n === name) out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

/** Header fields a message's `Connection` header lists (lowercase); they are hop-by-hop too. */
export function connectionListed(headers: HeaderPairs): ReadonlySet<string> | undefined {
  const value = headerValue(headers, "connection");
  if (value === undefined) return undefined;
  return new Set(splitList(value).map((f) => f.toLowerCase()));
}
