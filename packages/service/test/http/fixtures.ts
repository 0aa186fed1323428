import { createServer, request as httpRequest } from "node:http";
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import { isHopByHop } from "../../src/http/header-fields.js";
import { createHttpCache } from "../../src/http/http-cache.js";
import type { HttpCache } from "../../src/http/http-cache.js";
import type { HttpCacheOptions } from "../../src/http/http-cache-options.js";
import type { HttpCacheValue } from "../../src/http/stored-response.js";

/** A server on 127.0.0.1 with an ephemeral port. */
export interface Listening {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export async function listen(listener: RequestListener): Promise<Listening> {
  const server = createServer(listener);
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** What the origin saw for one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
}

export type OriginHandler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

/** A scriptable origin that records requests and stamps `Date` from the test's clock. */
export interface Origin extends Listening {
  handler: OriginHandler;
  readonly seen: SeenRequest[];
}

export async function startOrigin(clock: ManualClock, handler: OriginHandler): Promise<Origin> {
  const seen: SeenRequest[] = [];
  const origin: { handler: OriginHandler; seen: SeenRequest[] } = { handler, seen };
  const listening = await listen((req, res) => {
    seen.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: { ...req.headers } });
    res.setHeader("date", new Date(clock.now()).toUTCString());
    void Promise.resolve(origin.handler(req, res, seen.length)).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  return Object.assign(listening, origin);
}

/** Fields a forwarding hop drops: the package's hop-by-hop list, and `host` (set per connection). */
const isForwarded = (name: string): boolean => !isHopByHop(name) && name !== "host";

/** Forwards a request to `originUrl` (the "application" behind the middleware). */
export function forward(originUrl: string, req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && isForwarded(name)) headers[name] = value;
  }
  const target = new URL(originUrl);
  // the path as received: a URL string would normalize dot segments on the way
  const options = {
    host: target.hostname,
    port: target.port,
    path: req.url ?? "/",
    method: req.method,
    headers,
  };
  const upstream = httpRequest(options, (response) => {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && isForwarded(name)) out[name] = value;
    }
    res.writeHead(response.statusCode ?? 502, out);
    response.pipe(res);
  });
  upstream.on("error", (error) => {
    if (res.headersSent) res.destroy(error);
    else {
      res.statusCode = 502;
      res.end(String(error));
    }
  });
  // A background revalidation runs after the client was answered, when Node has already
  // drained the (empty) request body: GET and HEAD need no piping.
  if (req.method === "GET" || req.method === "HEAD") upstream.end();
  else req.pipe(upstream);
}

/** A clock on a whole second, so that `Date` headers (second precision) match it exactly. */
export function wholeSecondClock(): ManualClock {
  return new ManualClock(Math.floor(Date.now() / 1000) * 1000);
}

/** Origin + node:http cache proxy, both on real ports, sharing one ManualClock and MockCache. */
export interface Harness {
  readonly clock: ManualClock;
  readonly store: MockCache<string, HttpCacheValue>;
  readonly origin: Origin;
  readonly proxy: Listening;
  readonly cache: HttpCache;
  /** Fetches `path` through the cache. */
  get(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startHarness(
  handler: OriginHandler,
  options: Partial<HttpCacheOptions> = {},
): Promise<Harness> {
  const clock = wholeSecondClock();
  const store = new MockCache<string, HttpCacheValue>({ clock });
  const origin = await startOrigin(clock, handler);
  const cache = createHttpCache({ cache: store, clock, mode: "standards", ...options });
  const middleware = cache.middleware();
  const proxy = await listen((req, res) => middleware(req, res, () => forward(origin.url, req, res)));
  return {
    clock,
    store,
    origin,
    proxy,
    cache,
    get: (path, init) => fetch(`${proxy.url}${path}`, init),
    close: async () => {
      await proxy.close();
      await origin.close();
    },
  };
}

/** Reads a response fully and returns status, body text and the cache status header. */
export async function read(
  response: Response,
): Promise<{ status: number; body: string; xCache: string | null }> {
  return { status: response.status, body: await response.text(), xCache: response.headers.get("x-cache") };
}

/** A promise with its resolve function, to hold an origin response until the test releases it. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Resolves once `predicate` holds. It polls for I/O to complete on real sockets (a background
 * revalidation, a store write); cache time itself is always driven by the ManualClock.
 */
export async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (predicate()) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 2));
  }
  throw new Error("condition not reached");
}
