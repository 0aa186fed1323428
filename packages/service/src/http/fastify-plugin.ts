import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeMiddleware } from "./node-middleware.js";

/** The part of a Fastify instance the plugin uses (so that `fastify` stays an optional peer). */
export interface FastifyInstanceLike {
  addHook(
    name: "onRequest",
    hook: (
      request: { readonly raw: IncomingMessage },
      reply: { readonly raw: ServerResponse },
      done: (error?: Error) => void,
    ) => void,
  ): unknown;
}

/**
 * A Fastify plugin: `app.register(httpCache.fastify)`. It is marked to skip Fastify's
 * encapsulation, so it caches every route of the instance it is registered on.
 */
export interface FastifyCachePlugin {
  (instance: FastifyInstanceLike, options: unknown, done: (error?: Error) => void): void;
}

/** Builds the Fastify face from the node:http face: both capture the raw response. */
export function createFastifyPlugin(middleware: NodeMiddleware): FastifyCachePlugin {
  const plugin: FastifyCachePlugin = (instance, _options, done) => {
    instance.addHook("onRequest", (request, reply, next) => {
      middleware(request.raw, reply.raw, (error?: unknown) => {
        if (error === undefined) next();
        else next(error instanceof Error ? error : new Error("middleware failed", { cause: error }));
      });
    });
    done();
  };
  const marked = plugin as FastifyCachePlugin & Record<symbol, unknown>;
  marked[Symbol.for("skip-override")] = true;
  marked[Symbol.for("fastify.display-name")] = "@cachet/service http-cache";
  return plugin;
}
