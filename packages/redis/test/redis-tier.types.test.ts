import { describe, expect, it } from "@jest/globals";
import { CacheEntry } from "@cachet/tier";
import type { CacheTier } from "@cachet/tier";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { RedisTier } from "../src/index.js";
import type { RedisClientInput } from "../src/index.js";

interface User {
  id: string;
  born: Date;
}

// Compile-time checks (run by `pnpm typecheck`); the runtime test below only keeps jest happy
// with a real assertion about the same objects.
const lazy = { lazyConnect: true, enableOfflineQueue: false } as const;
const clients: RedisClientInput[] = [
  "redis://localhost:6379",
  { host: "localhost", port: 6379, tls: true, autoPipelining: false },
  { cluster: [{ host: "localhost", port: 7000 }] },
  new Redis(lazy),
  new Cluster([], lazy),
  createClient(),
  createCluster({ rootNodes: [] }),
];

function typeChecks(tier: RedisTier<string, User>): void {
  const asTier: CacheTier<string, User> = tier;
  void asTier.insert("u", new CacheEntry({ id: "u", born: new Date() }));
  // @ts-expect-error a value of the wrong type is refused
  void tier.insert("u", new CacheEntry({ id: 1 }));
  // @ts-expect-error keys are strings by default
  void tier.get(42);
  // @ts-expect-error `client` is required
  new RedisTier<string, User>({ prefix: "p" });
  // @ts-expect-error `serializeKey` takes the key type
  new RedisTier<number, User>({ client: "redis://x", serializeKey: (key: string) => key });
  // @ts-expect-error a number is not a client
  new RedisTier({ client: 6379 });
}

describe("RedisTier types", () => {
  it("accepts ioredis and node-redis clients, URLs and options as `client`", async () => {
    expect(clients).toHaveLength(7);
    expect(typeof typeChecks).toBe("function");
    (clients[3] as Redis).disconnect();
    (clients[4] as Cluster).disconnect();
    await Promise.resolve();
  });
});
