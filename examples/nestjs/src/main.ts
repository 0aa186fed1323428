/**
 * @cachet/nestjs: two instances of one Nest application (each with its own L1) share an L2 and a
 * bus (in-process stand-ins here; in production a RedisTier and a RedisBus from @cachet/redis).
 * A `@Cached()` handler result cached by one instance is served by the other; a `@InvalidateTags()`
 * write through one instance invalidates the other's copy; `/pages` sits behind the RFC 9111 HTTP
 * response cache. Every step asserts what it prints; `pnpm test` runs it.
 *
 * Constructor parameters use explicit tokens (`@Inject(...)`, `@InjectCache()`), so the example runs
 * under tsx/esbuild, which does not emit decorator metadata.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { get as httpGet, request as httpRequest } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Cache, MemoryBus, MemoryBusHub, MemoryTier } from "@cachet/core";
import { Cached, CachetInterceptor, CachetModule, InvalidateTags } from "@cachet/nestjs";
import { Body, Controller, Get, Header, Inject, Module, Param, Put, UseInterceptors } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";

interface Product {
  id: string;
  name: string;
}

// The database both instances share, and how often it was read.
const products = new Map<string, Product>([["1", { id: "1", name: "kettle" }]]);
let reads = 0;
let renders = 0;

@Controller("products")
@UseInterceptors(CachetInterceptor)
class ProductsController {
  constructor(@Inject("instance") private readonly instance: string) {}

  @Get(":id")
  @Cached({ ttl: "5m", tags: ({ request }) => [`product:${String(request.params.id)}`] })
  findOne(@Param("id") id: string) {
    reads++;
    return { ...products.get(id), servedBy: this.instance };
  }

  @Put(":id")
  @InvalidateTags(({ request }) => [`product:${String(request.params.id)}`])
  update(@Param("id") id: string, @Body() body: { name: string }) {
    products.set(id, { id, name: body.name });
    return products.get(id);
  }
}

@Controller("pages")
class PagesController {
  @Get(":name")
  @Header("cache-control", "public, max-age=60")
  page(@Param("name") name: string) {
    renders++;
    return { page: name, renders };
  }
}

const l2 = new MemoryTier<string, unknown>({ maxEntries: 10_000, name: "shared-l2" });
const hub = new MemoryBusHub();

async function startInstance(name: string): Promise<{ url: string; close: () => Promise<void> }> {
  @Module({
    imports: [
      CachetModule.forRoot({
        isGlobal: true,
        cache: Cache.builder<string, unknown>()
          .name("app")
          .memory({ maxEntries: 1_000 })
          .fallback(Cache.builder<string, unknown>().storage(l2, { close: false }))
          .bus(new MemoryBus(hub, name))
          .build(),
        http: { routes: [PagesController] },
      }),
    ],
    controllers: [ProductsController, PagesController],
    providers: [{ provide: "instance", useValue: name }],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, "127.0.0.1");
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

interface Reply {
  status: number;
  xCache: string | undefined;
  body: Record<string, unknown>;
}

function call(url: string, method = "GET", body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { host: "shop.example" };
    if (payload !== undefined) headers["content-type"] = "application/json";
    const done = (response: IncomingMessage) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        const xCache = response.headers["x-cache"];
        resolve({
          status: response.statusCode ?? 0,
          xCache: Array.isArray(xCache) ? xCache[0] : xCache,
          body: JSON.parse(text) as Record<string, unknown>,
        });
      });
    };
    const req =
      method === "GET"
        ? httpGet(url, { headers, agent: false }, done)
        : httpRequest(url, { method, headers, agent: false }, done);
    req.on("error", reject);
    if (method !== "GET") req.end(payload);
  });
}

async function main(): Promise<void> {
  const a = await startInstance("a");
  const b = await startInstance("b");
  console.log("@cachet/nestjs: two Nest instances, L1 each, one shared L2 and bus\n");

  const first = await call(`${a.url}/products/1`);
  console.log(`1. GET /products/1 via A: ${first.xCache}, database reads ${reads}`);
  assert.equal(first.xCache, "MISS");
  const viaB = await call(`${b.url}/products/1`);
  console.log(
    `2. GET /products/1 via B: ${viaB.xCache} (served by "${String(viaB.body.servedBy)}" from L2), database reads ${reads}`,
  );
  assert.equal(viaB.xCache, "HIT");
  assert.equal(viaB.body.servedBy, "a");
  assert.equal(reads, 1);

  await new Promise((resolve) => setTimeout(resolve, 2)); // the write is later than the cached entry
  const put = await call(`${a.url}/products/1`, "PUT", { name: "kettle v2" });
  assert.equal(put.status, 200);
  const afterWrite = await call(`${b.url}/products/1`);
  console.log(
    `3. PUT via A (@InvalidateTags product:1), then GET via B: ${afterWrite.xCache}, name "${String(afterWrite.body.name)}", database reads ${reads}`,
  );
  assert.equal(afterWrite.xCache, "MISS");
  assert.equal(afterWrite.body.name, "kettle v2");
  assert.equal(reads, 2);

  const page = await call(`${a.url}/pages/home`);
  const pageViaB = await call(`${b.url}/pages/home`);
  console.log(
    `4. HTTP response cache on /pages: A ${page.xCache}, then B ${pageViaB.xCache}, renders ${renders}`,
  );
  assert.deepEqual([page.xCache, pageViaB.xCache, renders], ["MISS", "HIT", 1]);

  await a.close(); // closes A's cache (CachetModule closes it on application shutdown)
  await b.close();
  await l2.close();
  console.log("\nok");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
