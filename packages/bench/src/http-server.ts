// A server for the HTTP scenario, in its own process so the load generator does not share its
// event loop: `node http-server.js <node|fetch|fastify> <limit|cached|uncached|limit-same-bytes>`.
// It reports its port over IPC, answers `{ cpu: true }` with its `process.cpuUsage()`, and runs
// until killed. For `scripts/http-ab.mjs` (A/B of builds): `CACHET_SERVICE_ENTRY` loads
// `@cachet/service` from another build's `dist/index.js`; `limit-same-bytes` (node only) answers a
// constant with the cached path's exact head (`Content-Length`, `Age`, `X-Cache`) and a Buffer body;
// `{ allocStart: true }` / `{ allocStop: true }` sample allocations (answered `allocStarted` and
// `alloc`), and `{ exit: true }` exits (so that a `--cpu-prof` profile is written).
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { MemoryTier } from "@cachet/memory";
import type * as Service from "@cachet/service";
import type { HttpCacheValue } from "@cachet/service";
import Fastify from "fastify";
import { startAllocationSampling } from "./alloc-sampler.js";
import type { Allocations } from "./alloc-sampler.js";

const serviceEntry = process.env.CACHET_SERVICE_ENTRY;
const { createHttpCache } = (await import(
  serviceEntry === undefined ? "@cachet/service" : pathToFileURL(serviceEntry).href
)) as typeof Service;

const ORIGIN_MS = 20;
const BODY = JSON.stringify({
  items: Array.from({ length: 8 }, (_, i) => ({
    id: i,
    name: `product ${i}`,
    price: 10 + i,
    tags: ["a", "b"],
  })),
});
const HEADERS: Record<string, string> = {
  "content-type": "application/json",
  "cache-control": "public, max-age=600",
};
const BODY_BYTES = Buffer.from(BODY);
/** The head the cached path sends for a hit, as a flat list. */
const SAME_HEAD = [
  ...Object.entries(HEADERS).flat(),
  ...["content-length", String(BODY_BYTES.length), "age", "0", "x-cache", "HIT"],
];

const [adapter, mode] = process.argv.slice(2) as [string, string];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function newHttpCache(): ReturnType<typeof createHttpCache> {
  return createHttpCache({
    cache: new MemoryTier<string, HttpCacheValue>({ maxEntries: 1_000 }),
    mode: "server",
  });
}

/** Bridges node:http to a fetch-style handler, the way a fetch-first framework's node adapter does. */
function serveFetch(handler: (request: Request) => Promise<Response>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
      method: req.method ?? "GET",
      headers,
    });
    handler(request)
      .then(async (response) => {
        const out: Record<string, string> = {};
        response.headers.forEach((value, name) => (out[name] = value));
        const body = Buffer.from(await response.arrayBuffer());
        res.writeHead(response.status, out);
        res.end(body);
      })
      .catch(() => {
        res.statusCode = 500;
        res.end();
      });
  };
}

async function listen(): Promise<number> {
  if (adapter === "fastify") {
    const app = Fastify();
    if (mode === "cached") await app.register(newHttpCache().fastify);
    app.get("/", async (_request, reply) => {
      if (mode !== "limit") await sleep(ORIGIN_MS);
      void reply.headers(HEADERS);
      return BODY;
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    return (app.server.address() as AddressInfo).port;
  }
  let handle: (req: IncomingMessage, res: ServerResponse) => void;
  if (adapter === "fetch") {
    const origin = async (): Promise<Response> => {
      if (mode !== "limit") await sleep(ORIGIN_MS);
      return new Response(BODY, { headers: HEADERS });
    };
    handle = serveFetch(mode === "cached" ? newHttpCache().fetch(origin) : origin);
  } else {
    const origin = (_req: IncomingMessage, res: ServerResponse): void => {
      if (mode === "limit-same-bytes") {
        res.writeHead(200, SAME_HEAD);
        res.end(BODY_BYTES);
        return;
      }
      if (mode === "limit") {
        res.writeHead(200, HEADERS);
        res.end(BODY);
        return;
      }
      setTimeout(() => {
        res.writeHead(200, HEADERS);
        res.end(BODY);
      }, ORIGIN_MS);
    };
    if (mode === "cached") {
      const middleware = newHttpCache().middleware();
      handle = (req, res) =>
        middleware(req, res, (error) => {
          if (error === undefined) origin(req, res);
          else {
            res.statusCode = 500;
            res.end();
          }
        });
    } else {
      handle = origin;
    }
  }
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

// The harness asks for this process's CPU time around each measured window: CPU per request does not
// depend on how much of the machine the server got, which the request rate does.
let stopSampling: (() => Promise<Allocations>) | undefined;
process.on(
  "message",
  (message: { cpu?: boolean; exit?: boolean; allocStart?: boolean; allocStop?: boolean }) => {
    if (message.exit === true) process.exit(0);
    if (message.cpu === true) process.send?.({ cpu: process.cpuUsage() });
    if (message.allocStart === true) {
      void startAllocationSampling().then((stop) => {
        stopSampling = stop;
        process.send?.({ allocStarted: true });
      });
    }
    if (message.allocStop === true && stopSampling !== undefined) {
      void stopSampling().then((alloc) => process.send?.({ alloc }));
      stopSampling = undefined;
    }
  },
);

listen().then(
  (port) => process.send?.({ port }),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
