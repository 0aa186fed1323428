import { CacheError, isCacheError, toMilliseconds } from "@cachet/tier";
import type { Clock, Duration, Milliseconds } from "@cachet/tier";
import type { Middleware, Service } from "./service.js";
import {
  callSafely,
  checkClock,
  foregroundClock,
  checkFunction,
  checkInteger,
  checkObject,
  invoke,
} from "./validate.js";

/**
 * Exponential backoff: the n-th retry waits `initial × factor^(n−1)`, capped at `max`.
 */
export interface ExponentialBackoff {
  /** Wait before the first retry. */
  initial: Duration;
  /** Growth per retry; 1 or more. @default 2 */
  factor?: number | undefined;
  /** Upper bound on any single wait. @default no bound */
  max?: Duration | undefined;
}

/**
 * How long to wait before a retry: a fixed {@link Duration}, an {@link ExponentialBackoff}, or a
 * function of the retry number (1 for the first retry) returning a duration.
 */
export type Backoff = Duration | ExponentialBackoff | ((retry: number) => Duration);

/** Options for {@link retry}. */
export interface RetryOptions {
  /**
   * Total number of attempts, the first one included; `1` means no retry.
   * @default 3
   */
  attempts?: number | undefined;
  /**
   * Wait before each retry. Waits use `clock`, so a `ManualClock` drives them in tests.
   * @default { initial: 50, factor: 2, max: 1_000 }
   */
  backoff?: Backoff | undefined;
  /**
   * Randomizes each wait so that many clients do not retry in lockstep. A fraction `j` in `[0, 1]`
   * shortens a wait `d` to `d × (1 − j × random())`; `1` is "full jitter", `0` none. A function
   * receives the computed wait and the retry number and returns the wait to use.
   * @default 0
   */
  jitter?: number | ((delay: Milliseconds, retry: number) => Milliseconds) | undefined;
  /**
   * Source of randomness for a fractional `jitter`, returning a number in `[0, 1)`. Tests pass a
   * fixed function to make waits deterministic.
   * @default Math.random
   */
  random?: (() => number) | undefined;
  /**
   * Decides whether an error is worth another attempt. It receives the error and the number of the
   * attempt that failed (1 for the first). A predicate that throws counts as "do not retry".
   * @default retries a `CacheError` with code `TIER_FAILURE` or `TIMEOUT`; never `CODEC`,
   * `INVALID_OPTION`, `CLOSED`, `CIRCUIT_OPEN`, `ABORTED` or an error that is not a `CacheError`
   */
  retryIf?: ((error: unknown, attempt: number) => boolean) | undefined;
  /**
   * Called before each wait with the error, the number of the attempt that failed and the wait.
   * For logging and metrics; a callback that throws never affects the call.
   * @default none
   */
  onRetry?: ((error: unknown, attempt: number, delay: Milliseconds) => void) | undefined;
  /**
   * Time source for the waits between attempts; tests pass a `ManualClock`.
   * @default wall time with referenced timers (a call waiting to retry keeps the process alive)
   */
  clock?: Clock | undefined;
}

/** The default `retryIf`: a `CacheError` with code `TIER_FAILURE` or `TIMEOUT`. */
export function isRetryableError(error: unknown): boolean {
  return isCacheError(error) && (error.code === "TIER_FAILURE" || error.code === "TIMEOUT");
}

const DEFAULT_BACKOFF: ExponentialBackoff = { initial: 50, factor: 2, max: 1_000 };

/**
 * A layer that calls the inner service again after a retryable failure, waiting between attempts.
 *
 * When every attempt fails, or `retryIf` says no, the call rejects with the last error, unchanged.
 * Only retry operations that are safe to repeat: every storage operation is (a repeated `insert`
 * stores the same entry), but a service with side effects may not be.
 *
 * @throws CacheError `INVALID_OPTION` naming the option when `attempts` is not a positive integer,
 * `backoff` or `jitter` is invalid, or a callback or `clock` has the wrong type.
 *
 * @example
 * const l2 = retry({ attempts: 4, backoff: { initial: "20ms", max: "500ms" }, jitter: 0.5 })(service);
 */
export function retry(options: RetryOptions = {}): Middleware {
  checkObject(options, "options");
  const attempts = options.attempts === undefined ? 3 : checkInteger(options.attempts, "attempts", 1);
  const delayFor = backoffFunction(options.backoff ?? DEFAULT_BACKOFF);
  const jitter = jitterFunction(options.jitter, options.random);
  checkFunction(options.retryIf, "retryIf");
  checkFunction(options.onRetry, "onRetry");
  const retryIf = options.retryIf ?? isRetryableError;
  const onRetry = options.onRetry;
  const clock = checkClock(options.clock) ?? foregroundClock;

  const shouldRetry = (error: unknown, attempt: number): boolean => {
    try {
      return retryIf(error, attempt) === true;
    } catch {
      return false;
    }
  };

  const wait = (ms: Milliseconds): Promise<void> =>
    ms <= 0 ? Promise.resolve() : new Promise((resolve) => clock.setTimeout(resolve, ms));

  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => ({
    call: async (req) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await invoke(() => inner.call(req));
        } catch (error) {
          if (attempt >= attempts || !shouldRetry(error, attempt)) throw error;
          const delay = jitter(delayFor(attempt), attempt);
          if (onRetry) callSafely(() => onRetry(error, attempt, delay));
          await wait(delay);
        }
      }
    },
  });
}

function backoffFunction(backoff: Backoff): (retry: number) => Milliseconds {
  if (typeof backoff === "function") {
    return (retry) => {
      let ms: Milliseconds;
      try {
        ms = toMilliseconds(backoff(retry), "backoff");
      } catch {
        // A backoff function that throws or returns nonsense must not turn a retryable failure
        // into a different error; retrying at once is the least surprising fallback.
        ms = 0;
      }
      return ms;
    };
  }
  if (typeof backoff === "object" && backoff !== null) {
    const initial = toMilliseconds(backoff.initial, "backoff.initial");
    const factor = backoff.factor ?? 2;
    if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
      throw new CacheError(
        "INVALID_OPTION",
        `\`backoff.factor\` must be a finite number of 1 or more, got ${String(factor)}`,
      );
    }
    const max = backoff.max === undefined ? Infinity : toMilliseconds(backoff.max, "backoff.max");
    if (max < initial) {
      throw new CacheError("INVALID_OPTION", "`backoff.max` must be at least `backoff.initial`");
    }
    return (retry) => Math.min(max, initial * factor ** (retry - 1));
  }
  const fixed = toMilliseconds(backoff, "backoff");
  return () => fixed;
}

function jitterFunction(
  jitter: RetryOptions["jitter"],
  random: RetryOptions["random"],
): (delay: Milliseconds, retry: number) => Milliseconds {
  checkFunction(random, "random");
  if (jitter === undefined || jitter === 0) return (delay) => delay;
  if (typeof jitter === "function") {
    return (delay, retry) => {
      let ms: number;
      try {
        ms = jitter(delay, retry);
      } catch {
        ms = delay;
      }
      return Number.isFinite(ms) && ms >= 0 ? ms : delay;
    };
  }
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw new CacheError(
      "INVALID_OPTION",
      `\`jitter\` must be a number from 0 to 1 or a function, got ${String(jitter)}`,
    );
  }
  const rand = random ?? Math.random;
  return (delay) => {
    let r: number;
    try {
      r = rand();
    } catch {
      r = 0;
    }
    if (!(r >= 0 && r < 1)) r = 0;
    return delay * (1 - jitter * r);
  };
}
