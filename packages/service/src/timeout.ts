import { CacheError, toPositiveMilliseconds } from "@cachet/tier";
import type { Clock, Duration } from "@cachet/tier";
import type { Middleware, Service } from "./service.js";
import { checkClock, foregroundClock, checkObject, invoke } from "./validate.js";

/** Options for {@link timeout}. */
export interface TimeoutOptions {
  /**
   * Time source for the limit; tests pass a `ManualClock`.
   * @default wall time with referenced timers (a pending call keeps the process alive, as its I/O would)
   */
  clock?: Clock | undefined;
}

/**
 * A layer that gives each call at most `limit` to settle, then rejects it with `TIMEOUT`.
 *
 * The inner call is not cancelled (a service has no cancellation); its late result is dropped and
 * a late rejection is handled, so it never surfaces as an unhandled rejection. Put `timeout` inside
 * `retry` to limit each attempt, outside it to limit all attempts together.
 *
 * @param limit - milliseconds or a duration string such as `"200ms"`; more than zero.
 * @throws CacheError `INVALID_OPTION` when `limit` is not a positive duration or `clock` is not a clock.
 * The wrapped service rejects with `TIMEOUT` when a call takes `limit` or longer.
 *
 * @example
 * const bounded = timeout("250ms")(tierAsService(redisTier));
 */
export function timeout(limit: Duration, options: TimeoutOptions = {}): Middleware {
  const ms = toPositiveMilliseconds(limit, "timeout");
  checkObject(options, "options");
  const clock = checkClock(options.clock) ?? foregroundClock;
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => ({
    call: (req) =>
      new Promise<Res>((resolve, reject) => {
        let settled = false;
        const timer = clock.setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(new CacheError("TIMEOUT", `call did not finish within ${ms} ms (\`timeout\`)`));
        }, ms);
        invoke(() => inner.call(req)).then(
          (res) => {
            if (settled) return;
            settled = true;
            clock.clearTimeout(timer);
            resolve(res);
          },
          (error: unknown) => {
            if (settled) return;
            settled = true;
            clock.clearTimeout(timer);
            reject(error);
          },
        );
      }),
  });
}
