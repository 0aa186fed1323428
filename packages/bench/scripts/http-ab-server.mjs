// The HTTP scenario's node:http / Fastify server with @cachet/service loaded from a given build, for
// scripts/http-ab.mjs: `node scripts/http-ab-server.mjs <service dist/index.js> <node|fastify> <mode>`.
// Modes: `limit` and `cached` as in src/http-server.ts, and `limit-same-bytes`: a constant answer with
// the cached path's exact head (Content-Length, Age, X-Cache) and a Buffer body. IPC: `{ cpu }` answers
// with process.cpuUsage(), `{ allocStart }` / `{ allocStop }` run the sampling heap profiler (collected
// objects included) and answer bytes by site, `{ exit }` exits (so that --cpu-prof is written).
import { createServer } from "node:http";
import { Session } from "node:inspector/promises";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const [entry, adapter, mode] = process.argv.slice(2);
const { createHttpCache } = await import(pathToFileURL(entry).href);
const { MemoryTier } = await import(pathToFileURL(require.resolve("@cachet/memory")).href);
const Fastify = require("fastify");

const BODY = JSON.stringify({
  items: Array.from({ length: 8 }, (_, i) => ({
    id: i,
    name: `product ${i}`,
    price: 10 + i,
    tags: ["a", "b"],
  })),
});
const BODY_BYTES = Buffer.from(BODY);
const HEADERS = { "content-type": "application/json", "cache-control": "public, max-age=600" };
const SAME_HEAD = [
  ...Object.entries(HEADERS).flat(),
  ...["content-length", String(BODY_BYTES.length), "age", "0", "x-cache", "HIT"],
];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const newHttpCache = () => createHttpCache({ cache: new MemoryTier({ maxEntries: 1_000 }), mode: "server" });

let port;
if (adapter === "fastify") {
  const app = Fastify();
  if (mode === "cached") await app.register(newHttpCache().fastify);
  app.get("/", async (_request, reply) => {
    if (mode !== "limit") await sleep(20);
    void reply.headers(HEADERS);
    return BODY;
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = app.server.address().port;
} else {
  const origin = (_req, res) => {
    if (mode === "limit-same-bytes") {
      res.writeHead(200, SAME_HEAD);
      res.end(BODY_BYTES);
    } else if (mode === "limit") {
      res.writeHead(200, HEADERS);
      res.end(BODY);
    } else {
      setTimeout(() => {
        res.writeHead(200, HEADERS);
        res.end(BODY);
      }, 20);
    }
  };
  let handle = origin;
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
  }
  const server = createServer(handle);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = server.address().port;
}

let session;
process.on("message", async (message) => {
  if (message.exit) process.exit(0);
  if (message.cpu) process.send({ cpu: process.cpuUsage() });
  if (message.allocStart) {
    session = new Session();
    session.connect();
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 32,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    process.send({ allocStarted: true });
  }
  if (message.allocStop) {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    session.disconnect();
    const bySite = new Map();
    let total = 0;
    const walk = (node) => {
      if (node.selfSize > 0) {
        const { functionName, url, lineNumber } = node.callFrame;
        const site = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^.*packages\//, "")}:${lineNumber + 1}`;
        bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
        total += node.selfSize;
      }
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    process.send({ alloc: { total, sites: [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15) } });
  }
});
process.send({ port });
