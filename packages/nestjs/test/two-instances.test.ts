import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from "@jest/globals";
import { ManualClock } from "@cachet/core";
import { describeRedis, sendCommand, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { newDb, startApp } from "./fixtures/app.js";
import type { Db, RunningApp } from "./fixtures/app.js";
import { send, waitUntil } from "./fixtures/http.js";
import { nestMajor } from "./fixtures/nest-version.js";

jest.setTimeout(30_000);

let runCounter = 0;

describeRedis(`@cachet/nestjs on NestJS ${nestMajor()}, two instances over Redis`, () => {
  let redis: RedisHandle;

  it("runs on the NestJS major this run was set up for", () => {
    expect(nestMajor()).toBe(Number(process.env.CACHET_EXPECT_NEST ?? "12"));
  });

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  for (const platform of ["express", "fastify"] as const) {
    describe(platform, () => {
      let db: Db;
      let clock: ManualClock;
      let a: RunningApp;
      let b: RunningApp;
      let run: string;

      beforeEach(async () => {
        db = newDb();
        clock = new ManualClock(Date.now());
        run = `nest:${process.pid}:${platform}:${++runCounter}`;
        const common = { platform, redisUrl: redis.url, run, db, clock };
        a = await startApp({ ...common, instance: "a" });
        b = await startApp({ ...common, instance: "b" });
      });
      afterEach(async () => {
        await a?.app.close();
        await b?.app.close();
      });

      it("caches a handler's result by route and arguments, in L1 and for the other instance through L2", async () => {
        const first = await send(`${a.url}/products/1`);
        expect(first.status).toBe(200);
        expect(first.headers["x-cache"]).toBe("MISS");
        expect(first.json()).toEqual({ id: "1", name: "kettle", version: 1, servedBy: "a" });

        const again = await send(`${a.url}/products/1`);
        expect(again.headers["x-cache"]).toBe("HIT");
        expect(again.json()).toEqual(first.json());

        const viaB = await send(`${b.url}/products/1`);
        expect(viaB.headers["x-cache"]).toBe("HIT");
        expect(viaB.json<{ servedBy: string }>().servedBy).toBe("a"); // B's handler never ran
        expect(db.productReads).toBe(1);

        // Other arguments are other keys: another id, another query string.
        expect((await send(`${a.url}/products/2`)).headers["x-cache"]).toBe("MISS");
        expect((await send(`${a.url}/products?sort=desc`)).headers["x-cache"]).toBe("MISS");
        expect((await send(`${a.url}/products?sort=asc`)).headers["x-cache"]).toBe("MISS");
        expect((await send(`${b.url}/products?sort=desc`)).headers["x-cache"]).toBe("HIT");
        expect(db.productReads).toBe(2);
        expect(db.listReads).toBe(2);
      });

      it("a write through one instance invalidates the other's cached result by tags", async () => {
        await send(`${a.url}/products/1`);
        await send(`${a.url}/products`);
        expect((await send(`${b.url}/products/1`)).headers["x-cache"]).toBe("HIT"); // now in B's L1 too
        expect((await send(`${b.url}/products`)).headers["x-cache"]).toBe("HIT");
        expect(db.productReads).toBe(1);

        clock.advance(1); // the write happens after the entries were cached
        const put = await send(`${a.url}/products/1`, { method: "PUT", body: { name: "kettle v2" } });
        expect(put.status).toBe(200);
        expect(put.json()).toEqual({ id: "1", name: "kettle v2", version: 2 });
        clock.advance(1);

        // B learns of the invalidation over the bus (and from the tag marker in Redis): poll, bounded.
        await waitUntil(
          async () => (await send(`${b.url}/products/1`)).json<{ version: number }>().version === 2,
        );
        const fresh = await send(`${b.url}/products/1`);
        expect(fresh.json()).toEqual({ id: "1", name: "kettle v2", version: 2, servedBy: "b" });
        expect(fresh.headers["x-cache"]).toBe("HIT");
        expect(db.productReads).toBe(2);
        const list = await send(`${b.url}/products`);
        expect(list.json<{ names: string[] }>().names).toEqual(["kettle v2", "teapot"]);
        // A sees the new value too, without another read of product 1 (B's load is in the shared L2).
        expect((await send(`${a.url}/products/1`)).json<{ version: number }>().version).toBe(2);
        expect(db.productReads).toBe(2);
      });

      it("handler errors reach Nest's exception filter as thrown and are not cached", async () => {
        const missing = await send(`${a.url}/products/9`);
        expect(missing.status).toBe(404);
        expect(missing.json<{ message: string }>().message).toBe("no product 9");
        expect((await send(`${a.url}/products/9`)).status).toBe(404);
        expect(db.productReads).toBe(2);
        const failedWrite = await send(`${a.url}/products/9`, { method: "PUT", body: { name: "x" } });
        expect(failedWrite.status).toBe(404);
      });

      it("concurrent requests for one key run the handler once", async () => {
        const replies = await Promise.all(Array.from({ length: 20 }, () => send(`${a.url}/products/2`)));
        expect(replies.every((r) => r.status === 200)).toBe(true);
        expect(db.productReads).toBe(1);
        expect(replies.filter((r) => r.headers["x-cache"] === "MISS")).toHaveLength(1);
      });

      it("a controller-wide @Cached() uses the named cache and its own key and header", async () => {
        expect((await send(`${a.url}/reports?q=sales`)).headers["x-report-cache"]).toBe("MISS");
        const hit = await send(`${a.url}/reports?q=sales`);
        expect(hit.headers["x-report-cache"]).toBe("HIT");
        expect(hit.headers["x-cache"]).toBeUndefined();
        expect(hit.json()).toEqual({ q: "sales", run: 1 });
        expect(await a.service.reports.get("report:sales")).toMatchObject({ value: { q: "sales", run: 1 } });
        expect(await a.service.cache.get("report:sales")).toBeUndefined();
        // The reports cache is memory-only: B has its own.
        expect((await send(`${b.url}/reports?q=sales`)).headers["x-report-cache"]).toBe("MISS");
      });

      it("the HTTP response cache on http.routes: shared across instances, private not stored, purge by tag", async () => {
        const host = { host: "shop.example" }; // both instances behind one public host
        const first = await send(`${a.url}/pages/home`, { headers: host });
        expect(first.status).toBe(200);
        expect(first.headers["x-cache"]).toBe("MISS");
        expect(first.headers["cache-tag"]).toBeUndefined(); // tag headers are not sent to clients
        // The engine stores a response after sending its body, and a Content-Length response is
        // complete for the client once its bytes arrived: wait (bounded) for A's store write to
        // land in Redis before asking B, or B may race it.
        // (The tier escapes the prefix's colons in its Redis keys.)
        const stored = `${run.replaceAll(":", "\\:")}:http://shop.example/pages/home`;
        await waitUntil(async () => {
          const keys = await sendCommand(redis.host, redis.port, ["KEYS", "*"], 1_000);
          return Array.isArray(keys) && keys.some((k) => k === stored);
        });
        const viaB = await send(`${b.url}/pages/home`, { headers: host });
        // With what each instance reported, so that a miss here says why (a failed L2 write, say).
        expect({ xCache: viaB.headers["x-cache"], a: a.problems, b: b.problems }).toEqual({
          xCache: "HIT",
          a: [],
          b: [],
        });
        expect(viaB.json()).toEqual(first.json());
        expect(db.pageRenders).toBe(1);

        await send(`${a.url}/pages/private`, { headers: host });
        await send(`${a.url}/pages/private`, { headers: host });
        expect(db.pageRenders).toBe(3); // `private` is never stored by a shared cache

        clock.advance(1);
        await a.service.httpCache.purgeTags(["pages"]);
        clock.advance(1);
        await waitUntil(
          async () => (await send(`${b.url}/pages/home`, { headers: host })).headers["x-cache"] === "MISS",
        );
        expect(db.pageRenders).toBe(4);
        // Routes outside http.routes are untouched by the HTTP cache.
        expect((await send(`${a.url}/reports?q=x`)).headers["x-cache"]).toBeUndefined();
      });

      it("closes the cache and runs onShutdown when the application closes", async () => {
        const cache = a.service.cache;
        const reports = a.service.reports;
        await a.app.close();
        expect(cache.isClosed).toBe(true);
        expect(reports.isClosed).toBe(true);
        expect(a.shutdown.busClosed).toBe(true);
        expect(b.service.cache.isClosed).toBe(false);
      });
    });
  }
});
