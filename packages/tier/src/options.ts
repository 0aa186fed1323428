import { CacheError } from "./cache-error.js";

/**
 * The known key closest to `key`, for a "did you mean" hint: compared case-insensitively by edit
 * distance (insertions, deletions, substitutions and swaps of neighbours each cost 1), and only
 * when it is close enough to be a typo (at most a third of the longer name, and at least 1).
 * `undefined` when nothing is that close.
 *
 * @example
 * closestKey("prefx", ["prefix", "codec"]);          // "prefix"
 * closestKey("meterprovider", ["meterProvider"]);    // "meterProvider"
 */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  const wanted = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(wanted.length, candidate.length) / 3));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Where an options check reports from: the owner's name in messages and the error's `tier`. */
export interface KnownOptionsContext {
  /** What takes the options, as the message names it, e.g. `"RedisTier"`. */
  owner: string;
  /** Dotted path of a nested options object, e.g. `"retryQueue"` (its keys are shown as `retryQueue.maxSize`). */
  path?: string;
  /** Tier (or component) name stored in the error's `tier` field. */
  tier?: string;
}

/**
 * Refuses an options object with a key its owner does not know, so that a misspelled option
 * (`prefx`, `meterprovider`) or a stray key from a spread object fails at construction instead of
 * being ignored in silence. Keys whose value is `undefined` are checked too: a typo is a typo.
 * Does nothing when `options` is not an object (the owner reports that itself).
 *
 * @throws CacheError `INVALID_OPTION` naming the first unknown key and, when there is one, the
 * closest known key.
 */
export function assertKnownOptions(
  options: unknown,
  known: readonly string[] | ReadonlySet<string>,
  context: KnownOptionsContext,
): void {
  if (typeof options !== "object" || options === null) return;
  const names: ReadonlySet<string> = known instanceof Set ? known : new Set(known as readonly string[]);
  for (const key of Object.keys(options)) {
    if (names.has(key)) continue;
    const prefix = context.path === undefined ? "" : `${context.path}.`;
    const suggestion = closestKey(key, names);
    const hint =
      suggestion === undefined
        ? `known options: ${[...names].map((name) => `\`${prefix}${name}\``).join(", ")}`
        : `did you mean \`${prefix}${suggestion}\`?`;
    const article = /^[aeiou]/i.test(context.owner) ? "an" : "a";
    throw new CacheError(
      "INVALID_OPTION",
      `\`${prefix}${key}\` is not ${article} ${context.owner} option; ${hint}`,
      {
        tier: context.tier,
      },
    );
  }
}

/** Optimal-string-alignment distance: Levenshtein plus swaps of two neighbouring characters. */
function editDistance(a: string, b: string): number {
  // Three rolling rows (two back for the swap case) keep this O(|b|) in memory.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1);
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, before[j - 2]! + 1);
      }
      current[j] = value;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
