import { CircuitBreaker, isCacheError } from "@cachet/tier";
import type { CircuitBreakerOptions } from "@cachet/tier";
import type { Middleware, Service } from "./service.js";
import { checkObject, hasMethods, invoke } from "./validate.js";

/**
 * The layer's default `isFailure`: every error counts against the backend's health except a
 * `CacheError` that describes the request or the caller rather than the backend (`CODEC`,
 * `INVALID_OPTION`, `ABORTED`, `CLOSED`, `CIRCUIT_OPEN`).
 */
export function isBackendFailure(error: unknown): boolean {
  if (!isCacheError(error)) return true;
  return error.code === "TIER_FAILURE" || error.code === "TIMEOUT" || error.code === "LOADER";
}

/**
 * A layer that runs every call through a `CircuitBreaker` from `@cachet/tier` (the same breaker
 * `@cachet/core` puts around remote tiers): after repeated failures it rejects calls at once with
 * `CIRCUIT_OPEN`, without calling the inner service, until its cooldown passes and one probe call
 * succeeds.
 *
 * Pass options to make a breaker for this layer, or pass a `CircuitBreaker` you made to read its
 * `state`, `reset()` it, or share it between services. Built from options, the breaker counts
 * failures with {@link isBackendFailure} unless you give `isFailure`; a breaker you pass keeps its
 * own `isFailure`. Put `circuitBreaker` outside `retry`, so that a call refused by an open circuit
 * is not retried and a whole retried call counts as one outcome.
 *
 * @throws CacheError `INVALID_OPTION` naming the option when a breaker option is out of range
 * (see `CircuitBreakerOptions`). The wrapped service rejects with `CIRCUIT_OPEN` while the circuit
 * is open, and otherwise exactly as the inner service does.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureThreshold: 5, cooldown: "30s", name: "redis" });
 * const guarded = circuitBreaker(breaker)(tierAsService(redisTier));
 * breaker.state; // "closed" | "open" | "half-open"
 */
export function circuitBreaker(options: CircuitBreakerOptions | CircuitBreaker = {}): Middleware {
  checkObject(options, "options");
  const breaker = isBreaker(options)
    ? options
    : new CircuitBreaker({ ...options, isFailure: options.isFailure ?? isBackendFailure });
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => ({
    call: (req) => breaker.execute(() => invoke(() => inner.call(req))),
  });
}

/** Recognizes a breaker also when it comes from a second copy of `@cachet/tier` (ESM and CJS). */
function isBreaker(value: CircuitBreakerOptions | CircuitBreaker): value is CircuitBreaker {
  return (
    value instanceof CircuitBreaker ||
    hasMethods(value, ["execute", "tryAcquire", "recordSuccess", "recordFailure"])
  );
}
