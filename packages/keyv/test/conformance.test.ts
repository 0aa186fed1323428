import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeRedis, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { structuredCodec } from "@cachet/tier";
import { tierConformanceCases } from "@cachet/tier/testing";
import KeyvPostgres from "@keyv/postgres";
import KeyvRedis from "@keyv/redis";
import KeyvSqlite from "@keyv/sqlite";
import { KeyvMemoryAdapter } from "keyv6";
import { KeyvTier } from "../src/index.js";
import type { KeyvStorageAdapterLike } from "../src/index.js";
import { describePostgres, startPostgres } from "./fixtures/postgres.js";
import type { PostgresHandle } from "./fixtures/postgres.js";

// Longer than the minutes the kit's cases advance the clock by, so entries without a ttl outlive them.
const DEFAULT_TTL = 30 * 60_000;

/** Registers every case of the kit for tiers over adapters made by `adapter()`, one per tier. */
function registerKit(
  adapter: () => KeyvStorageAdapterLike & { disconnect(): Promise<unknown> },
  { encodeKey, closeStore = true }: { encodeKey?: (key: string) => string; closeStore?: boolean } = {},
): void {
  const cases = tierConformanceCases<string, string>({
    create: ({ clock, namespace }) => {
      return new KeyvTier<string>({
        store: adapter(),
        clock,
        namespace,
        ttl: DEFAULT_TTL,
        closeStore,
        ...(encodeKey === undefined ? {} : { encodeKey }),
      });
    },
    // close() disconnects the adapter (with closeStore); a case that closed the tier already did.
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

// PostgreSQL text cannot hold NUL, so keys go through an injective escape (`\` doubled, NUL as
// `\0`); keySize leaves room for the kit's 1 KiB keys.
const escapeNul = (key: string) => key.replaceAll("\\", "\\\\").replaceAll("\u0000", "\\0");

describePostgres("KeyvTier conformance on @keyv/postgres (a throwaway PostgreSQL cluster)", () => {
  let postgres: PostgresHandle;
  let last: KeyvPostgres | undefined;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    // @keyv/postgres keeps one pool per URI for all its adapters: end it once, not per tier.
    await last?.disconnect();
    await postgres?.stop();
  });

  registerKit(() => (last = new KeyvPostgres({ uri: postgres.url, keySize: 4096 })), {
    encodeKey: escapeNul,
    closeStore: false,
  });
});

// A native Keyv 6 adapter (it declares `capabilities.expires`): the tier hands it an absolute
// expiry instead of a relative ttl. One Map for all the tiers of the run, like one shared backend.
describe("KeyvTier conformance on Keyv 6's KeyvMemoryAdapter (absolute expiry)", () => {
  const shared = new Map<unknown, unknown>();
  registerKit(() => Object.assign(new KeyvMemoryAdapter(shared), { disconnect: () => Promise.resolve() }));
});
