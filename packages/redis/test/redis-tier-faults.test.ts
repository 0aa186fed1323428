import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { CacheEntry, isCacheError } from "@cachet/tier";
import { caughtCacheError, describeRedis, startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle, TcpProxy } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { RedisTier } from "../src/index.js";
import type { RedisTierEvent } from "../src/index.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";

const TIMEOUT = 400;
/** Scheduling slack on a shared 2-core machine; still far below "hangs". */
const MARGIN = 300;

async function failure(call: Promise<unknown>): Promise<{ code: string | undefined; elapsed: number }> {
  const started = performance.now();
  const error = await caughtCacheError(call);
  const elapsed = performance.now() - started;
  return { code: isCacheError(error) ? error.code : undefined, elapsed };
}

/** Polls `check` until it returns true, bounded: waiting on a process, not sleeping for time. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

const works = (tier: RedisTier<string, unknown>) => () =>
  tier.ping().then(
    () => true,
    () => false,
  );

describeRedis(
  "RedisTier when Redis fails",
  () => {
    let redis: RedisHandle;
    const cleanups: (() => Promise<void> | void)[] = [];
    beforeAll(async () => {
      redis = await startRedis({ own: true });
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      if (!redis.pid) await redis.restart();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it("owned client: a killed server makes calls fail fast with TIER_FAILURE; a restart recovers the same tier", async () => {
      const events: RedisTierEvent[] = [];
      const tier = new RedisTier({
        client: redis.url,
        prefix: uniquePrefix(),
        commandTimeout: TIMEOUT,
        onEvent: (e) => events.push(e),
      });
      cleanups.push(() => tier.close());
      await tier.insert("k", new CacheEntry("before"));
      await redis.kill();
      await until(async () => !(await works(tier)()), "the tier notices the server is gone");
      const results = await Promise.all([
        failure(tier.get("k")),
        failure(tier.insert("k", new CacheEntry("during"))),
        failure(tier.getMany(["k", "j"])),
        failure(tier.clear()),
      ]);
      for (const { code, elapsed } of results) {
        expect(code).toBe("TIER_FAILURE");
        expect(elapsed).toBeLessThan(TIMEOUT / 2); // far below commandTimeout: not waited for
      }
      await until(
        async () => events.some((e) => e.type === "client-error"),
        "the owned client reports its error",
      );
      expect(events.find((e) => e.type === "client-error")).toMatchObject({ tier: "redis" });
      await redis.restart();
      await until(works(tier), "the tier reconnects on its own");
      expect(await tier.get("k")).toBeUndefined(); // the server lost its data; the tier did not crash
      await tier.insert("k", new CacheEntry("after"));
      expect((await tier.get("k"))?.value).toBe("after");
    });

    it("owned client: calls in flight when the server dies reject within commandTimeout", async () => {
      const tier = new RedisTier({ client: redis.url, prefix: uniquePrefix(), commandTimeout: TIMEOUT });
      cleanups.push(() => tier.close());
      await tier.ping();
      redis.pause();
      const inFlight = failure(tier.get("k"));
      await redis.kill();
      const { code, elapsed } = await inFlight;
      expect(["TIER_FAILURE", "TIMEOUT"]).toContain(code);
      expect(elapsed).toBeLessThan(TIMEOUT + MARGIN);
    });

    it("a frozen server (SIGSTOP) makes calls fail with TIMEOUT after commandTimeout, then recover", async () => {
      const tier = new RedisTier({ client: redis.url, prefix: uniquePrefix(), commandTimeout: TIMEOUT });
      cleanups.push(() => tier.close());
      await tier.insert("k", new CacheEntry("v"));
      redis.pause();
      cleanups.push(() => redis.resume());
      const { code, elapsed } = await failure(tier.get("k"));
      expect(code).toBe("TIMEOUT");
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 5);
      expect(elapsed).toBeLessThan(TIMEOUT + MARGIN);
      redis.resume();
      await until(works(tier), "the frozen server answers again");
      expect((await tier.get("k"))?.value).toBe("v");
    });

    it("a user's ioredis client with default settings (offline queue on) is bounded by commandTimeout", async () => {
      const client = new Redis({ ...redis.clientOptions, retryStrategy: () => 50 });
      client.on("error", () => undefined);
      cleanups.push(() => client.disconnect());
      const tier = new RedisTier({ client, prefix: uniquePrefix(), commandTimeout: TIMEOUT });
      await tier.insert("k", new CacheEntry("v"));
      await redis.kill();
      const { code, elapsed } = await failure(tier.get("k"));
      expect(["TIER_FAILURE", "TIMEOUT"]).toContain(code);
      expect(elapsed).toBeLessThan(TIMEOUT + MARGIN);
      await redis.restart();
      await until(works(tier), "the user's client reconnects");
      await tier.insert("k", new CacheEntry("again"));
      expect((await tier.get("k"))?.value).toBe("again");
      expect(client.status).toBe("ready");
    });

    it("a user's node-redis client fails fast while reconnecting and recovers", async () => {
      const client = createClient({
        socket: { host: redis.host, port: redis.port, reconnectStrategy: () => 50 },
      });
      client.on("error", () => undefined);
      await client.connect();
      cleanups.push(() => client.destroy());
      const tier = new RedisTier({ client, prefix: uniquePrefix(), commandTimeout: TIMEOUT });
      cleanups.push(() => tier.close());
      await tier.insert("k", new CacheEntry("v"));
      await redis.kill();
      await until(async () => !(await works(tier)()), "node-redis notices the server is gone");
      const { code, elapsed } = await failure(tier.get("k"));
      expect(code).toBe("TIER_FAILURE");
      expect(elapsed).toBeLessThan(TIMEOUT / 2); // far below commandTimeout: not waited for
      await redis.restart();
      await until(works(tier), "node-redis reconnects");
      await tier.insert("k", new CacheEntry("again"));
      expect((await tier.get("k"))?.value).toBe("again");
    });

    it("connections cut mid-command (TCP proxy) fail the calls in flight, and the tier recovers", async () => {
      const proxy: TcpProxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
      cleanups.push(() => proxy.close());
      const tier = new RedisTier({ client: proxy.url, prefix: uniquePrefix(), commandTimeout: TIMEOUT });
      cleanups.push(() => tier.close());
      await tier.insert("k", new CacheEntry("v"));
      proxy.pause();
      const inFlight = failure(tier.get("k"));
      proxy.cutAll();
      proxy.resume();
      const { code, elapsed } = await inFlight;
      expect(["TIER_FAILURE", "TIMEOUT"]).toContain(code);
      expect(elapsed).toBeLessThan(TIMEOUT + MARGIN);
      await until(works(tier), "the tier reconnects through the proxy");
      expect((await tier.get("k"))?.value).toBe("v");
      proxy.setLatency(TIMEOUT + 100);
      expect((await failure(tier.get("k"))).code).toBe("TIMEOUT");
      proxy.setLatency(0);
    });
  },
  true,
);
