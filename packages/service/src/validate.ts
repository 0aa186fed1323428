import { CacheError } from "@cachet/tier";
import type { Clock, TimerHandle } from "@cachet/tier";

/**
 * The layers' default clock: wall time with ordinary, referenced timers. Unlike `systemClock`,
 * whose timers are `unref`'d for background work, a timeout or a retry wait belongs to a call
 * someone is awaiting, so it keeps the process alive like the I/O it stands in for would.
 */
export const foregroundClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as NodeJS.Timeout),
});

// Internal option checks shared by the layers. Every message names the option, as the house style asks.

export function checkObject(value: unknown, option: string): void {
  if (value !== undefined && (typeof value !== "object" || value === null)) {
    throw new CacheError("INVALID_OPTION", `\`${option}\` must be an object`);
  }
}

export function checkFunction(value: unknown, option: string): void {
  if (value !== undefined && typeof value !== "function") {
    throw new CacheError("INVALID_OPTION", `\`${option}\` must be a function`);
  }
}

export function checkInteger(value: unknown, option: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new CacheError(
      "INVALID_OPTION",
      `\`${option}\` must be an integer of ${min} or more, got ${String(value)}`,
    );
  }
  return value;
}

export function checkClock(value: unknown, option = "clock"): Clock | undefined {
  if (value === undefined) return undefined;
  if (!hasMethods(value, ["now", "setTimeout", "clearTimeout"])) {
    throw new CacheError(
      "INVALID_OPTION",
      `\`${option}\` must be a Clock with now, setTimeout and clearTimeout`,
    );
  }
  return value as Clock;
}

/** True when `value` is an object with a function under each of `names`. */
export function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === "function");
}

/** Calls a user callback that must never break the operation it observes. */
export function callSafely(fn: () => unknown): void {
  try {
    const result = fn();
    if (
      typeof result === "object" &&
      result !== null &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      (result as PromiseLike<unknown>).then(undefined, () => undefined);
    }
  } catch {
    // A logging or metrics callback that throws must not fail or alter the call it observes.
  }
}

/** Starts a call and turns a synchronous throw into a rejection. */
export function invoke<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Refuses keys of an options object that are not in `known`, naming the key and the closest known
 * one, so that a typo (`policy: { tll }`) fails at construction instead of being silently ignored.
 * `prefix` is the option path the object sits at (`"policy."`), or `""`.
 */
export function checkKnownKeys(value: object, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = closest(key, known);
    throw new CacheError(
      "INVALID_OPTION",
      `unknown option \`${prefix}${key}\`` +
        (suggestion === undefined ? "" : `; did you mean \`${prefix}${suggestion}\`?`),
    );
  }
}

/** The entry of `candidates` with the smallest edit distance to `word` (case-insensitive). */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions), one row of memory. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, substitution));
    }
    row = next;
  }
  return row[b.length]!;
}
