/**
 * The one rule for tag lists, wherever tags are taken (entries, inserts, loads, tag invalidation):
 * an array of non-empty strings. A bare string would otherwise be spread into its letters
 * (`"oops"` → `o`, `o`, `p`, `s`).
 */
import { CacheError } from "./cache-error.js";

/** True for an array of non-empty strings (the empty array included). */
export function isTagList(tags: unknown): tags is readonly string[] {
  if (!Array.isArray(tags)) return false;
  for (const tag of tags as unknown[]) if (typeof tag !== "string" || tag.length === 0) return false;
  return true;
}

/**
 * Throws unless `tags` is an array of non-empty strings.
 * @param option - the option's name as the user wrote it (`"tags"`, `"invalidateTags"`), for the message.
 * @throws CacheError `INVALID_OPTION` naming `option`.
 */
export function assertTagList(tags: unknown, option: string): asserts tags is readonly string[] {
  if (!isTagList(tags)) {
    const got = typeof tags === "string" ? `the string ${JSON.stringify(tags)}` : describe(tags);
    throw new CacheError("INVALID_OPTION", `\`${option}\` must be an array of non-empty strings, got ${got}`);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array with an empty or non-string tag";
  return value === null ? "null" : typeof value;
}
