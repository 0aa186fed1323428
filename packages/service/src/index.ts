// Services and layers
export type { AnyService, Layer, Middleware, RequestOf, ResponseOf, Service } from "./service.js";
export { compose } from "./compose.js";
export type { AnyLayer, Composed, ComposedLayer } from "./compose.js";

// HTTP response cache
