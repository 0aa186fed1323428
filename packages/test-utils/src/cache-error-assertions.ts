import { AssertionError, equal, ok } from "node:assert/strict";

/**
 * The fields of a cachet `CacheError` that tests assert on. Declared structurally, with the brand
 * `isCacheError` checks, because this package must not depend on `@cachet/tier` (tier's own tests
 * use it).
 */
export interface CaughtCacheError extends Error {
  readonly code: string;
  readonly tier: string | undefined;
  readonly cause?: unknown;
}

const BRAND = Symbol.for("cachet.CacheError");

function assertCacheError(error: unknown): asserts error is CaughtCacheError {
  ok(
    typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true,
    `expected a CacheError, got ${String(error)}`,
  );
}

/**
 * Awaits `promise` (or calls `run`), expects it to reject (throw) a `CacheError`, and returns the
 * error for further assertions. With `code`, also asserts the error's code.
 * Fails when it resolves, or when what it rejects with is not a `CacheError`.
 *
 * @example
 * const error = await caughtCacheError(cache.get("k"), "CLOSED");
 * expect(error.tier).toBe("redis");
 */
export async function caughtCacheError(
  promise: Promise<unknown> | (() => unknown),
  code?: string,
): Promise<CaughtCacheError> {
  let error: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (caught) {
    error = caught;
    assertCacheError(error);
    if (code !== undefined) equal(error.code, code);
    return error;
  }
  throw new AssertionError({ message: "expected a CacheError, but nothing was thrown" });
}

/** The synchronous form of {@link caughtCacheError}, for a function that must throw. */
export function thrownCacheError(run: () => unknown, code?: string): CaughtCacheError {
  try {
    run();
  } catch (error) {
    assertCacheError(error);
    if (code !== undefined) equal(error.code, code);
    return error;
  }
  throw new AssertionError({ message: "expected a CacheError, but nothing was thrown" });
}
