import { afterAll, beforeAll, expect, it } from "@jest/globals";
import fc from "fast-check";
import { Redis } from "ioredis";
import { Cache, CacheEntry, isCacheEntry } from "@cachet/core";
import { ENVELOPE_MAGIC, ENVELOPE_VERSION, RedisTier } from "@cachet/redis";
import type { RedisTierEvent } from "@cachet/redis";
import { describeRedis, startRedis, type RedisHandle } from "@cachet/test-utils";

// Bytes under a RedisTier's prefix are untrusted: another application, an old format or a
// corrupted write may have put them there. Whatever they are, `get`/`getMany` must resolve (a
// miss, or an entry whose metadata is sane), and a miss on bytes that are not a readable entry
// must be reported as a `corrupt-entry` event. Keys follow the documented scheme
// `<prefix>:<key>` (the prefix has no `:` or `\`, so it is not escaped).

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 120);
const PREFIX = `fuzz${process.pid}`;

describeRedis("RedisTier envelope against hostile bytes", () => {
  let redis: RedisHandle;
  let raw: Redis;
  let tier: RedisTier<string, unknown>;
  const events: RedisTierEvent[] = [];
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.clientOptions);
    // A client made here: under jest (CommonJS) the tier's lazy `import("ioredis")` for a URL fails.
    tier = new RedisTier<string, unknown>({ client: raw, prefix: PREFIX, onEvent: (e) => events.push(e) });
  });

  afterAll(async () => {
    const keys = await raw.keys(`${PREFIX}:*`);
    if (keys.length > 0) await raw.unlink(...keys);
    await tier.close();
    raw.disconnect();
    await redis.stop();
  });

  /** Reads `key` both ways; returns what `get` gave and whether a corrupt-entry event was reported. */
  async function readBack(
    key: string,
  ): Promise<{ entry: CacheEntry<unknown> | undefined; reported: boolean }> {
    events.length = 0;
    const entry = await tier.get(key);
    const [batched] = await tier.getMany([key]);
    expect(batched === undefined).toBe(entry === undefined);
    if (entry !== undefined) {
      expect(isCacheEntry(entry)).toBe(true);
      expect(Number.isFinite(entry.cachedAt)).toBe(true);
      expect(entry.ttl === undefined || (entry.ttl >= 0 && Number.isFinite(entry.ttl))).toBe(true);
      expect(entry.staleFor >= 0 && Number.isFinite(entry.staleFor)).toBe(true);
      expect(entry.tags.every((t) => typeof t === "string")).toBe(true);
    }
    const reported = events.some((e) => e.type === "corrupt-entry" && e.redisKey === `${PREFIX}:${key}`);
    return { entry, reported };
  }

  it("random bytes are a reported miss (or, rarely, a readable entry), never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const key = `random-${n++}`;
        await raw.set(`${PREFIX}:${key}`, Buffer.from(bytes));
        const { entry, reported } = await readBack(key);
        if (bytes[0] !== ENVELOPE_MAGIC) expect(entry).toBeUndefined();
        if (entry === undefined) expect(reported).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("bytes after a valid header prefix (magic, version) are a reported miss or a sane entry", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 120 }),
        async (flags, rest) => {
          const key = `header-${n++}`;
          const bytes = Buffer.concat([Buffer.from([ENVELOPE_MAGIC, ENVELOPE_VERSION, flags]), rest]);
          await raw.set(`${PREFIX}:${key}`, bytes);
          const { entry, reported } = await readBack(key);
          // A well-formed header with random metadata may describe an expired entry: a silent miss.
          if (entry === undefined && !reported) {
            expect(rest.length).toBeGreaterThanOrEqual(8);
            // That is the only silent miss: the header is readable, has a ttl (flag bit 0), and its
            // `cachedAt + ttl + staleFor` (stale time: flag bit 1) has passed. Anything else must
            // have been reported.
            expect(flags & 1).toBe(1);
            const cachedAt = bytes.readDoubleBE(3);
            const ttl = bytes.readDoubleBE(11);
            const staleFor = flags & 2 ? bytes.readDoubleBE(19) : 0;
            expect(cachedAt + ttl + staleFor).toBeLessThanOrEqual(Date.now());
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a real entry truncated, bit-flipped, appended to or overwritten with SETRANGE never throws", async () => {
    const value = fc.oneof(fc.jsonValue(), fc.date({ noInvalidDate: true }), fc.uint8Array());
    await fc.assert(
      fc.asyncProperty(
        value,
        fc.array(fc.string(), { maxLength: 3 }),
        fc.constantFrom("truncate", "flip", "append", "setrange"),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        async (v, tags, how, at, junk) => {
          const key = `mutated-${n++}`;
          const redisKey = `${PREFIX}:${key}`;
          await tier.insert(key, new CacheEntry(v, { ttl: 60_000, tags }));
          const original = (await raw.getBuffer(redisKey))!;
          const offset = at % original.length;
          if (how === "truncate") await raw.set(redisKey, original.subarray(0, offset));
          else if (how === "flip") {
            const flipped = Buffer.from(original);
            flipped[offset] = flipped[offset]! ^ (junk[0]! || 1);
            await raw.set(redisKey, flipped);
          } else if (how === "append") await raw.append(redisKey, Buffer.from(junk));
          else await raw.setrange(redisKey, offset, Buffer.from(junk));
          const { entry, reported } = await readBack(key);
          // A cut inside the header cannot be read: it must be reported. (A cut inside the codec's
          // bytes may still decode, e.g. JSON "12" cut to "1".)
          if (how === "truncate" && offset < 11) expect(entry === undefined && reported).toBe(true);
          // A flipped or overwritten byte may turn the ttl into one already elapsed: a silent
          // miss is correct then. Truncated or appended bytes leave the header as it was.
          if (entry === undefined && (how === "truncate" || how === "append")) expect(reported).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a Cache over the tier treats corrupt L2 bytes as a miss and calls the loader", async () => {
    const cache = Cache.builder<string, unknown>()
      .memory({ maxEntries: 100 })
      .fallback(Cache.builder<string, unknown>().storage(tier, { close: false }))
      .build();
    try {
      await raw.set(`${PREFIX}:through-cache`, Buffer.from([ENVELOPE_MAGIC, ENVELOPE_VERSION, 7, 1, 2]));
      await expect(cache.get("through-cache")).resolves.toBeUndefined();
      await expect(cache.getOrInsert("through-cache", () => "loaded")).resolves.toBe("loaded");
    } finally {
      await cache.close();
    }
  });

  it("regression: foreign text (another app's string under the prefix) is a reported miss", async () => {
    await raw.set(`${PREFIX}:foreign`, "hello from another app");
    const { entry, reported } = await readBack("foreign");
    expect(entry).toBeUndefined();
    expect(reported).toBe(true);
  });
});
