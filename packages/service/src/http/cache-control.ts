/**
 * Parsed `Cache-Control` directives: lowercase directive name → its argument, or `true` when the
 * directive has no argument. Quoted arguments are unquoted.
 */
export type CacheControl = ReadonlyMap<string, string | true>;

const EMPTY: CacheControl = new Map();

/**
 * Parses one or more `Cache-Control` field values (comma-separated lists, already combined).
 *
 * Hand-written rather than regex-based: it runs on every request and response. When a directive
 * appears twice, the first occurrence wins, except that a duplicated delta-seconds directive with a
 * conflicting value is treated as invalid (RFC 9111 §4.2.1: use the most restrictive, i.e. 0 is not
 * right either, so a cache treats it as stale: we keep `"0"`).
 */
export function parseCacheControl(value: string | undefined): CacheControl {
  if (value === undefined || value.length === 0) return EMPTY;
  const out = new Map<string, string | true>();
  const length = value.length;
  let i = 0;
  while (i < length) {
    // skip separators and whitespace
    let c = value.charCodeAt(i);
    while (i < length && (c === 44 || c === 32 || c === 9)) c = value.charCodeAt(++i);
    if (i >= length) break;
    const nameStart = i;
    while (i < length) {
      c = value.charCodeAt(i);
      if (c === 61 || c === 44 || c === 32 || c === 9 || c === 59) break;
      i++;
    }
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < length && (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9)) i++;
    let arg: string | true = true;
    if (i < length && value.charCodeAt(i) === 61) {
      i++;
      while (i < length && (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9)) i++;
      if (i < length && value.charCodeAt(i) === 34) {
        i++;
        let text = "";
        while (i < length && value.charCodeAt(i) !== 34) {
          if (value.charCodeAt(i) === 92 && i + 1 < length) i++;
          text += value[i];
          i++;
        }
        i++;
        arg = text;
      } else {
        const argStart = i;
        while (i < length) {
          c = value.charCodeAt(i);
          if (c === 44 || c === 32 || c === 9 || c === 59) break;
          i++;
        }
        arg = value.slice(argStart, i);
      }
    }
    // Skip anything up to the next comma (parameters, junk). A directive name found in that junk
    // (`max-age=60; private`, `max-age=60 no-store`, missing commas) still counts: a shared cache
    // fails closed on a malformed header rather than storing what it may have been told not to.
    const junkStart = i;
    while (i < length && value.charCodeAt(i) !== 44) i++;
    if (i > junkStart) {
      for (const word of value
        .slice(junkStart, i)
        .toLowerCase()
        .split(/[\s;]+/)) {
        const token = word.split("=")[0]!;
        if (token === "private" || token === "no-store" || token === "no-cache") {
          if (!out.has(token)) out.set(token, true);
        }
      }
    }
    if (name.length === 0) continue;
    const previous = out.get(name);
    if (previous === undefined) out.set(name, arg);
    else if (previous !== arg && isDeltaDirective(name)) out.set(name, "0");
  }
  return out;
}

function isDeltaDirective(name: string): boolean {
  return (
    name === "max-age" ||
    name === "s-maxage" ||
    name === "stale-while-revalidate" ||
    name === "stale-if-error"
  );
}

/**
 * Reads a delta-seconds directive (`max-age=60`) as milliseconds. Returns `undefined` when the
 * directive is absent or its argument is not a non-negative integer; very large values are capped
 * at 2^31 seconds as RFC 9111 §1.2.2 asks.
 */
export function deltaSeconds(cc: CacheControl, name: string): number | undefined {
  const raw = cc.get(name);
  if (raw === undefined || raw === true) return undefined;
  return parseDelta(raw);
}

/** Parses a delta-seconds string to milliseconds, or `undefined` when malformed. */
export function parseDelta(raw: string): number | undefined {
  if (raw.length === 0) return undefined;
  let seconds = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    if (seconds < 2_147_483_648) seconds = seconds * 10 + (c - 48);
  }
  return Math.min(seconds, 2_147_483_648) * 1000;
}

/** Splits a comma-separated field value into trimmed, non-empty items. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(",")) {
    const item = part.trim();
    if (item.length > 0) out.push(item);
  }
  return out;
}
