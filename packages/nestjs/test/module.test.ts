import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import "reflect-metadata";
import { describe, expect, it } from "@jest/globals";
import { Cache, isCacheError } from "@cachet/core";
import { Controller, Get, Inject, Injectable, Module, Query, UseInterceptors } from "@nestjs/common";
import { APP_INTERCEPTOR } from "@nestjs/core";
import { Test } from "@nestjs/testing";
import {
  Cached,
  CachetInterceptor,
  CachetModule,
  getCacheToken,
  InjectCache,
  InvalidateTags,
} from "../src/index.js";
import { send } from "./fixtures/http.js";

const memoryCache = () => Cache.builder<string, unknown>().memory({ maxEntries: 10 }).build();

function expectInvalidOption(fn: () => unknown, option: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isCacheError(thrown) && thrown.code).toBe("INVALID_OPTION");
  expect((thrown as Error).message).toContain(option);
}

describe("CachetModule options", () => {
  it("rejects unknown and invalid options, naming them", () => {
    expectInvalidOption(() => CachetModule.forRoot({ cache: memoryCache(), ttl: 5 } as never), "`ttl`");
    expectInvalidOption(() => CachetModule.forRoot({ cache: new Map() as never }), "`cache`");
    expectInvalidOption(() => CachetModule.forRoot({ cache: memoryCache(), name: "" }), "`name`");
    expectInvalidOption(
      () => CachetModule.forRoot({ cache: memoryCache(), isGlobal: "yes" as never }),
      "`isGlobal`",
    );
    expectInvalidOption(
      () => CachetModule.forRoot({ cache: memoryCache(), closeOnShutdown: 1 as never }),
      "`closeOnShutdown`",
    );
    expectInvalidOption(
      () => CachetModule.forRoot({ cache: memoryCache(), http: { routes: "x" as never } }),
      "`http.routes`",
    );
    expectInvalidOption(() => CachetModule.forRootAsync({ useFactory: 1 as never }), "`useFactory`");
    expectInvalidOption(
      () => CachetModule.forRootAsync({ useFactory: memoryCache, useClass: 1 } as never),
      "`useClass`",
    );
  });

  it("rejects invalid decorator options when the class is defined", () => {
    expectInvalidOption(() => Cached({ ttl: "soon" as never }), "ttl");
    expectInvalidOption(() => Cached({ tll: 5 } as never), "`tll`");
    expectInvalidOption(() => Cached({ statusHeader: "" }), "`statusHeader`");
    expectInvalidOption(() => InvalidateTags("tag" as never), "`tags`");
    expectInvalidOption(() => InvalidateTags(["a"], { cache: "" }), "`cache`");
  });

  it("checks what a forRootAsync factory returns when the application starts", async () => {
    const compile = Test.createTestingModule({
      imports: [CachetModule.forRootAsync({ useFactory: () => ({ cache: memoryCache(), ttl: 1 }) as never })],
    }).compile();
    await expect(compile).rejects.toMatchObject({
      code: "INVALID_OPTION",
      message: expect.stringContaining("`ttl`"),
    });
  });
});

describe("CachetModule registrations", () => {
  it("forRootAsync injects its dependencies into the factory; several named caches coexist", async () => {
    @Module({ providers: [{ provide: "max", useValue: 7 }], exports: ["max"] })
    class ConfigModule {}

    @Injectable()
    class Consumer {
      constructor(
        @InjectCache() readonly main: Cache<string, unknown>,
        @InjectCache("second") readonly second: Cache<string, unknown>,
      ) {}
    }
    let injected: unknown;
    const moduleRef = await Test.createTestingModule({
      imports: [
        CachetModule.forRootAsync({
          imports: [ConfigModule],
          inject: ["max"],
          useFactory: (max: number) => {
            injected = max;
            return { cache: memoryCache() };
          },
        }),
        CachetModule.forRoot({ name: "second", cache: memoryCache() }),
      ],
      providers: [Consumer],
    }).compile();
    const consumer = moduleRef.get(Consumer);
    expect(injected).toBe(7);
    expect(consumer.main).toBeInstanceOf(Cache);
    expect(consumer.second).toBeInstanceOf(Cache);
    expect(consumer.main).not.toBe(consumer.second);
    expect(moduleRef.get(getCacheToken("second"))).toBe(consumer.second);
    await moduleRef.close();
    expect(consumer.main.isClosed).toBe(true);
    expect(consumer.second.isClosed).toBe(true);
  });

  it("a scoped registration is visible only where it is imported; a global one everywhere", async () => {
    @Injectable()
    class NeedsCache {
      constructor(@InjectCache("feature") readonly cache: Cache<string, unknown>) {}
    }
    @Module({ providers: [NeedsCache] })
    class Elsewhere {}

    const scoped = Test.createTestingModule({
      imports: [CachetModule.forRoot({ name: "feature", cache: memoryCache() }), Elsewhere],
    }).compile();
    await expect(scoped).rejects.toThrow(/NeedsCache/);

    const cache = memoryCache();
    const global = await Test.createTestingModule({
      imports: [CachetModule.forRoot({ name: "feature", cache, isGlobal: true }), Elsewhere],
    }).compile();
    expect(global.get(NeedsCache).cache).toBe(cache);
    await global.close();
  });

  it("closeOnShutdown: false leaves the cache open", async () => {
    const cache = memoryCache();
    const moduleRef = await Test.createTestingModule({
      imports: [CachetModule.forRoot({ cache, closeOnShutdown: false })],
    }).compile();
    await moduleRef.close();
    expect(cache.isClosed).toBe(false);
    await cache.close();
  });

  it("a @Cached() handler naming an unregistered cache fails the request with a message that says so", async () => {
    @Controller()
    @UseInterceptors(CachetInterceptor)
    class Broken {
      constructor(@Inject(getCacheToken()) readonly cache: Cache<string, unknown>) {}
      @Get("x")
      @Cached({ cache: "nope" })
      x() {
        return 1;
      }
    }
    const errors: unknown[] = [];
    const moduleRef = await Test.createTestingModule({
      imports: [CachetModule.forRoot({ cache: memoryCache() })],
      controllers: [Broken],
    }).compile();
    const app = moduleRef.createNestApplication({
      logger: {
        log() {},
        warn() {},
        debug() {},
        verbose() {},
        error: (...args: unknown[]) => errors.push(args),
      },
    });
    await app.listen(0, "127.0.0.1");
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    const reply = await send(`http://127.0.0.1:${port}/x`);
    await app.close();
    expect(reply.status).toBe(500);
    const error = errors.flat().find((e) => isCacheError(e));
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toContain('no cache named "nope" is registered');
  });
});

describe("CachetInterceptor as an application-wide interceptor", () => {
  it("bypasses on an undefined key, does not store undefined, honours statusHeader: false", async () => {
    const runs: Record<string, number> = {};
    const count = (name: string) => (runs[name] = (runs[name] ?? 0) + 1);
    @Controller()
    class Things {
      @Get("maybe")
      @Cached({ key: (request) => (request.query.nocache === "1" ? undefined : "maybe") })
      maybe() {
        return { run: count("maybe") };
      }
      @Get("nothing")
      @Cached()
      nothing() {
        count("nothing");
        return undefined;
      }
      @Get("quiet")
      @Cached({ statusHeader: false })
      quiet(@Query("x") x: string) {
        return { x, run: count("quiet") };
      }
      @Get("plain")
      plain() {
        return { run: count("plain") };
      }
    }
    const cache = memoryCache();
    const moduleRef = await Test.createTestingModule({
      imports: [CachetModule.forRoot({ cache })],
      controllers: [Things],
      providers: [{ provide: APP_INTERCEPTOR, useClass: CachetInterceptor }],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, "127.0.0.1");
    const base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
    try {
      expect((await send(`${base}/maybe`)).headers["x-cache"]).toBe("MISS");
      expect((await send(`${base}/maybe`)).headers["x-cache"]).toBe("HIT");
      const bypassed = await send(`${base}/maybe?nocache=1`);
      expect(bypassed.headers["x-cache"]).toBeUndefined();
      expect(bypassed.json()).toEqual({ run: 2 });
      expect(runs.maybe).toBe(2);

      await send(`${base}/nothing`);
      await send(`${base}/nothing`);
      expect(runs.nothing).toBe(2);

      const quiet = await send(`${base}/quiet?x=1`);
      expect(quiet.headers["x-cache"]).toBeUndefined();
      expect((await send(`${base}/quiet?x=1`)).json()).toEqual({ x: "1", run: 1 });
      expect(await cache.get('Things.quiet:{"params":{},"query":{"x":"1"}}')).toMatchObject({
        value: { x: "1", run: 1 },
      });

      await send(`${base}/plain`);
      const plain = await send(`${base}/plain`);
      expect(plain.headers["x-cache"]).toBeUndefined();
      expect(runs.plain).toBe(2);
    } finally {
      await app.close();
    }
  });
});
