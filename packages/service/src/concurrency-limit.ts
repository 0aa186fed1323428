import { CacheError } from "@cachet/tier";
import type { Middleware, Service } from "./service.js";
import { checkInteger, checkObject, invoke } from "./validate.js";

/** Options for {@link concurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /**
   * Most calls allowed to wait for a slot. A call beyond it rejects at once with `TIER_FAILURE`
   * instead of queueing, which sheds load when the backend is slower than the traffic.
   * @default unbounded
   */
  maxQueue?: number | undefined;
}

/**
 * A layer that lets at most `limit` calls run on the inner service at once; later calls wait in a
 * first-in, first-out queue and start as running calls settle.
 *
 * Each service the layer wraps gets its own limit and queue. To share one limit between services,
 * wrap one service and reuse the result.
 *
 * @param limit - the most calls in flight; a positive integer.
 * @throws CacheError `INVALID_OPTION` when `limit` or `maxQueue` is not a valid integer.
 * The wrapped service rejects with `TIER_FAILURE` when the queue already holds `maxQueue` calls.
 *
 * @example
 * const gentle = concurrencyLimit(8, { maxQueue: 1_000 })(tierAsService(redisTier));
 */
export function concurrencyLimit(limit: number, options: ConcurrencyLimitOptions = {}): Middleware {
  checkInteger(limit, "limit", 1);
  checkObject(options, "options");
  const maxQueue = options.maxQueue === undefined ? Infinity : checkInteger(options.maxQueue, "maxQueue", 0);

  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => {
    let running = 0;
    const queue: (() => void)[] = [];

    const release = (): void => {
      const next = queue.shift();
      if (next) next();
      else running--;
    };

    const run = (req: Req): Promise<Res> => {
      const result = invoke(() => inner.call(req));
      result.then(release, release);
      return result;
    };

    return {
      call: (req) => {
        if (running < limit) {
          running++;
          return run(req);
        }
        if (queue.length >= maxQueue) {
          return Promise.reject(
            new CacheError(
              "TIER_FAILURE",
              `\`concurrencyLimit\` queue is full (${limit} running, ${maxQueue} waiting)`,
            ),
          );
        }
        // The slot passes straight from the call that settles to the first waiter, so `running`
        // stays at `limit` and no later caller can overtake the queue.
        return new Promise<Res>((resolve, reject) => {
          queue.push(() => {
            run(req).then(resolve, reject);
          });
        });
      },
    };
  };
}
