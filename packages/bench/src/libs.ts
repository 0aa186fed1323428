import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { Cache } from "@cachet/core";
import type { BentoCache, bentostore } from "bentocache";
import type { Cacheable } from "cacheable";
import type { createCache } from "cache-manager";
import { LRUCache } from "lru-cache";

// Libraries are imported when a measurement builds them, so each measurement process loads only
// the library it measures (startup time, not measured, but it adds up over hundreds of processes).

/** The value every scenario caches: a small user record (about 100 bytes as JSON). */
export interface Value {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly roles: readonly string[];
  readonly active: boolean;
}

export function makeValue(i: number): Value {
  return { id: i, name: `user ${i}`, email: `user${i}@example.com`, roles: ["reader"], active: i % 2 === 0 };
}

/**
 * One library behind the calls the scenarios make. Each method returns what the library returns
 * (a value or a promise); the harness awaits it.
 */
export interface Subject {
  get(key: string): unknown;
  getOrInsert(key: string, load: () => Promise<Value>): unknown;
  set(key: string, value: Value): unknown;
  close(): Promise<void>;
}

/** Default freshness for every library, long enough that nothing expires during a measurement. */
export const TTL_MS = 60_000;

/** In-process (L1) libraries. Configuration follows each library's README. */
export const L1_LIBS = [
  "lru-cache",
  "lru-cache-ttl",
  "map",
  "cachet",
  "cachet-reference",
  "cachet-clone",
  "cachet-listener",
  "cachet-channel",
  "bentocache",
  "bentocache-noser",
  "cacheable",
  "cache-manager",
] as const;
export type L1Lib = (typeof L1_LIBS)[number];

function lruSubject(lru: LRUCache<string, Value>): Subject {
  return {
    get: (key) => lru.get(key),
    getOrInsert: (key, load) => {
      const hit = lru.get(key);
      if (hit !== undefined) return hit;
      return load().then((value) => {
        lru.set(key, value);
        return value;
      });
    },
    set: (key, value) => lru.set(key, value),
    close: () => Promise.resolve(),
  };
}

function cachetSubject(cache: Cache<string, Value>, cleanup?: () => void): Subject {
  return {
    get: (key) => cache.get(key),
    getOrInsert: (key, load) => cache.getOrInsert(key, load),
    set: (key, value) => cache.insert(key, value),
    close: async () => {
      cleanup?.();
      await cache.close();
    },
  };
}

function bentoSubject(bento: BentoCache<Record<string, ReturnType<typeof bentostore>>>): Subject {
  return {
    get: (key) => bento.get({ key }),
    getOrInsert: (key, load) => bento.getOrSet({ key, factory: load }),
    set: (key, value) => bento.set({ key, value }),
    close: () => bento.disconnect(),
  };
}

function cacheableSubject(cache: Cacheable): Subject {
  return {
    get: (key) => cache.get(key),
    getOrInsert: (key, load) => cache.getOrSet(key, load),
    set: (key, value) => cache.set(key, value),
    close: () => cache.disconnect(),
  };
}

function cacheManagerSubject(cache: ReturnType<typeof createCache>): Subject {
  return {
    get: (key) => cache.get(key),
    getOrInsert: (key, load) => cache.wrap(key, load),
    set: (key, value) => cache.set(key, value),
    close: () => cache.disconnect().then(() => undefined),
  };
}

/** cachet's value mode for a library name: `freeze` (the default) unless the name says otherwise. */
function valueMode(lib: string): "freeze" | "reference" | "clone" {
  return lib.endsWith("-reference") ? "reference" : lib.endsWith("-clone") ? "clone" : "freeze";
}

/** Builds an in-process cache holding up to `max` entries. */
export async function createL1(lib: L1Lib, max: number): Promise<Subject> {
  switch (lib) {
    case "lru-cache":
      return lruSubject(new LRUCache<string, Value>({ max }));
    case "lru-cache-ttl":
      return lruSubject(new LRUCache<string, Value>({ max, ttl: TTL_MS }));
    case "map": {
      const map = new Map<string, Value>();
      return {
        get: (key) => map.get(key),
        getOrInsert: (key, load) => {
          const hit = map.get(key);
          if (hit !== undefined) return hit;
          return load().then((value) => {
            map.set(key, value);
            return value;
          });
        },
        set: (key, value) => map.set(key, value),
        close: () => Promise.resolve(),
      };
    }
    case "cachet":
    case "cachet-reference":
    case "cachet-clone": {
      const { Cache } = await import("@cachet/core");
      return cachetSubject(
        Cache.builder<string, Value>()
          .memory({ maxEntries: max })
          .ttl(TTL_MS)
          .valueMode(valueMode(lib))
          .build(),
      );
    }
    case "cachet-listener": {
      const { Cache } = await import("@cachet/core");
      return cachetSubject(
        Cache.builder<string, Value>()
          .memory({ maxEntries: max })
          .ttl(TTL_MS)
          .onEvent(() => {})
          .build(),
      );
    }
    case "cachet-channel": {
      const { Cache, CACHE_EVENT_CHANNEL } = await import("@cachet/core");
      const onMessage = (): void => {};
      subscribe(CACHE_EVENT_CHANNEL, onMessage);
      return cachetSubject(
        Cache.builder<string, Value>().memory({ maxEntries: max }).ttl(TTL_MS).build(),
        () => unsubscribe(CACHE_EVENT_CHANNEL, onMessage),
      );
    }
    case "bentocache":
    case "bentocache-noser": {
      const { BentoCache, bentostore } = await import("bentocache");
      const { memoryDriver } = await import("bentocache/drivers/memory");
      return bentoSubject(
        new BentoCache({
          default: "cache",
          ttl: TTL_MS,
          stores: {
            cache: bentostore().useL1Layer(memoryDriver({ maxItems: max, serialize: lib === "bentocache" })),
          },
        }),
      );
    }
    case "cacheable": {
      const { Cacheable, createKeyv } = await import("cacheable");
      return cacheableSubject(
        new Cacheable({ primary: createKeyv({ ttl: TTL_MS, lruSize: max }), ttl: TTL_MS }),
      );
    }
    case "cache-manager": {
      const { createCache } = await import("cache-manager");
      const { CacheableMemory } = await import("cacheable");
      const { Keyv } = await import("keyv");
      return cacheManagerSubject(
        createCache({ stores: [new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: max }) })] }),
      );
    }
  }
}

/**
 * Libraries with a Redis L2, and the floors they are measured against: raw ioredis `GET` followed by
 * the decode the tier does (`-json`: `JSON.parse`; `-msgpack`: msgpackr with `structuredCodec`'s
 * options, cachet's default Redis codec), and a hand-rolled lru-cache + ioredis two-tier cache
 * (`src/baselines/hand-rolled-tiered.ts`). `ioredis*` without a suffix read raw strings, not decoded.
 */
export const L2_LIBS = [
  "ioredis",
  "ioredis-autopipeline",
  "ioredis-json",
  "ioredis-msgpack",
  "hand-rolled-json",
  "hand-rolled-msgpack",
  "cachet",
  "cachet-json",
  "cachet-reference",
  "cachet-clone",
  "bentocache",
  "cacheable",
  "cache-manager",
] as const;
export type L2Lib = (typeof L2_LIBS)[number];

/** Where the Redis of a measurement runs, and how the L1 in front of it is sized. */
export interface TieredOptions {
  url: string;
  host: string;
  port: number;
  /** Entries of the L1 in front of Redis; 0 for no L1 at all (Redis alone). */
  l1Max: number;
}

/**
 * Builds an L1 + Redis L2 cache (or, for `ioredis*`, a raw client storing JSON), each configured
 * as its README shows for two tiers.
 */
export async function createTiered(lib: L2Lib, options: TieredOptions): Promise<Subject> {
  const { url, host, port, l1Max } = options;
  switch (lib) {
    case "ioredis":
    case "ioredis-autopipeline": {
      const { Redis } = await import("ioredis");
      const redis = new Redis({ host, port, enableAutoPipelining: lib === "ioredis-autopipeline" });
      return {
        get: (key) => redis.get(key),
        getOrInsert: async (key, load) => {
          const hit = await redis.get(key);
          if (hit !== null) return hit;
          const value = await load();
          await redis.set(key, JSON.stringify(value), "PX", TTL_MS);
          return value;
        },
        set: (key, value) => redis.set(key, JSON.stringify(value), "PX", TTL_MS),
        close: () => redis.quit().then(() => undefined),
      };
    }
    case "ioredis-json":
    case "ioredis-msgpack": {
      // The same client settings as cachet's own Redis client (auto-pipelining on, its default).
      const { Redis } = await import("ioredis");
      const { jsonFloor, msgpackFloor } = await import("./baselines/floor-codecs.js");
      const redis = new Redis({ host, port, enableAutoPipelining: true });
      const codec = lib === "ioredis-json" ? jsonFloor : msgpackFloor;
      const read =
        lib === "ioredis-json"
          ? (key: string) =>
              redis.get(key).then((text): unknown => (text === null ? undefined : JSON.parse(text)))
          : (key: string) =>
              redis.getBuffer(key).then((bytes) => (bytes === null ? undefined : msgpackFloor.decode(bytes)));
      return {
        get: read,
        getOrInsert: () => Promise.reject(new Error(`${lib} is a read floor only`)),
        set: (key, value) => redis.set(key, codec.encode(value as never), "PX", TTL_MS),
        close: () => redis.quit().then(() => undefined),
      };
    }
    case "hand-rolled-json":
    case "hand-rolled-msgpack": {
      const { Redis } = await import("ioredis");
      const { HandRolledTiered } = await import("./baselines/hand-rolled-tiered.js");
      const { jsonFloor, msgpackFloor } = await import("./baselines/floor-codecs.js");
      const redis = new Redis({ host, port, enableAutoPipelining: true });
      const cache = new HandRolledTiered<Value>(
        redis,
        lib === "hand-rolled-json" ? jsonFloor : msgpackFloor,
        {
          max: Math.max(1, l1Max),
          ttl: TTL_MS,
        },
      );
      return {
        get: (key) => cache.get(key),
        getOrInsert: () => Promise.reject(new Error(`${lib} is a read floor only`)),
        set: (key, value) => cache.set(key, value),
        close: () => redis.quit().then(() => undefined),
      };
    }
    case "cachet":
    case "cachet-json":
    case "cachet-reference":
    case "cachet-clone": {
      const { Cache } = await import("@cachet/core");
      const { RedisTier } = await import("@cachet/redis");
      const { jsonCodec } = await import("@cachet/tier");
      const redisTier = new RedisTier<string, Value>({
        client: url,
        prefix: "bench",
        ...(lib === "cachet-json" ? { codec: jsonCodec } : {}),
      });
      const builder =
        l1Max === 0
          ? Cache.builder<string, Value>().storage(redisTier)
          : Cache.builder<string, Value>()
              .memory({ maxEntries: l1Max })
              .fallback(Cache.builder<string, Value>().storage(redisTier).ttl(TTL_MS));
      return cachetSubject(builder.ttl(TTL_MS).valueMode(valueMode(lib)).build());
    }
    case "bentocache": {
      const { BentoCache, bentostore } = await import("bentocache");
      const { memoryDriver } = await import("bentocache/drivers/memory");
      const { redisDriver } = await import("bentocache/drivers/redis");
      return bentoSubject(
        new BentoCache({
          default: "cache",
          ttl: TTL_MS,
          stores: {
            cache: bentostore()
              .useL1Layer(memoryDriver({ maxItems: l1Max }))
              .useL2Layer(redisDriver({ connection: { host, port } })),
          },
        }),
      );
    }
    case "cacheable": {
      const { Cacheable, createKeyv } = await import("cacheable");
      const { default: KeyvRedis } = await import("@keyv/redis");
      return cacheableSubject(
        new Cacheable({
          primary: createKeyv({ ttl: TTL_MS, lruSize: l1Max }),
          secondary: new KeyvRedis(url),
          ttl: TTL_MS,
        }),
      );
    }
    case "cache-manager": {
      const { createCache } = await import("cache-manager");
      const { CacheableMemory } = await import("cacheable");
      const { Keyv } = await import("keyv");
      const { default: KeyvRedis } = await import("@keyv/redis");
      const redisStore = new Keyv({ store: new KeyvRedis(url) });
      return cacheManagerSubject(
        createCache({
          stores:
            l1Max === 0
              ? [redisStore]
              : [new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: l1Max }) }), redisStore],
        }),
      );
    }
  }
}
