/**
 * Which response header fields the cache stores, and the tags it reads from them.
 *
 * Owns: the stored-field filter (hop-by-hop, `Connection`-listed, `Age`, the cache-status header,
 * cookies in a shared cache, tag and surrogate fields, the `storeHeaders` allowlist). Must never:
 * let a hop-by-hop field or, in a shared cache, a `Set-Cookie` into the store.
 */
import { connectionListed, isHopByHop } from "./header-fields.js";
import type { ResolvedOptions } from "./resolve-options.js";
import type { HeaderPairs } from "./stored-response.js";

const TAG_SEPARATORS = /[\s,]+/;

/** The policy values the filter reads. */
export type FieldPolicy = Pick<ResolvedOptions, "isShared" | "statusHeader" | "tagHeaders" | "storeHeaders">;

/** Whether a response field (lowercase name) is kept in the store, before `Connection` is considered. */
export function isStorableField(name: string, policy: FieldPolicy): boolean {
  if (isHopByHop(name) || name === "age" || name === policy.statusHeader) return false;
  if (policy.isShared && (name === "set-cookie" || name === "set-cookie2")) return false;
  if (policy.tagHeaders.has(name) || name === "surrogate-control") return false;
  return policy.storeHeaders === undefined || policy.storeHeaders.has(name);
}

/**
 * A predicate for the fields of one message that are stored: {@link isStorableField} and not
 * listed in that message's `Connection` field.
 */
export function storedFieldFilter(headers: HeaderPairs, policy: FieldPolicy): (name: string) => boolean {
  const listed = connectionListed(headers);
  return (name) => isStorableField(name, policy) && listed?.has(name) !== true;
}

/** The tags a response carries in its tag fields (comma- or space-separated values). */
export function tagsInFields(headers: HeaderPairs, tagHeaders: ReadonlySet<string>): Set<string> {
  const tags = new Set<string>();
  for (const [name, value] of headers) {
    if (!tagHeaders.has(name)) continue;
    for (const tag of value.split(TAG_SEPARATORS)) if (tag.length > 0) tags.add(tag);
  }
  return tags;
}
