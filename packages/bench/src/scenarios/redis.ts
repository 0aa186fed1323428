import { sendCommand, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";

/** Starts a redis-server of this measurement's own on a free port (never the shared 6379). */
export function ownRedis(): Promise<RedisHandle> {
  return startRedis({ own: true });
}

const READS = ["get", "mget", "getex", "hget", "hgetall", "hmget", "exists", "getrange"];

/** Command counts from `INFO commandstats`, without the INFO calls themselves. */
export async function commandCounts(redis: RedisHandle): Promise<{ reads: number; all: number }> {
  const reply = await sendCommand(redis.host, redis.port, ["INFO", "commandstats"]);
  if (typeof reply !== "string") throw new Error("INFO commandstats did not return text");
  let reads = 0;
  let all = 0;
  for (const line of reply.split(/\r?\n/)) {
    const m = /^cmdstat_([a-z|_-]+):calls=(\d+)/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const calls = Number(m[2]);
    if (name === "info") continue;
    all += calls;
    if (READS.includes(name)) reads += calls;
  }
  return { reads, all };
}
