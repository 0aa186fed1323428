import { describe, expect, it } from "@jest/globals";
import * as ioredis from "ioredis";
import * as redis from "redis";
import { RedisTier } from "../src/index.js";

// Proves which client majors a jest project runs against: the module mapping in jest.config.js
// must really swap the packages, for this file and for the sources under test.
function majorOf(moduleName: "ioredis" | "redis"): number {
  const path = require.resolve(moduleName);
  const match = /(?:ioredis|redis)@(\d+)\./.exec(path);
  if (!match) throw new Error(`cannot tell the version of ${moduleName} from ${path}`);
  return Number(match[1]);
}

describe("client majors of this jest project", () => {
  // Set per project in jest.config.js.
  const expected = (globalThis as { cachetClientMajor?: number }).cachetClientMajor;

  it("loads ioredis and redis of one major, the same one the sources get", async () => {
    const ioredisMajor = majorOf("ioredis");
    const redisMajor = majorOf("redis");
    expect(expected).toBeDefined();
    expect(ioredisMajor).toBe(expected);
    expect(redisMajor).toBe(expected);
    expect(typeof ioredis.Redis).toBe("function");
    expect(typeof redis.createClient).toBe("function");
    // The tier creates its client from a URL with the ioredis the project maps to.
    const tier = new RedisTier({ client: "redis://127.0.0.1:1", prefix: "versions", commandTimeout: 50 });
    await tier.close();
  });
});
