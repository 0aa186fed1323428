/**
 * Something that answers a request asynchronously: a storage backend, a tier, a remote call.
 *
 * A service is one method, so wrapping it is easy: a {@link Layer} takes a service and returns
 * another that adds behaviour (a time limit, retries, a circuit breaker) around `call`.
 *
 * Contract: `call` reports failure by rejecting, never by throwing synchronously. Services in this
 * package reject with a `CacheError` from `@cachet/tier`.
 *
 * @example
 * const echo: Service<string, string> = { call: async (req) => req };
 */
export interface Service<Req, Res> {
  /** Handles one request. */
  call(req: Req): Promise<Res>;
}

/**
 * Any service, whatever its request and response types. Used as a constraint: every
 * `Service<Req, Res>` is assignable to it.
 */
export type AnyService = Service<never, unknown>;

/** The request type of a service type. */
export type RequestOf<S> = S extends Service<infer Req, unknown> ? Req : never;

/** The response type of a service type. */
export type ResponseOf<S> = S extends Service<never, infer Res> ? Res : never;

/**
 * A function from service to service: it wraps `inner` and returns the outer service.
 *
 * `Layer<In>` keeps the service's type; `Layer<In, Out>` may change it (an adapter from one request
 * type to another). A layer that works for every service type, as all the ready layers of this
 * package do, is a {@link Middleware}.
 *
 * @example
 * // A layer that counts calls, for one service type.
 * const counting: Layer<Service<string, number>> = (inner) => ({
 *   call: (req) => {
 *     calls++;
 *     return inner.call(req);
 *   },
 * });
 */
export type Layer<In extends AnyService, Out extends AnyService = In> = (inner: In) => Out;

/**
 * A layer that wraps any service and keeps its request and response types: `timeout`, `retry`,
 * `circuitBreaker`, `concurrencyLimit` and `tap` all return one. {@link compose} carries the
 * service's types through a middleware unchanged.
 *
 * `Req` and `Res` bound the services it accepts: a `tap` whose callbacks read `req.key` is a
 * `Middleware<{ key: string }>` and wraps only services whose requests have a `key`.
 */
export interface Middleware<Req = unknown, Res = unknown> {
  <R extends Req, S extends Res>(inner: Service<R, S>): Service<R, S>;
}
