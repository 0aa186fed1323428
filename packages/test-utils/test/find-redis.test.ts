import { afterEach, describe, expect, it, jest } from "@jest/globals";
import { findRedisBinaries, redisAvailable } from "../src/index.js";

describe("redisAvailable without redis-server", () => {
  const saved = { PATH: process.env["PATH"], CI: process.env["CI"], REDIS_URL: process.env["REDIS_URL"] };
  const restore = (name: keyof typeof saved): void => {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  };
  afterEach(() => {
    restore("PATH");
    restore("CI");
    restore("REDIS_URL");
    jest.restoreAllMocks();
  });

  const hideRedis = (): void => {
    process.env["PATH"] = "/nonexistent-cachet-path";
    delete process.env["REDIS_URL"];
  };

  it("fails under CI=true, naming the install command", () => {
    hideRedis();
    process.env["CI"] = "true";
    expect(findRedisBinaries()).toBeUndefined();
    expect(() => redisAvailable()).toThrow(/apt-get install -y redis-server/);
  });

  it("returns false with one loud banner outside CI", () => {
    hideRedis();
    delete process.env["CI"];
    const write = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(redisAvailable()).toBe(false);
    expect(redisAvailable()).toBe(false);
    expect(write).toHaveBeenCalledTimes(1);
    expect(String(write.mock.calls[0]?.[0])).toContain("SKIPPING the Redis test suites");
  });

  it("counts REDIS_URL as available unless the suite needs its own process", () => {
    hideRedis();
    process.env["CI"] = "true";
    process.env["REDIS_URL"] = "redis://127.0.0.1:1";
    expect(redisAvailable()).toBe(true);
    expect(() => redisAvailable(true)).toThrow(/redis-server not found/);
  });
});
