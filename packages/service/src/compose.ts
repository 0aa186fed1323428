import { CacheError } from "@cachet/tier";
import type { AnyService, Middleware, RequestOf, ResponseOf, Service } from "./service.js";

/** Any layer or middleware, as accepted by {@link compose}. */
export type AnyLayer = (inner: never) => AnyService;

/** The service type that results from wrapping a service of type `S` in one layer `L`. */
type Wrapped<L, S> =
  L extends Middleware<infer Req, infer Res>
    ? [S] extends [Service<Req, Res>]
      ? Service<RequestOf<S>, ResponseOf<S>>
      : never
    : L extends (inner: infer In) => infer Out
      ? [S] extends [In]
        ? Out
        : never
      : never;

/**
 * The service type that `compose(...Ls)` returns for an inner service of type `S`: the layers are
 * applied from the last (innermost) to the first (outermost). `never` when a layer does not accept
 * the service type the layer inside it produces.
 */
export type Composed<Ls extends readonly unknown[], S> = Ls extends readonly [...infer Outer, infer Last]
  ? Composed<Outer, Wrapped<Last, S>>
  : S;

/** The service type the innermost layer accepts. */
type InputOf<Ls extends readonly unknown[]> = Ls extends readonly [...unknown[], infer Last]
  ? Last extends Middleware<infer Req, infer Res>
    ? Service<Req, Res>
    : Last extends (inner: infer In) => unknown
      ? In
      : AnyService
  : AnyService;

/** Marks a composition whose layers do not fit together; a service argument never matches it. */
interface LayersDoNotFit {
  readonly "the layers passed to compose() do not fit together": never;
}

/**
 * The function `compose` returns: it wraps a service in every layer, the first layer outermost.
 */
export interface ComposedLayer<Ls extends readonly unknown[]> {
  <S extends InputOf<Ls>>(
    service: S & ([Composed<Ls, S>] extends [never] ? LayersDoNotFit : unknown),
  ): Composed<Ls, S>;
}

/**
 * Combines layers into one, the **first layer outermost**: `compose(a, b, c)(service)` is
 * `a(b(c(service)))`, so a request goes through `a`, then `b`, then `c`, then `service`, and the
 * response comes back the other way.
 *
 * Order matters. `compose(timeout(1_000), retry({ attempts: 3 }))` gives all attempts together one
 * second; `compose(retry({ attempts: 3 }), timeout(1_000))` gives each attempt its own second.
 *
 * Types flow from the inner service outwards: a {@link Middleware} keeps the service's types, and a
 * typed `Layer<In, Out>` must accept what the layer inside it produces, or the call does not compile.
 * `compose()` with no layers returns the service itself.
 *
 * @throws CacheError `INVALID_OPTION` when an argument is not a function.
 *
 * @example
 * const resilient = compose(
 *   circuitBreaker({ failureThreshold: 5, cooldown: "30s" }),
 *   retry({ attempts: 3, backoff: 50 }),
 *   timeout(200),
 * )(tierAsService(redisTier));
 */
export function compose<const Ls extends readonly AnyLayer[]>(...layers: Ls): ComposedLayer<Ls> {
  layers.forEach((layer, i) => {
    if (typeof layer !== "function") {
      throw new CacheError(
        "INVALID_OPTION",
        `\`layers[${i}]\` must be a layer (a function from service to service)`,
      );
    }
  });
  const wrap = (service: AnyService): AnyService => {
    let outer = service;
    for (let i = layers.length - 1; i >= 0; i--) {
      outer = (layers[i] as (inner: AnyService) => AnyService)(outer);
    }
    return outer;
  };
  return wrap as unknown as ComposedLayer<Ls>;
}
