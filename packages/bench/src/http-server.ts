// A server for the HTTP scenario, in its own process so the load generator does not share its
// event loop: `node http-server.js <node|fetch|fastify> <limit|cached|uncached>`. It reports its
// port over IPC, answers `{ cpu: true }` with its `process.cpuUsage()`, and runs until killed.
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MemoryTier } from "@cachet/memory";
import { createHttpCache } from "@cachet/service";
import type { HttpCacheValue } from "@cachet/service";
import Fastify from "fastify";

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
process.on("message", (message: { cpu?: boolean }) => {
  if (message.cpu === true) process.send?.({ cpu: process.cpuUsage() });
});

listen().then(
  (port) => process.send?.({ port }),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
