import type { describe as JestDescribe } from "@jest/globals";
import { redisAvailable } from "./find-redis.js";

/**
 * `describe` for suites that need Redis. It runs the suite when Redis is available, and otherwise
 * skips it after one loud banner; under `CI=true` a missing `redis-server` throws instead, because
 * a skipped suite is not a passing one.
 *
 * It uses jest's global `describe`, looked up when called, so that importing this package outside
 * jest (a bench script) does not load the test runner.
 *
 * @param needsProcess - the suite kills, restarts or pauses servers, so `REDIS_URL` is not enough.
 */
export function describeRedis(name: string, fn: () => void, needsProcess = false): void {
  const describe = (globalThis as { describe?: typeof JestDescribe }).describe;
  if (!describe) throw new Error("describeRedis() must be called inside a jest test file");
  if (redisAvailable(needsProcess)) describe(name, fn);
  else describe.skip(`${name} (redis-server not installed)`, fn);
}
