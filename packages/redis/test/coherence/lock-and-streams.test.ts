import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { caughtCacheError, describeRedis, findFreePort, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { isCacheError } from "@cachet/tier";
import { Redis } from "ioredis";
import { RedisLock, escapeLockKey } from "../../src/lock/redis-lock.js";
import { RedisStreams } from "../../src/streams/redis-streams.js";
import { waitFor } from "./fixtures/wait.js";

let counter = 0;
const unique = (what: string): string => `test:${what}:${process.pid}:${++counter}`;

/** Every rejection these tests expect is a CacheError; the shared helper checks that much. */
const rejection = (promise: Promise<unknown>): Promise<unknown> => caughtCacheError(promise);

describe("lock keys", () => {
  it("escapes glob characters injectively", () => {
    expect(escapeLockKey("users:*")).toBe("users:\\*");
    expect(escapeLockKey("a?[b]\\")).toBe("a\\?\\[b\\]\\\\");
    expect(escapeLockKey("\\*")).not.toBe(escapeLockKey("*"));
  });
});

describeRedis(
  "RedisLock and RedisStreams on a real server",
  () => {
    let redis: RedisHandle;
    let client: Redis;
    let admin: Redis;
    beforeAll(async () => {
      redis = await startRedis({ own: true });
      client = new Redis(redis.clientOptions);
      admin = new Redis(redis.clientOptions);
    });
    afterAll(async () => {
      await client.quit();
      await admin.quit();
      await redis.stop();
    });

    describe("RedisLock", () => {
      it("grants a lease to one holder at a time, with a Redis-side expiry", async () => {
        const lock = new RedisLock({ client, prefix: `${unique("lock")}:` });
        const key = "users:42";
        const first = await lock.tryAcquire(key, 5_000);
        expect(first?.key).toBe(key);
        expect(await lock.tryAcquire(key, 5_000)).toBeUndefined();
        const ttl = await admin.pttl(lock.keyOf(key));
        expect(ttl).toBeGreaterThan(4_000);
        expect(ttl).toBeLessThanOrEqual(5_000);
        await lock.release(first!);
        // The first attempt after a release meets the "just released" marker; the next one takes it.
        expect(await lock.tryAcquire(key, 5_000)).toBeUndefined();
        const second = await lock.tryAcquire(key, 5_000);
        expect(second?.token).not.toBe(first?.token);
      });

      it("the stampede race: a waiter that missed before the holder wrote, and asks after the release, reads again first", async () => {
        const prefix = `${unique("lock")}:`;
        const holder = new RedisLock({ client, prefix });
        const waiter = new RedisLock({ client, prefix });
        const lease = (await holder.tryAcquire("k", 5_000))!;
        expect(await waiter.tryAcquire("k", 5_000)).toBeUndefined(); // held: the waiter polls
        // The waiter's next read of the shared tier misses (the loader still runs) ... then the holder
        // writes its value and releases, before the waiter's next lock attempt lands:
        await holder.release(lease);
        expect(await waiter.tryAcquire("k", 5_000)).toBeUndefined(); // so it must read again, and hit
        // A process that had not waited at all is held back the same way (its miss may be as old):
        expect(await new RedisLock({ client, prefix }).tryAcquire("k", 5_000)).toBeUndefined();
      });

      it("the holder wrote nothing (its loader failed): the waiter takes the lock on its next attempt", async () => {
        const prefix = `${unique("lock")}:`;
        const holder = new RedisLock({ client, prefix });
        const waiter = new RedisLock({ client, prefix });
        await holder.release((await holder.tryAcquire("k", 5_000))!);
        expect(await waiter.tryAcquire("k", 5_000)).toBeUndefined();
        const lease = await waiter.tryAcquire("k", 5_000); // its read missed again: nothing was written
        expect(lease).toBeDefined();
        expect(await admin.get(holder.keyOf("k"))).toBe(lease!.token);
        expect(await holder.tryAcquire("k", 5_000)).toBeUndefined(); // a live lease is never taken over
      });

      it("the marker lasts releaseLinger (the stated limit), and releaseLinger 0 deletes the key", async () => {
        const prefix = `${unique("lock")}:`;
        const lock = new RedisLock({ client, prefix, releaseLinger: 100 });
        await lock.release((await lock.tryAcquire("k", 5_000))!);
        const ttl = await admin.pttl(lock.keyOf("k"));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(100);
        expect(await admin.get(lock.keyOf("k"))).toMatch(/^released:/);
        // A process stalled past the linger between its miss and its lock attempt takes the lock at once:
        // the one case where it may load after the holder (its read was older than the holder's write).
        await waitFor(async () => (await admin.exists(lock.keyOf("k"))) === 0, "the marker to expire");
        expect(await new RedisLock({ client, prefix }).tryAcquire("k", 5_000)).toMatchObject({ key: "k" });
        const none = new RedisLock({ client, prefix: `${unique("lock")}:`, releaseLinger: 0 });
        await none.release((await none.tryAcquire("k", 5_000))!);
        expect(await admin.exists(none.keyOf("k"))).toBe(0);
        expect(() => new RedisLock({ client, releaseLinger: -1 })).toThrow(/releaseLinger/);
      });

      it("release is token-checked: an old lease never frees the current holder's lock", async () => {
        const lock = new RedisLock({ client, prefix: `${unique("lock")}:` });
        const first = (await lock.tryAcquire("k", 5_000))!;
        await admin.del(lock.keyOf("k")); // the lease expires
        const second = (await lock.tryAcquire("k", 5_000))!;
        await lock.release(first);
        expect(await admin.get(lock.keyOf("k"))).toBe(second.token);
        await lock.release(second);
        expect(await admin.get(lock.keyOf("k"))).toBe(`released:${second.token}`);
      });

      it("falls back to EVAL when the script cache was flushed", async () => {
        const lock = new RedisLock({ client, prefix: `${unique("lock")}:` });
        const lease = (await lock.tryAcquire("k", 5_000))!;
        await admin.script("FLUSH");
        await lock.release(lease);
        expect(await admin.get(lock.keyOf("k"))).toBe(`released:${lease.token}`);
        await admin.script("FLUSH");
        expect(await lock.tryAcquire("k", 5_000)).toBeUndefined();
        expect(await lock.tryAcquire("k", 5_000)).toMatchObject({ key: "k" });
      });

      it("stores glob characters escaped, so a user key is never a pattern", async () => {
        const prefix = `${unique("lock")}:`;
        const lock = new RedisLock({ client, prefix });
        await lock.tryAcquire("a*", 5_000);
        expect(await admin.exists(`${prefix}a\\*`)).toBe(1);
        expect(await admin.exists(`${prefix}a*`)).toBe(0);
        // "a*" does not hold "ab": a different key, its own lock.
        expect((await lock.tryAcquire("ab", 5_000))?.key).toBe("ab");
      });

      it("rejects at once when the connection is down, and validates its input", async () => {
        const down = new Redis({ port: await findFreePort(), host: "127.0.0.1", retryStrategy: () => 1_000 });
        down.on("error", () => undefined);
        await waitFor(() => down.status === "reconnecting", "the client to give up its first attempt");
        const lock = new RedisLock({ client: down });
        const started = Date.now();
        const error = await rejection(lock.tryAcquire("k", 1_000));
        expect(Date.now() - started).toBeLessThan(100);
        expect(isCacheError(error) && error.code).toBe("TIER_FAILURE");
        const invalid = await rejection(new RedisLock({ client }).tryAcquire("k", 0));
        expect(isCacheError(invalid) && invalid.code).toBe("INVALID_OPTION");
        expect(() => new RedisLock({ client: "nope" })).toThrow(/`client`/);
        down.disconnect();
      });

      it("times out a hung server after commandTimeout", async () => {
        const own = await startRedis({ own: true });
        const hung = new Redis(own.clientOptions);
        await hung.ping();
        const lock = new RedisLock({ client: hung, commandTimeout: 50 });
        own.pause();
        try {
          const error = await rejection(lock.tryAcquire("k", 1_000));
          expect(isCacheError(error) && error.code).toBe("TIMEOUT");
        } finally {
          own.resume();
          hung.disconnect();
          await own.stop();
        }
      });

      it("a URL lock owns its connection and rejects with CLOSED after close", async () => {
        const lock = new RedisLock({ client: redis.url, prefix: `${unique("lock")}:` });
        expect((await lock.tryAcquire("k", 1_000))?.key).toBe("k");
        await lock.close();
        const error = await rejection(lock.tryAcquire("k", 1_000));
        expect(isCacheError(error) && error.code).toBe("CLOSED");
      });
    });

    describe("RedisStreams", () => {
      interface Event {
        user: string;
        n: number;
      }

      it("appends with approximate trimming and reads the latest N, oldest first", async () => {
        const streams = new RedisStreams<Event>({ client, maxLen: 100 });
        const stream = unique("stream");
        const ids: string[] = [];
        for (let n = 0; n < 1_000; n++) ids.push(await streams.append(stream, { user: "u", n }));
        const length = await admin.xlen(stream);
        expect(length).toBeGreaterThanOrEqual(100);
        expect(length).toBeLessThan(400);
        const latest = await streams.latest(stream, 3);
        expect(latest).toEqual([
          { id: ids[997], data: { user: "u", n: 997 } },
          { id: ids[998], data: { user: "u", n: 998 } },
          { id: ids[999], data: { user: "u", n: 999 } },
        ]);
        await streams.close();
        expect(client.status).toBe("ready");
      });

      it("reads after an id, and a blocking read wakes up on the next append", async () => {
        const streams = new RedisStreams<Event>({ client });
        const stream = unique("stream");
        const first = await streams.append(stream, { user: "a", n: 1 });
        await streams.append(stream, { user: "b", n: 2 });
        expect((await streams.read(stream, first)).map((e) => e.data.n)).toEqual([2]);
        expect((await streams.read(stream, "0-0", { count: 1 })).map((e) => e.data.n)).toEqual([1]);
        const pending = streams.read(stream, "$", { block: 5_000 });
        // The blocking read holds its own connection: the shared client still answers.
        expect(await client.ping()).toBe("PONG");
        await waitFor(
          async () => /blocked_clients:[1-9]/.test(await admin.info("clients")),
          "XREAD to block on the server",
        );
        await streams.append(stream, { user: "c", n: 3 });
        expect((await pending).map((e) => e.data)).toEqual([{ user: "c", n: 3 }]);
        expect(await streams.read(stream, "$", { block: 10 })).toEqual([]);
        await streams.close();
      });

      it("consumer groups: each entry goes to one consumer, is acked, and stale pending entries are claimed", async () => {
        const streams = new RedisStreams<Event>({ client });
        const stream = unique("stream");
        expect(await streams.createGroup(stream, "g", "0")).toBe(true);
        expect(await streams.createGroup(stream, "g", "0")).toBe(false);
        for (let n = 0; n < 4; n++) await streams.append(stream, { user: "u", n });
        const one = await streams.readGroup(stream, "g", "worker-1", { count: 2 });
        const two = await streams.readGroup(stream, "g", "worker-2", { count: 10 });
        expect(one.map((e) => e.data.n)).toEqual([0, 1]);
        expect(two.map((e) => e.data.n)).toEqual([2, 3]);
        expect(await streams.readGroup(stream, "g", "worker-2")).toEqual([]);
        expect(await streams.ack(stream, "g", ...two.map((e) => e.id))).toBe(2);
        // worker-1 "dies" with 0 and 1 pending: with minIdle 0 they are stale at once.
        const claimed = await streams.claimStale(stream, "g", "worker-3", { minIdle: 0 });
        expect(claimed.entries.map((e) => e.data.n)).toEqual([0, 1]);
        expect(claimed.next).toBe("0-0");
        // A high minIdle claims nothing: the entries were just delivered to worker-3.
        expect((await streams.claimStale(stream, "g", "worker-1", { minIdle: 60_000 })).entries).toEqual([]);
        expect(await streams.ack(stream, "g", ...claimed.entries.map((e) => e.id))).toBe(2);
        const pending = (await admin.xpending(stream, "g")) as [number, ...unknown[]];
        expect(pending[0]).toBe(0);
        await streams.close();
      });

      it("reports entries it cannot parse with CODEC and a closed helper with CLOSED", async () => {
        const streams = new RedisStreams<Event>({ client });
        const stream = unique("stream");
        await admin.xadd(stream, "*", "d", "{not json");
        const error = await rejection(streams.latest(stream, 1));
        expect(isCacheError(error) && error.code).toBe("CODEC");
        await streams.close();
        const closed = await rejection(streams.append(stream, { user: "x", n: 0 }));
        expect(isCacheError(closed) && closed.code).toBe("CLOSED");
        expect(() => new RedisStreams({ client, maxLen: 0 })).toThrow(/`maxLen`/);
      });
    });
  },
  true,
);
