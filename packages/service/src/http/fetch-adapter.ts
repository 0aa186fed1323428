import type { ClientWriter, OriginResponse, RequestChanges, RequestServer } from "./adapter-contract.js";
import type { HttpRequestInfo } from "./http-cache-options.js";
import type { HeaderPairs } from "./stored-response.js";

/**
 * A web-standard request handler: Hono apps, Next.js route handlers, Bun / Deno / Cloudflare style
 * `fetch` handlers.
 */
export type FetchHandler = (request: Request) => Promise<Response>;

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function requestInfo(request: Request): HttpRequestInfo {
  const hash = request.url.indexOf("#");
  return {
    method: request.method.toUpperCase(),
    url: hash === -1 ? request.url : request.url.slice(0, hash),
    header: (name) => request.headers.get(name) ?? undefined,
  };
}

function originRequest(request: Request, changes: RequestChanges): Request {
  if (changes.set.length === 0 && changes.remove.length === 0) return request;
  const headers = new Headers(request.headers);
  for (const name of changes.remove) headers.delete(name);
  for (const [name, value] of changes.set) headers.set(name, value);
  return new Request(request, { headers });
}

function toOrigin(response: Response): OriginResponse {
  const headers: (readonly [string, string])[] = [];
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) headers.push(["set-cookie", cookie]);
  return { status: response.status, headers, body: response.body as AsyncIterable<Uint8Array> | null };
}

/**
 * `Headers` built from frozen lists, which the engine sends again. Never handed out: a `Response`
 * copies the `Headers` it is given, so one instance can initialize many responses.
 */
const reusedHeaders = new WeakMap<HeaderPairs, Headers>();

function toHeaders(pairs: HeaderPairs): Headers {
  const isReused = Object.isFrozen(pairs);
  let headers = isReused ? reusedHeaders.get(pairs) : undefined;
  if (headers !== undefined) return headers;
  headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  if (isReused) reusedHeaders.set(pairs, headers);
  return headers;
}

/** Writes the engine's answer into a `Response`, streaming when the engine streams. */
class ResponseWriter implements ClientWriter {
  isStarted = false;
  readonly #resolve: (response: Response) => void;
  readonly #isHead: boolean;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #wake: (() => void) | undefined;

  constructor(resolve: (response: Response) => void, isHead: boolean) {
    this.#resolve = resolve;
    this.#isHead = isHead;
  }

  send(status: number, headers: HeaderPairs, body: Uint8Array | null): void {
    this.isStarted = true;
    const hasBody = body !== null && !this.#isHead && !NULL_BODY_STATUSES.has(status);
    this.#resolve(new Response(hasBody ? body : null, { status, headers: toHeaders(headers) }));
  }

  head(status: number, headers: HeaderPairs): void {
    this.isStarted = true;
    if (this.#isHead || NULL_BODY_STATUSES.has(status)) {
      this.#resolve(new Response(null, { status, headers: toHeaders(headers) }));
      return;
    }
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          const wake = this.#wake;
          this.#wake = undefined;
          wake?.();
        },
        cancel: () => {
          this.#controller = undefined;
          const wake = this.#wake;
          this.#wake = undefined;
          wake?.();
        },
      },
      { highWaterMark: 4 },
    );
    this.#resolve(new Response(stream, { status, headers: toHeaders(headers) }));
  }

  write(chunk: Uint8Array): void | Promise<void> {
    const controller = this.#controller;
    if (controller === undefined) return;
    controller.enqueue(chunk);
    if ((controller.desiredSize ?? 1) > 0) return;
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  end(): void {
    try {
      this.#controller?.close();
    } catch {
      // already closed or cancelled by the client
    }
    this.#controller = undefined;
  }

  abort(error: unknown): void {
    try {
      this.#controller?.error(error);
    } catch {
      // already closed
    }
    this.#controller = undefined;
  }
}

/** Wraps a fetch handler with the engine. */
export function cachedFetchHandler(engine: RequestServer, handler: FetchHandler): FetchHandler {
  return (request: Request) =>
    new Promise<Response>((resolve, reject) => {
      const writer = new ResponseWriter(resolve, request.method.toUpperCase() === "HEAD");
      const info = requestInfo(request);
      // A fresh hit from an in-process store: answered here (a throw rejects the returned promise).
      if (engine.answerSync(info, writer)) return;
      const origin = async (changes: RequestChanges): Promise<OriginResponse> =>
        toOrigin(await handler(originRequest(request, changes)));
      engine.serve(info, origin, writer).catch((error: unknown) => {
        if (writer.isStarted) writer.abort(error);
        else reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
}
