/**
 * The cache key: the primary key of a request (the default `keyOf`), the normalized values of the
 * request fields a stored response varies on (RFC 9111 §4.1), the store key of one variant, and the
 * URLs an unsafe request invalidates (§4.4).
 *
 * Owns: key and variant-key strings. Must never: normalize the path or query of a URL (a request
 * the origin routes differently would share another path's entry: cache poisoning and deception),
 * or read anything but the request.
 */
import { splitList } from "./cache-control.js";
import { headerValue } from "./header-fields.js";
import type { HttpRequestInfo } from "./http-cache-options.js";
import type { HeaderPairs } from "./stored-response.js";

/** Stands for "the request did not carry this field", which must not equal any real value. */
const ABSENT = "\u0001";
const COMMA_SPACES = /\s*,\s*/g;
const Q_VALUE = /q\s*=\s*([0-9.]+)/i;
/** `;q=` with a valid qvalue (RFC 9110 §12.4.2) as the only parameter. */
const Q_PARAM = /^;\s*q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/;

/**
 * The default primary key: the absolute URL with the scheme and host in lower case, the default
 * port and the fragment dropped. The path and query are kept byte for byte: normalizing them
 * (`/x/../a` → `/a`, `%2e`) would let a request the origin routes differently share the entry of
 * another path, a classic cache-poisoning and cache-deception vector. The key is method-independent
 * so that `HEAD` is answered from the `GET` response and unsafe methods invalidate it.
 */
export function defaultKeyOf(request: HttpRequestInfo): string {
  const url = request.url;
  const hash = url.indexOf("#");
  const bare = hash === -1 ? url : url.slice(0, hash);
  const schemeEnd = bare.indexOf("://");
  if (schemeEnd === -1) return bare;
  const pathStart = bare.indexOf("/", schemeEnd + 3);
  // The common request is already in key form: return it as it is, without building a new string.
  if (pathStart !== -1 && isCanonicalOrigin(bare, pathStart)) return bare;
  const scheme = bare.slice(0, schemeEnd).toLowerCase();
  let authority = (
    pathStart === -1 ? bare.slice(schemeEnd + 3) : bare.slice(schemeEnd + 3, pathStart)
  ).toLowerCase();
  if (
    (scheme === "http" && authority.endsWith(":80")) ||
    (scheme === "https" && authority.endsWith(":443"))
  ) {
    authority = authority.slice(0, authority.lastIndexOf(":"));
  }
  return `${scheme}://${authority}${pathStart === -1 ? "/" : bare.slice(pathStart)}`;
}

/** Whether `url` up to `end` (scheme and authority) has no upper-case letter and no default port. */
function isCanonicalOrigin(url: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const code = url.charCodeAt(i);
    if (code >= 65 && code <= 90) return false;
  }
  return !(
    (url.startsWith("http://") && url.endsWith(":80", end)) ||
    (url.startsWith("https://") && url.endsWith(":443", end))
  );
}

/** `Accept-Encoding` as the sorted set of acceptable codings (`q=0` dropped): order carries no meaning. */
function normalizeAcceptEncoding(value: string): string {
  const accepted: string[] = [];
  for (const item of splitList(value)) {
    const semi = item.indexOf(";");
    const coding = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (semi !== -1) {
      const q = Q_VALUE.exec(item.slice(semi));
      if (q !== null && Number(q[1]) === 0) continue;
    }
    if (coding.length > 0 && !accepted.includes(coding)) accepted.push(coding);
  }
  return accepted.sort().join(",");
}

/**
 * `Accept-Language` with only the changes that keep its meaning for any origin: language ranges in
 * lower case (RFC 4647 matching is case-insensitive), whitespace and empty members removed, and
 * weights in canonical form (`;q=1`, `;Q=1.000` and no weight are the same; `q=0.50` is `q=0.5`).
 * The order is kept: RFC 9110 §12.5.4 notes that some origins read it as a priority among equal
 * weights, so `en, de` and `de, en` may be answered differently. A member with another parameter
 * or an invalid weight is kept as written (lower-cased).
 */
function normalizeAcceptLanguage(value: string): string {
  const out: string[] = [];
  for (const item of splitList(value)) {
    const lower = item.toLowerCase();
    const semi = lower.indexOf(";");
    if (semi === -1) {
      out.push(lower);
      continue;
    }
    const range = lower.slice(0, semi).trim();
    const weight = Q_PARAM.exec(lower.slice(semi));
    if (weight === null) {
      out.push(lower.replace(/\s+/g, ""));
      continue;
    }
    const q = Number(weight[1]);
    out.push(q === 1 ? range : `${range};q=${q}`);
  }
  return out.join(",");
}

/**
 * The value of a varied request field as the variant selection compares it (RFC 9111 §4.1 lets a
 * cache normalize "in a manner that is known to have identical semantics").
 */
export function normalizeVaryValue(field: string, value: string | undefined): string {
  if (value === undefined) return ABSENT;
  if (field === "accept-encoding") return normalizeAcceptEncoding(value);
  if (field === "accept-language") return normalizeAcceptLanguage(value);
  return value.trim().replace(COMMA_SPACES, ",");
}

/** The store key of one variant of `key`, under the index generation that selects it. */
export function variantKeyOf(key: string, generation: string, values: readonly string[]): string {
  return `${key}\n${generation}\n${values.join("\n")}`;
}

/** Element-wise equality of two string lists. */
export function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The URLs a successful unsafe request invalidates (RFC 9111 §4.4): its own, and the `Location` and
 * `Content-Location` of the response when they resolve to the same origin (a cross-origin one could
 * be used to purge another site's entries). An unparsable value invalidates nothing.
 */
export function invalidationTargets(requestUrl: string, headers: HeaderPairs): string[] {
  const base = new URL(requestUrl);
  const targets = new Set<string>([requestUrl]);
  for (const name of ["location", "content-location"]) {
    const value = headerValue(headers, name);
    if (value === undefined) continue;
    try {
      const target = new URL(value, base);
      if (target.origin === base.origin) targets.add(target.href);
    } catch {
      // not a URL reference
    }
  }
  return [...targets];
}
