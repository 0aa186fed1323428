/**
 * Refusing misspelled option keys: JavaScript callers and spread objects get no type check, so
 * `{ maxEntrys: 10 }` would otherwise be accepted and ignored in silence.
 *
 * Self-contained on purpose (no imports besides the error): every package validates its options
 * with it at construction, and it must stay cheap enough for per-call options (no allocation
 * unless it throws).
 */
import { CacheError } from "./cache-error.js";

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
    const closest = closestKey(key, known);
    const hint =
      closest === undefined
        ? `known options: ${known.map((k) => `\`${k}\``).join(", ")}`
        : `did you mean \`${closest}\`?`;
    // The wording of `assertKnownOptions` (redis, telemetry): one message shape across packages.
    const article = /^[aeiou]/i.test(owner) ? "an" : "a";
    throw new CacheError("INVALID_OPTION", `\`${key}\` is not ${article} ${owner} option; ${hint}`);
  }
}

/**
 * The known key nearest to `key` by edit distance (letters inserted, removed, replaced or swapped,
 * ignoring case), or `undefined` when none is near enough to be a plausible typo.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const typed = key.toLowerCase();
  // A third of the word, at least 2: "tll" → "ttl", "sotf" → "soft", but not "x" → "ttl".
  const limit = Math.max(2, Math.floor(typed.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus swapping two adjacent letters. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}
