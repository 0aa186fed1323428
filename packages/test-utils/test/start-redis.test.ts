import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, liveChildCount, sendCommand, startRedis } from "../src/index.js";
import type { RedisHandle } from "../src/index.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeRedis(
  "startRedis",
  () => {
    let redis: RedisHandle;
    beforeAll(async () => {
      redis = await startRedis({ own: true, args: ["--maxmemory", "16mb"] });
    });
    afterAll(async () => {
      await redis.stop();
    });

    it("starts a server on a free port that answers commands", async () => {
      expect(redis.port).not.toBe(6379);
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(redis.clientOptions).toEqual({ host: "127.0.0.1", port: redis.port });
      expect(await sendCommand(redis.host, redis.port, ["SET", "k", "v"])).toBe("OK");
      expect(await sendCommand(redis.host, redis.port, ["GET", "k"])).toBe("v");
    });

    it("passes extra arguments and disables persistence", async () => {
      expect(await sendCommand(redis.host, redis.port, ["CONFIG", "GET", "maxmemory"])).toEqual([
        "maxmemory",
        String(16 * 1024 * 1024),
      ]);
      expect(await sendCommand(redis.host, redis.port, ["CONFIG", "GET", "save"])).toEqual(["save", ""]);
      expect(await sendCommand(redis.host, redis.port, ["CONFIG", "GET", "appendonly"])).toEqual([
        "appendonly",
        "no",
      ]);
    });

    it("kill() ends the process and restart() brings it back on the same port", async () => {
      const firstPid = redis.pid!;
      expect(isAlive(firstPid)).toBe(true);
      await redis.kill();
      expect(redis.pid).toBeUndefined();
      expect(isAlive(firstPid)).toBe(false);
      await expect(sendCommand(redis.host, redis.port, ["PING"], 300)).rejects.toThrow();
      await redis.restart();
      expect(redis.pid).not.toBe(firstPid);
      expect(await sendCommand(redis.host, redis.port, ["PING"])).toBe("PONG");
      expect(await sendCommand(redis.host, redis.port, ["CONFIG", "GET", "maxmemory"])).toEqual([
        "maxmemory",
        String(16 * 1024 * 1024),
      ]);
    });

    it("pause() freezes the server and resume() thaws it", async () => {
      redis.pause();
      await expect(sendCommand(redis.host, redis.port, ["PING"], 200)).rejects.toThrow(/no reply/);
      redis.resume();
      expect(await sendCommand(redis.host, redis.port, ["PING"])).toBe("PONG");
    });
  },
  true,
);

describeRedis(
  "startRedis cleanup",
  () => {
    it("stop() ends the process, frees the port and removes the temp dir", async () => {
      const before = liveChildCount();
      const redis = await startRedis({ own: true });
      const pid = redis.pid!;
      expect(liveChildCount()).toBe(before + 1);
      const dirs = await sendCommand(redis.host, redis.port, ["CONFIG", "GET", "dir"]);
      const dir = (dirs as string[])[1]!;
      expect(existsSync(dir)).toBe(true);
      await redis.stop();
      expect(isAlive(pid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      expect(liveChildCount()).toBe(before);
      await expect(sendCommand(redis.host, redis.port, ["PING"], 300)).rejects.toThrow();
    });

    it("reports a server that cannot start, with its output", async () => {
      await expect(startRedis({ own: true, args: ["--no-such-option", "1"] })).rejects.toThrow(
        /exited .* while starting/s,
      );
    });
  },
  true,
);

describe("startRedis with REDIS_URL", () => {
  const saved = process.env["REDIS_URL"];
  afterAll(() => {
    if (saved === undefined) delete process.env["REDIS_URL"];
    else process.env["REDIS_URL"] = saved;
  });

  it("returns a handle for the external server that refuses fault operations", async () => {
    process.env["REDIS_URL"] = "redis://user:p%40ss@10.1.2.3:7000/2";
    const redis = await startRedis();
    expect(redis.isExternal).toBe(true);
    expect(redis.clientOptions).toEqual({
      host: "10.1.2.3",
      port: 7000,
      username: "user",
      password: "p@ss",
      db: 2,
    });
    expect(redis.pid).toBeUndefined();
    await expect(redis.stop()).resolves.toBeUndefined();
    expect(() => redis.kill()).toThrow(/own: true/);
    expect(() => redis.restart()).toThrow(/REDIS_URL/);
  });
});
