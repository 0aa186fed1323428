import { CacheError } from "./cache-error.js";

/** A duration in milliseconds. */
export type Milliseconds = number;

/**
 * A duration given as milliseconds or as a string such as `"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`.
 * Every cachet option that takes a duration accepts either form.
 */
export type Duration = Milliseconds | `${number}${DurationUnit}`;

/** Units accepted in a {@link Duration} string. */
export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/**
 * Converts a {@link Duration} to milliseconds, checking it on the way.
 *
 * @param option - the option's name, used in the error message.
 * @throws CacheError `INVALID_OPTION` naming `option` when the value is negative, not finite or unparsable.
 */
export function toMilliseconds(value: Duration, option: string): Milliseconds {
  return parseDuration(value, option, true);
}

/**
 * As {@link toMilliseconds}, for options where zero makes no sense (a lease, a cool-down, an interval).
 * @throws CacheError `INVALID_OPTION` naming `option` when the value is zero, negative, not finite or unparsable.
 */
export function toPositiveMilliseconds(value: Duration, option: string): Milliseconds {
  return parseDuration(value, option, false);
}

function parseDuration(value: Duration, option: string, allowZero: boolean): Milliseconds {
  let ms: number;
  if (typeof value === "number") {
    ms = value;
  } else if (typeof value === "string") {
    const match = DURATION_PATTERN.exec(value);
    if (!match) {
      throw new CacheError(
        "INVALID_OPTION",
        `\`${option}\` must be milliseconds or a duration string like "30s" or "5m", got ${JSON.stringify(value)}`,
      );
    }
    ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  } else {
    throw new CacheError(
      "INVALID_OPTION",
      `\`${option}\` must be a number of milliseconds or a duration string`,
    );
  }
  if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    throw new CacheError(
      "INVALID_OPTION",
      `\`${option}\` must be ${allowZero ? "zero or more" : "more than zero"} milliseconds, got ${String(value)}`,
    );
  }
  return ms;
}
