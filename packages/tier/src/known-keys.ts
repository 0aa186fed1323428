/**
 * The per-call form of {@link assertKnownOptions}: JavaScript callers and spread objects get no
 * type check, so `{ maxEntrys: 10 }` would otherwise be accepted and ignored in silence.
 *
 * It must stay cheap enough for per-call options: no allocation unless a key is unknown, and then
 * the one shared check (`assertKnownOptions`) builds the message, so every package words it alike.
 */
import { assertKnownOptions } from "./options.js";

/**
 * Throws unless every own key of `options` is one of `known`. Does nothing for a value that is not
 * an object (the caller's type checks report those).
 *
 * @param owner - what takes the options, as the user wrote it (`"memory"`, `"getOrInsert"`,
 *   `"failSafe"`), used in the message.
 * @throws CacheError `INVALID_OPTION` naming the unknown key and the closest known one.
 * @example
 * assertKnownKeys(options, ["soft", "hard"], "timeouts");
 * // `sotf` is not a timeouts option; did you mean `soft`?
 */
export function assertKnownKeys(options: unknown, known: readonly string[], owner: string): void {
  if (typeof options !== "object" || options === null) return;
  for (const key in options) {
    if (!Object.prototype.hasOwnProperty.call(options, key) || known.includes(key)) continue;
    assertKnownOptions(options, known, { owner });
    return;
  }
}
