import { systemClock } from "@cachet/tier";
import type { Clock, Milliseconds } from "@cachet/tier";
import type { Middleware, Service } from "./service.js";
import { callSafely, checkClock, checkFunction, checkObject, invoke } from "./validate.js";

/** Options for {@link tap}. Every callback is optional, and none can break the call it observes. */
export interface TapOptions<Req, Res> {
  /** Called with each request before it reaches the inner service. @default none */
  onRequest?: ((req: Req) => void) | undefined;
  /** Called with each response, its request, and how long the call took on `clock`. @default none */
  onResponse?: ((res: Res, req: Req, duration: Milliseconds) => void) | undefined;
  /** Called with each rejection, its request, and how long the call took on `clock`. @default none */
  onError?: ((error: unknown, req: Req, duration: Milliseconds) => void) | undefined;
  /** Time source for `duration`. @default systemClock */
  clock?: Clock | undefined;
}

/**
 * A layer that observes calls without changing them: for logging, metrics and tests.
 *
 * A callback that throws, or returns a promise that rejects, is ignored: the call resolves or
 * rejects exactly as it would without the tap. Untyped callbacks see `unknown`; annotate a
 * callback's parameters (or pass type arguments) and the tap accepts only services whose requests
 * and responses fit them.
 *
 * @throws CacheError `INVALID_OPTION` when a callback or `clock` has the wrong type.
 *
 * @example
 * const logged = tap({
 *   onError: (error, req) => logger.warn({ error, req }, "L2 call failed"),
 * })(tierAsService(redisTier));
 */
export function tap<Req = unknown, Res = unknown>(options: TapOptions<Req, Res>): Middleware<Req, Res> {
  checkObject(options, "options");
  checkFunction(options.onRequest, "onRequest");
  checkFunction(options.onResponse, "onResponse");
  checkFunction(options.onError, "onError");
  const clock = checkClock(options.clock) ?? systemClock;
  const { onRequest, onResponse, onError } = options;

  return <R extends Req, S extends Res>(inner: Service<R, S>): Service<R, S> => ({
    call: (req) => {
      const startedAt = clock.now();
      if (onRequest) callSafely(() => onRequest(req));
      const result = invoke(() => inner.call(req));
      if (onResponse || onError) {
        result.then(
          (res) => {
            if (onResponse) callSafely(() => onResponse(res, req, clock.now() - startedAt));
          },
          (error: unknown) => {
            if (onError) callSafely(() => onError(error, req, clock.now() - startedAt));
          },
        );
      }
      return result;
    },
  });
}
