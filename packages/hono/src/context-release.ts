import type { Context } from "hono";

/** The node response `@hono/node-server` passes in `c.env.outgoing`. */
interface NodeOutgoing {
  readonly closed?: boolean;
  once(event: "close", listener: () => void): unknown;
}

function nodeOutgoing(c: Context): NodeOutgoing | undefined {
  const env: unknown = c.env;
  if (typeof env !== "object" || env === null) return undefined;
  const outgoing = (env as { outgoing?: unknown }).outgoing;
  if (typeof outgoing !== "object" || outgoing === null) return undefined;
  return typeof (outgoing as Partial<NodeOutgoing>).once === "function"
    ? (outgoing as NodeOutgoing)
    : undefined;
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * The client's response, and a promise that settles once Hono and the server are done with the
 * request's context: only then may a background revalidation run the handlers on that context
 * again, since they write `c.res`, which Hono reads when the middleware chain unwinds.
 *
 * On `@hono/node-server` that is when the node response closed (sent or aborted). Elsewhere it is
 * when the response body was read to its end or cancelled (the server has the response by then),
 * plus one macrotask for middleware still unwinding.
 */
export function releaseAfterResponse(
  c: Context,
  response: Response,
): { response: Response; released: Promise<void> } {
  const outgoing = nodeOutgoing(c);
  if (outgoing !== undefined) {
    const released =
      outgoing.closed === true
        ? Promise.resolve()
        : new Promise<void>((resolve) => outgoing.once("close", resolve));
    return { response, released };
  }
  const body = response.body;
  if (body === null) return { response, released: nextMacrotask() };
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve)).then(nextMacrotask);
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const watched = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          release();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        controller.error(error);
        release();
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return {
    response: new Response(watched, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    }),
    released,
  };
}
