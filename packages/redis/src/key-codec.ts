const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Turns a cache key into the part of the Redis key after `prefix:`.
 *
 * Well-formed strings go in verbatim, so keys stay readable in `redis-cli`; Redis keys are binary
 * safe and the prefix glob is escaped, so glob characters, spaces and newlines need nothing. Two
 * kinds of string would not survive UTF-8 unchanged or could be mistaken for an escape: strings
 * with lone surrogates (UTF-8 replaces them with U+FFFD, so `"\uD800"` and `"\uDFFF"` would
 * collide) and strings starting with NUL. Those become NUL + the hex of their UTF-16 code units.
 * A verbatim key never starts with NUL, so the mapping is injective.
 */
export function encodeKeyPart(key: string): string {
  if (key.charCodeAt(0) !== 0 && !LONE_SURROGATE.test(key)) return key;
  let hex = "\u0000";
  for (let i = 0; i < key.length; i++) hex += key.charCodeAt(i).toString(16).padStart(4, "0");
  return hex;
}

/**
 * The inverse of {@link encodeKeyPart}; `undefined` for text it could not have produced (a NUL
 * form with bad hex), which no key of the tier maps to.
 */
export function decodeKeyPart(part: string): string | undefined {
  if (part.charCodeAt(0) !== 0) return part;
  const hex = part.slice(1);
  if (hex.length % 4 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  let key = "";
  for (let i = 0; i < hex.length; i += 4) key += String.fromCharCode(parseInt(hex.slice(i, i + 4), 16));
  return key;
}

/** Escapes Redis glob characters (`*?[]\`) so a prefix matches only itself in `SCAN MATCH`. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * Writes a tier's prefix so that it ends exactly at the first unescaped `:` of a Redis key: `\`
 * and `:` inside the prefix get a backslash. Without this, prefix `a` would see (and clear) the
 * keys of prefix `a:b`, since `a:b:k` is also `a` + `:` + `b:k`.
 */
export function escapePrefix(prefix: string): string {
  return prefix.replace(/[\\:]/g, "\\$&");
}
