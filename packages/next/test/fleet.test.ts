// Two `next start` replicas of examples/next-fleet sharing one redis-server through @cachet/next.
// The app is built once (and reused while its inputs are unchanged, see fixtures/next-app.ts).
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { describeRedis, findFreePort, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { buildApp, revalidate, startReplica, view } from "./fixtures/next-app.js";
import type { PageView, Replica } from "./fixtures/next-app.js";

/**
 * How soon after `revalidateTag` returns on replica A replica B must render fresh. Measured on the
 * shared 2-core machine: the bus delivers in a few ms and the first request after it renders fresh
 * (see the README); the bound leaves room for a loaded CI runner, and is far below "never".
 */
const PROPAGATION_BOUND_MS = 2_000;
/** A request while Redis is dead: `redisTimeout` (500 ms) at worst, then the breaker skips Redis. */
const DEAD_REDIS_BOUND_MS = 3_000;

/** Polls `read` until `done` holds, bounded: a wait on other processes, not a sleep. */
async function until(
  read: () => Promise<PageView>,
  done: (view: PageView) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<{ view: PageView; elapsed: number; requests: number }> {
  const started = performance.now();
  let requests = 0;
  let last: PageView | undefined;
  while (performance.now() - started < timeoutMs) {
    last = await read();
    requests++;
    if (done(last)) return { view: last, elapsed: performance.now() - started, requests };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}; last: ${JSON.stringify(last)}`);
}

const id = (): string => randomUUID().slice(0, 8);

describeRedis(
  "@cachet/next on two Next.js replicas sharing one Redis",
  () => {
    let redis: RedisHandle;
    let a: Replica;
    let b: Replica;

    beforeAll(async () => {
      buildApp();
      redis = await startRedis({ own: true });
      const [portA, portB] = [await findFreePort(), await findFreePort()];
      [a, b] = await Promise.all([startReplica(portA, redis.url), startReplica(portB, redis.url)]);
    }, 600_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await redis?.stop();
    }, 30_000);

    it("serves an ISR page rendered on replica A from the cache on replica B", async () => {
      const path = `/p/${id()}`;
      const first = await view(a.url, path);
      expect(first).toMatchObject({ status: 200, cache: "MISS", pid: String(a.pid) });
      const second = await view(b.url, path);
      expect(second).toMatchObject({ status: 200, cache: "HIT", render: first.render, pid: String(a.pid) });
    });

    it("serves a route handler response cached on replica A from replica B", async () => {
      const path = `/api/time/${id()}`;
      const first = await fetch(a.url + path);
      const body = (await first.json()) as { nonce: string; pid: number };
      expect(first.headers.get("x-nextjs-cache")).toBe("MISS");
      const second = await fetch(b.url + path);
      expect(second.headers.get("x-nextjs-cache")).toBe("HIT");
      expect(await second.json()).toEqual(body);
      expect(body.pid).toBe(a.pid);
    });

    it('shares "use cache" results between replicas and refreshes them on both after revalidateTag', async () => {
      const key = id();
      const path = `/u/${key}`; // rendered on every request; only loadItem() is cached
      const onA = await view(a.url, path);
      const onB = await view(b.url, path);
      expect(onB.item).toBe(onA.item);
      expect(onB.render).not.toBe(onA.render);

      await revalidate(a.url, `tag=item-${key}`);
      const fresh = await until(
        () => view(b.url, path),
        (v) => v.item !== onA.item,
        "B loads a fresh item",
      );
      expect(fresh.elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
      // A, which ran revalidateTag, never serves the old result again (it serves B's, or its own
      // when it asks before B's write has landed).
      expect((await view(a.url, path)).item).not.toBe(onA.item);
    });

    it("renders an ISR page fresh on replica B after revalidateTag on replica A, within the bound", async () => {
      const key = id();
      const path = `/p/${key}`;
      const before = await view(a.url, path);
      expect((await view(b.url, path)).render).toBe(before.render);

      const started = performance.now();
      await revalidate(a.url, `tag=item-${key}`); // the page carries its "use cache" function's tag
      const fresh = await until(
        () => view(b.url, path),
        (v) => v.render !== before.render,
        "B renders fresh",
      );
      const elapsed = performance.now() - started;
      expect(fresh.view).toMatchObject({ status: 200, pid: String(b.pid) });
      expect(fresh.view.item).not.toBe(before.item);
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
      // The page B rendered is the one A serves now (Next writes a blocking render to the cache
      // before it answers, so B's write has landed).
      expect(await view(a.url, path)).toMatchObject({ cache: "HIT", render: fresh.view.render });
    });

    it('serves the old page once after revalidateTag(tag, "max") (stale-while-revalidate) and the fresh one next', async () => {
      const key = id();
      const path = `/p/${key}`;
      const before = await view(a.url, path);
      await view(b.url, path); // B holds it in its L1 too
      await revalidate(a.url, `tag=item-${key}&mode=max`);
      const stale = await until(
        () => view(b.url, path),
        (v) => v.cache !== "HIT",
        "B sees the tag",
      );
      expect(stale.view).toMatchObject({ status: 200, cache: "STALE", render: before.render });
      const fresh = await until(
        () => view(b.url, path),
        (v) => v.render !== before.render,
        "B serves fresh",
      );
      expect(fresh.view.status).toBe(200);
    });

    it("revalidatePath on replica A reaches replica B", async () => {
      const path = `/p/${id()}`;
      const before = await view(a.url, path);
      expect((await view(b.url, path)).render).toBe(before.render);
      await revalidate(a.url, `path=${path}`);
      const fresh = await until(
        () => view(b.url, path),
        (v) => v.render !== before.render,
        "B renders fresh",
      );
      expect(fresh.elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
    });

    it('revalidatePath of a dynamic page on replica A refreshes its "use cache" result on B (implicit tags)', async () => {
      const path = `/u/${id()}`;
      const onA = await view(a.url, path);
      expect((await view(b.url, path)).item).toBe(onA.item);
      await revalidate(a.url, `path=${path}`);
      // B learns the path tag's time from the bus and discards the older entry (getExpiration).
      const fresh = await until(
        () => view(b.url, path),
        (v) => v.item !== onA.item,
        "B loads a fresh item",
      );
      expect(fresh.elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
    });

    it("keeps serving every page while Redis is dead, and shares the cache again after Redis restarts", async () => {
      const cached = `/p/${id()}`;
      const cachedView = await view(a.url, cached);
      await view(b.url, cached);

      await redis.kill();
      // Cached pages come from each replica's L1; new pages render; tag revalidation answers.
      for (const replica of [a, b]) {
        const hit = await view(replica.url, cached);
        expect(hit).toMatchObject({ status: 200, render: cachedView.render });
        expect(hit.ms).toBeLessThan(DEAD_REDIS_BOUND_MS);
        for (const path of [`/p/${id()}`, `/u/${id()}`]) {
          const fresh = await view(replica.url, path);
          expect(fresh.status).toBe(200);
          expect(fresh.render).toBeDefined();
          expect(fresh.ms).toBeLessThan(DEAD_REDIS_BOUND_MS);
        }
      }
      // A replica that starts while Redis is dead serves too.
      const late = await startReplica(await findFreePort(), redis.url);
      try {
        const fresh = await view(late.url, `/p/${id()}`);
        expect(fresh).toMatchObject({ status: 200, pid: String(late.pid) });
        expect(late.output()).not.toMatch(/Internal Server Error|⨯|\[ioredis\]|Unhandled/);
      } finally {
        await late.stop();
      }
      const key = id();
      await view(a.url, `/u/${key}`);
      await revalidate(a.url, `tag=item-${key}`);
      expect((await view(a.url, `/u/${key}`)).status).toBe(200);

      await redis.restart();
      // Once the replicas reconnect (breaker cool-down 5 s), a page rendered on A is a hit on B.
      const shared = await until(
        async () => {
          const path = `/p/${id()}`;
          const first = await view(a.url, path);
          const second = await view(b.url, path);
          return { ...second, item: second.render === first.render ? "same" : "different" };
        },
        (v) => v.item === "same" && v.cache === "HIT",
        "a page rendered on A is served from the cache on B",
        30_000,
      );
      expect(shared.view.status).toBe(200);
      // No error page, and nothing from the Redis client or an unhandled rejection on stderr.
      expect(a.output()).not.toMatch(/Internal Server Error|⨯|\[ioredis\]|Unhandled/);
      expect(b.output()).not.toMatch(/Internal Server Error|⨯|\[ioredis\]|Unhandled/);
    }, 60_000);
  },
  true,
);
