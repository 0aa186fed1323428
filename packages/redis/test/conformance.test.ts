import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, startRedis, startRedisCluster } from "@cachet/test-utils";
import type { RedisClusterHandle, RedisHandle } from "@cachet/test-utils";
import { tierConformanceCases } from "@cachet/tier/testing";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { RedisTier } from "../src/index.js";
import type { RedisClientInput } from "../src/index.js";

// Longer than the minutes the kit's cases advance the clock by, so entries without a ttl outlive them.
const DEFAULT_TTL = 3_600_000;

function registerKit(client: () => RedisClientInput): void {
  const cases = tierConformanceCases<string, string>({
    create: ({ clock, namespace }) =>
      new RedisTier<string, string>({ client: client(), clock, prefix: namespace, ttl: DEFAULT_TTL }),
    defaultTtl: DEFAULT_TTL,
  });
  it("runs every case of the kit, none skipped", () => {
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
  });
  for (const c of cases) it(c.name, c.run);

  // The same tier with versioned, conditional writes: every base case again, plus the conditional ones.
  describe("with conditionalWrites", () => {
    const versioned = tierConformanceCases<string, string>({
      create: ({ clock, namespace }) =>
        new RedisTier<string, string>({
          client: client(),
          clock,
          prefix: namespace,
          ttl: DEFAULT_TTL,
          conditionalWrites: { tombstoneTtl: "10m" },
        }),
      defaultTtl: DEFAULT_TTL,
      conditionalWrites: true,
    });
    it("runs every case of the kit and the nine conditional ones, none skipped", () => {
      expect(versioned.filter((c) => c.skip !== undefined)).toEqual([]);
      expect(versioned.length - cases.length).toBe(9);
    });
    for (const c of versioned) it(c.name, c.run);
  });
}

describeRedis("RedisTier conformance on a standalone server", () => {
  let redis: RedisHandle;
  let io: Redis;
  let node: ReturnType<typeof createClient>;
  beforeAll(async () => {
    redis = await startRedis();
    io = new Redis(redis.clientOptions);
    node = createClient({ socket: { host: redis.host, port: redis.port } });
    node.on("error", () => undefined);
    await node.connect();
  });
  afterAll(async () => {
    await io.quit();
    node.destroy();
    await redis.stop();
  });

  describe("ioredis", () => registerKit(() => io));
  describe("node-redis", () => registerKit(() => node));
  describe("owned client from a URL", () => registerKit(() => redis.url));
});

describeRedis(
  "RedisTier conformance on a 3-master cluster",
  () => {
    let cluster: RedisClusterHandle;
    let io: Cluster;
    let node: ReturnType<typeof createCluster>;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
      const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
      io = new Cluster(nodes);
      node = createCluster({ rootNodes: nodes.map((socket) => ({ socket })) });
      node.on("error", () => undefined);
      await Promise.all([node.connect(), new Promise((resolve) => io.once("ready", resolve))]);
    });
    afterAll(async () => {
      await io.quit();
      node.destroy();
      await cluster.stop();
    });

    describe("ioredis Cluster", () => registerKit(() => io));
    describe("node-redis cluster", () => registerKit(() => node));
  },
  true,
); // spawns cluster nodes: REDIS_URL alone is not enough
