/**
 * Stable error codes. Branch on these, never on messages.
 *
 * | code | meaning |
 * |---|---|
 * | `TIER_FAILURE` | a tier's backend failed (Redis down, a command rejected) |
 * | `TIMEOUT` | an operation or loader did not finish in its time limit |
 * | `CODEC` | a value could not be encoded, or stored bytes could not be decoded |
 * | `LOADER` | the loader threw or reported failure and no stale value could stand in |
 * | `CLOSED` | the cache or tier was used after `close()` |
 * | `INVALID_OPTION` | an option or argument is invalid; the message names it |
 * | `CIRCUIT_OPEN` | a tier was skipped because its circuit breaker is open |
 * | `ABORTED` | the caller's `AbortSignal` fired before a result was ready |
 */
export type CacheErrorCode =
  "TIER_FAILURE" | "TIMEOUT" | "CODEC" | "LOADER" | "CLOSED" | "INVALID_OPTION" | "CIRCUIT_OPEN" | "ABORTED";

/** Options for {@link CacheError}. */
export interface CacheErrorOptions {
  /** Name of the tier involved, when there is one. */
  tier?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
}

const BRAND = Symbol.for("cachet.CacheError");

/**
 * The one error type cachet throws. Branch on {@link CacheError.code}, never on the message.
 *
 * Use {@link isCacheError} rather than `instanceof`: an application that loads both the ESM and
 * the CJS build (or two versions) of this package has two `CacheError` classes.
 */
export class CacheError extends Error {
  override readonly name = "CacheError";
  /** What went wrong, from a stable catalogue. */
  readonly code: CacheErrorCode;
  /** Name of the tier involved, when there is one. */
  readonly tier: string | undefined;

  constructor(code: CacheErrorCode, message: string, options?: CacheErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.tier = options?.tier;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any cachet error, including one from a second copy of this package (dual ESM/CJS load). */
export function isCacheError(error: unknown): error is CacheError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
