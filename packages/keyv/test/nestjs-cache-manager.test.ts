// The @nestjs/cache-manager route: a cachet Cache behind Nest's CacheModule, through keyvStore().
// A real Nest application on Express, real HTTP requests, and cache-manager 7 underneath.
import "reflect-metadata";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import { Cache, MemoryBus, MemoryBusHub, MemoryTier } from "@cachet/core";
import { CACHE_MANAGER, CacheInterceptor, CacheModule } from "@nestjs/cache-manager";
import { Controller, Delete, Get, Inject, Injectable, Param, UseInterceptors } from "@nestjs/common";
import type { INestApplication } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import type { Cache as CacheManager } from "cache-manager";
import { keyvStore } from "../src/index.js";

/** Counts handler calls so a test can tell a cached response from a computed one. */
class Origin {
  calls = 0;
}

@Injectable()
class Profiles {
  constructor(
    @Inject(CACHE_MANAGER) private readonly cacheManager: CacheManager,
    @Inject(Origin) private readonly origin: Origin,
  ) {}

  /** cache-manager's wrap(): read through the cache, load on a miss. */
  profile(id: string): Promise<{ id: string; version: number }> {
    return this.cacheManager.wrap(`profile:${id}`, () => {
      this.origin.calls++;
      return Promise.resolve({ id, version: this.origin.calls });
    });
  }

  forget(id: string): Promise<boolean> {
    return this.cacheManager.del(`profile:${id}`);
  }
}

@Controller()
class ProfilesController {
  constructor(
    @Inject(Profiles) private readonly profiles: Profiles,
    @Inject(Origin) private readonly origin: Origin,
  ) {}

  @Get("profiles/:id")
  get(@Param("id") id: string) {
    return this.profiles.profile(id);
  }

  @Delete("profiles/:id")
  async forget(@Param("id") id: string) {
    return { deleted: await this.profiles.forget(id) };
  }

  /** Nest's own response cache (CacheInterceptor), keyed by URL, stored in the cachet Cache. */
  @Get("time")
  @UseInterceptors(CacheInterceptor)
  time() {
    this.origin.calls++;
    return { calls: this.origin.calls };
  }
}

async function start(
  cache: Cache<string, unknown>,
): Promise<{ app: INestApplication; url: string; origin: Origin }> {
  const moduleRef = await Test.createTestingModule({
    imports: [CacheModule.register({ stores: [keyvStore(cache)], ttl: 60_000 })],
    controllers: [ProfilesController],
    providers: [Profiles, Origin],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, "127.0.0.1");
  const server = app.getHttpServer() as Server;
  const { port } = server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, origin: app.get(Origin) };
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, init);
  expect(response.status).toBeLessThan(300);
  return response.json();
}

describe("@nestjs/cache-manager with CacheModule.register({ stores: [keyvStore(cache)] })", () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it("wrap() and CacheInterceptor read and write the cachet Cache, with the module's ttl", async () => {
    const cache = Cache.builder<string, unknown>().memory({ maxEntries: 100 }).build();
    const { app, url, origin } = await start(cache);
    apps.push(app);

    expect(await json(`${url}/profiles/7`)).toEqual({ id: "7", version: 1 });
    expect(await json(`${url}/profiles/7`)).toEqual({ id: "7", version: 1 });
    expect(origin.calls).toBe(1);
    // CacheModule gives Keyv no namespace, so keys are cache-manager's own.
    const entry = await cache.get("profile:7");
    expect(entry?.ttl).toBe(60_000);
    expect(JSON.parse(entry?.value as string)).toMatchObject({ value: { id: "7", version: 1 } });

    expect(await json(`${url}/time`)).toEqual({ calls: 2 });
    expect(await json(`${url}/time`)).toEqual({ calls: 2 });
    expect(await cache.get("/time")).toBeDefined();

    expect(await json(`${url}/profiles/7`, { method: "DELETE" })).toEqual({ deleted: true });
    expect(await cache.get("profile:7")).toBeUndefined();
    expect(await json(`${url}/profiles/7`)).toEqual({ id: "7", version: 3 });

    // Module destroy disconnects the stores; the cache is the application's and stays open.
    await app.close();
    apps.length = 0;
    expect(cache.isClosed).toBe(false);
    await cache.close();
  });

  it("two Nest apps on one shared tier and a bus: a delete through one is seen by the other", async () => {
    const shared = new MemoryTier<string, unknown>({ maxEntries: 100, name: "shared" });
    const hub = new MemoryBusHub();
    const instance = () =>
      Cache.builder<string, unknown>()
        .memory({ maxEntries: 100 })
        .fallback(Cache.builder<string, unknown>().storage(shared, { close: false }))
        .bus(new MemoryBus(hub))
        .build();
    const [cacheA, cacheB] = [instance(), instance()];
    const a = await start(cacheA);
    const b = await start(cacheB);
    apps.push(a.app, b.app);

    expect(await json(`${a.url}/profiles/1`)).toEqual({ id: "1", version: 1 });
    // B finds A's value in the shared tier (and keeps it in its L1); its handler's loader never runs.
    expect(await json(`${b.url}/profiles/1`)).toEqual({ id: "1", version: 1 });
    expect(b.origin.calls).toBe(0);
    await json(`${a.url}/profiles/1`, { method: "DELETE" });
    // The bus removed B's L1 copy: B loads afresh instead of serving the deleted value.
    expect(await json(`${b.url}/profiles/1`)).toEqual({ id: "1", version: 1 });
    expect(b.origin.calls).toBe(1);
    await Promise.all([cacheA.close(), cacheB.close()]);
  });
});
