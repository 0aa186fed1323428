import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { structuredCodec } from "@cachet/tier";
import { tierConformanceCases } from "@cachet/tier/testing";
import KeyvRedis from "@keyv/redis";
import KeyvSqlite from "@keyv/sqlite";
import { KeyvTier } from "../src/index.js";
import type { KeyvStorageAdapterLike } from "../src/index.js";

// Longer than the minutes the kit's cases advance the clock by, so entries without a ttl outlive them.
const DEFAULT_TTL = 30 * 60_000;

/** Registers every case of the kit for tiers over adapters made by `adapter()`, one per tier. */
function registerKit(adapter: () => KeyvStorageAdapterLike & { disconnect(): Promise<unknown> }): void {
  const cases = tierConformanceCases<string, string>({
    create: ({ clock, namespace }) => {
      return new KeyvTier<string>({ store: adapter(), clock, namespace, ttl: DEFAULT_TTL, closeStore: true });
    },
    // close() disconnects the adapter (closeStore); a case that closed the tier already did it.
    destroy: (tier) => tier.close?.(),
    defaultTtl: DEFAULT_TTL,
  });
  it("runs every case of the kit, none skipped", () => {
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
  });
  for (const c of cases) it(c.name, c.run);
}

describe("KeyvTier conformance on @keyv/sqlite (a database file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cachet-keyv-"));
  const file = join(dir, "cache.sqlite");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe("json codec (text rows)", () => registerKit(() => new KeyvSqlite({ uri: `sqlite://${file}` })));
  describe("structured codec (base64 rows)", () => {
    const cases = tierConformanceCases<string, string>({
      create: ({ clock, namespace }) =>
        new KeyvTier<string>({
          store: new KeyvSqlite({ uri: `sqlite://${file}` }),
          clock,
          namespace,
          ttl: DEFAULT_TTL,
          codec: structuredCodec,
          closeStore: true,
        }),
      defaultTtl: DEFAULT_TTL,
    });
    it("runs every case of the kit, none skipped", () => {
      expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
    });
    for (const c of cases) it(c.name, c.run);
  });
});

describeRedis("KeyvTier conformance on @keyv/redis (a real redis-server)", () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  registerKit(() => new KeyvRedis(redis.url, { throwOnErrors: true }));
});
