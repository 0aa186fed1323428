/**
 * Conditional requests (RFC 9111 §4.3, RFC 9110 §13): answering a client's `If-None-Match` /
 * `If-Modified-Since` from a stored or fresh response, the fields a 304 carries, merging a
 * validation's 304 into the stored response (§4.3.4), and single byte ranges under `If-Range`.
 *
 * Owns: validator comparison and the 304 field rules. Must never: contact the origin or the store,
 * or answer a request a validator does not match with 304 (that would hide a changed resource).
 */
import { splitList } from "./cache-control.js";
import { headerValue } from "./header-fields.js";
import { parseHttpDate } from "./http-date.js";
import type { HttpRequestInfo } from "./http-cache-options.js";
import type { HeaderPairs, StoredResponse } from "./stored-response.js";

/** Fields a 304 carries (RFC 9110 §15.4.5) plus the cache's own. */
export const NOT_MODIFIED_FIELDS: ReadonlySet<string> = new Set([
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "vary",
  "last-modified",
]);

/** Fields a 304 must not overwrite in the stored response (RFC 9111 §3.2). */
const NOT_UPDATED_BY_304 = new Set([
  "content-length",
  "content-encoding",
  "content-md5",
  "content-range",
  "etag",
]);

const DIGITS = /^\d{1,15}$/;

/** Weak comparison (RFC 9110 §8.8.3.2) of an `If-None-Match` list against a stored `ETag`. */
export function weakEtagMatch(condition: string, etag: string): boolean {
  if (etag.length === 0) return false;
  const bare = etag.startsWith("W/") ? etag.slice(2) : etag;
  for (const item of splitList(condition)) {
    if (item === "*") return true;
    const candidate = item.startsWith("W/") ? item.slice(2) : item;
    if (candidate === bare) return true;
  }
  return false;
}

/**
 * RFC 9111 §4.3.2: whether the client's own conditional GET/HEAD is answered with 304 by a response
 * with these validators. `If-None-Match` takes precedence over `If-Modified-Since`; without
 * `Last-Modified` the response's `Date` (or its arrival) stands for the modification time.
 */
export function isNotModified(
  request: HttpRequestInfo,
  etag: string,
  lastModified: string,
  headers: HeaderPairs,
  responseAt: number,
): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const inm = request.header("if-none-match");
  if (inm !== undefined) return weakEtagMatch(inm, etag);
  const ims = parseHttpDate(request.header("if-modified-since"), responseAt);
  if (ims === undefined) return false;
  const modified =
    parseHttpDate(lastModified.length > 0 ? lastModified : undefined, responseAt) ??
    parseHttpDate(headerValue(headers, "date"), responseAt) ??
    responseAt;
  return modified <= ims;
}

/**
 * The stored header fields updated with a validation's 304 (RFC 9111 §3.2): every field the 304
 * carries replaces the stored one, except the ones describing the stored body and the ones
 * `isStorableField` rejects (hop-by-hop, listed in `Connection`, not allowlisted).
 */
export function mergeNotModified(
  stored: HeaderPairs,
  headers304: HeaderPairs,
  isStorableField: (name: string) => boolean,
): (readonly [string, string])[] {
  const updates = new Map<string, string[]>();
  for (const [name, value] of headers304) {
    if (!isStorableField(name) || NOT_UPDATED_BY_304.has(name)) continue;
    const list = updates.get(name);
    if (list === undefined) updates.set(name, [value]);
    else list.push(value);
  }
  const merged: (readonly [string, string])[] = [];
  for (const pair of stored) if (!updates.has(pair[0])) merged.push(pair);
  for (const [name, values] of updates) for (const value of values) merged.push([name, value]);
  return merged;
}

/**
 * The single byte range a GET asks for, as `[start, end)` within a stored complete 200, or
 * `undefined` to send the whole response (multiple ranges, unsatisfiable ranges, a failed
 * `If-Range`, other units: RFC 9110 §14.2 lets a server ignore `Range`).
 */
export function byteRange(request: HttpRequestInfo, stored: StoredResponse): [number, number] | undefined {
  if (request.method !== "GET" || stored.status !== 200) return undefined;
  const header = request.header("range");
  if (header === undefined || !header.startsWith("bytes=") || header.includes(",")) return undefined;
  const ifRange = request.header("if-range");
  if (ifRange !== undefined) {
    const isStrongEtag = ifRange.startsWith('"') && stored.etag === ifRange;
    const isSameDate =
      !ifRange.startsWith('"') && !ifRange.startsWith("W/") && ifRange === stored.lastModified;
    if (!isStrongEtag && !isSameDate) return undefined;
  }
  const spec = header.slice(6).trim();
  const dash = spec.indexOf("-");
  if (dash === -1) return undefined;
  const length = stored.bodyLength;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first.length === 0) {
    const suffix = parseIndex(last);
    if (suffix === undefined || suffix === 0 || length === 0) return undefined;
    return [Math.max(0, length - suffix), length];
  }
  const from = parseIndex(first);
  const to = last.length === 0 ? length - 1 : parseIndex(last);
  if (from === undefined || to === undefined || from >= length || to < from) return undefined;
  return [from, Math.min(to, length - 1) + 1];
}

function parseIndex(raw: string): number | undefined {
  return DIGITS.test(raw) ? Number(raw) : undefined;
}
