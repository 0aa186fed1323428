import { createHash } from "node:crypto";
import { CacheError, toPositiveMilliseconds } from "@cachet/tier";
import type {
  CacheEntry,
  ConditionalWriteResult,
  ConditionalWrites,
  EntryVersion,
  Duration,
  Milliseconds,
  VersionedRead,
} from "@cachet/tier";
import type { RedisAdapter, RedisScript, RedisWrite } from "./redis-adapter.js";

/*
 * Versioned writes in Redis, one round trip and one key per script (so they work on a Cluster).
 *
 * Where a version lives: in the entry's own value, a format-2 envelope (envelope.ts) with the
 * version at bytes 3..10, so a script reads it with `GETRANGE key 0 10` whatever the value's size,
 * and every reader (plain `GET`) still gets the entry in one command. A tombstone is an 11-byte
 * format-2 envelope with the tombstone flag, stored with `PX tombstoneTtl`.
 *
 * What a version is: `max(TIME of the master in µs, previous version + 1)`, set by the script
 * itself. So per key it is strictly increasing while the entry or tombstone exists, even if the
 * master's clock steps back, and its time part says when the write happened on that clock.
 *
 * Clock assumptions:
 * - Compare-and-set (`insertIfVersion` against a version read from an entry or a tombstone) makes
 *   none: it compares for equality, and versions never repeat while the key holds one.
 * - A version read from an absent key can only be compared to "still absent", which a tombstone
 *   that expired also satisfies. The read therefore records the master's time (`TIME`, in the same
 *   script as the `GET`), and the write is refused when `tombstoneTtl` or more has passed on that
 *   same clock since. Both the tombstone's expiry and this check run on the master's clock, so the
 *   only assumption is that it does not step backwards between the read and the write (a step of
 *   δ shortens the protection by δ), including across a failover to a replica whose clock differs.
 * - `writtenAt` (µs / 1000) is the master's wall clock: comparing it with another machine's clock
 *   (to order a replayed write) assumes their skew is below the margin the caller allows.
 */

/** Longer than the core's default lease (10 s) and any sane loader hard timeout. */
const DEFAULT_TOMBSTONE_TTL = 60_000;

/**
 * Validates the tier's `conditionalWrites` option: the tombstone ttl, or `undefined` when off.
 * @throws CacheError `INVALID_OPTION` for a bad value, or an adapter that cannot run scripts.
 */
export function tombstoneTtlOf(
  option: boolean | { tombstoneTtl?: Duration } | undefined,
  adapter: RedisAdapter | undefined,
  tier: string,
): Milliseconds | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== "object" || option === null)) {
    throw new CacheError("INVALID_OPTION", "`conditionalWrites` must be a boolean or `{ tombstoneTtl }`", {
      tier,
    });
  }
  // An adapter still being created (from a URL) is ioredis's, which has runScript.
  if (adapter !== undefined && typeof adapter.runScript !== "function") {
    throw new CacheError(
      "INVALID_OPTION",
      "`conditionalWrites` needs a client adapter with `runScript`; this adapter has none",
      { tier },
    );
  }
  const ttl = option === true ? undefined : option.tombstoneTtl;
  return ttl === undefined
    ? DEFAULT_TOMBSTONE_TTL
    : toPositiveMilliseconds(ttl, "conditionalWrites.tombstoneTtl");
}

function script(source: string): RedisScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/** Shared Lua: the version stored at KEYS[1] — 0 absent, 1 a format-1 value, else the stored one. */
const VERSION_OF = `
local function version_of(key)
  local head = redis.call('GETRANGE', key, 0, 10)
  if head == '' then return 0 end
  if #head == 11 and string.byte(head, 1) == 202 and string.byte(head, 2) == 2 then
    local v = struct.unpack('>d', head, 4)
    return v
  end
  return 1
end`;

/**
 * ARGV: [1] expected version ("" = unconditional), [2] its read time (µs), [3] the format-2
 * envelope ("" = tombstone), [4] PX of the entry ("" = none), [5] tombstone ttl (ms).
 * Reply: {1, new version} written, {0} conflict, {-1} expired token.
 */
export const WRITE_SCRIPT = script(`${VERSION_OF}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local current = version_of(KEYS[1])
if ARGV[1] ~= '' then
  local expected = tonumber(ARGV[1])
  if current ~= expected then return {0} end
  if expected == 0 and now - tonumber(ARGV[2]) >= tonumber(ARGV[5]) * 1000 then return {-1} end
end
local version = math.max(now, current + 1)
local packed = struct.pack('>d', version)
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], string.char(202, 2, 8) .. packed, 'PX', ARGV[5])
else
  if ARGV[4] == '' then redis.call('SET', KEYS[1], ARGV[3])
  else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
  redis.call('SETRANGE', KEYS[1], 3, packed)
end
return {1, string.format('%.0f', version)}`);

/** Reply: {value or nil, TIME seconds, TIME microseconds}; TIME is taken before the GET. */
export const READ_SCRIPT = script(`
local t = redis.call('TIME')
return {redis.call('GET', KEYS[1]), t[1], t[2]}`);

/** Reply: 1 when KEYS[1] holds a tombstone, else 0 (reads 3 bytes whatever the value's size). */
const IS_TOMBSTONE_SCRIPT = script(`
local h = redis.call('GETRANGE', KEYS[1], 0, 2)
if h == string.char(202, 2, 8) then return 1 end
return 0`);

/** How many of `keys` hold something other than a tombstone: `size()` counts entries only. */
export async function countEntries(redis: RedisAdapter, keys: readonly Buffer[]): Promise<number> {
  const replies = await Promise.all(keys.map((key) => redis.runScript!(IS_TOMBSTONE_SCRIPT, key, [])));
  return replies.filter((reply) => Number(reply) === 0).length;
}

/** What a versioned read decoded from the bytes at the key. */
export interface DecodedVersioned<V> {
  entry: CacheEntry<V> | undefined;
  /** 0 absent, 1 written without versions, else µs on the master's clock. */
  entryVersion: number;
}

/** The parts of {@link RedisTier} the capability needs, handed over by the tier's constructor. */
export interface ConditionalWriteHost<K, V> {
  redisKey(key: K): string;
  /** Encodes a format-2 envelope; `ttlMs` 0 means already expired. */
  prepare(redisKey: string, entry: CacheEntry<V>): RedisWrite;
  /** Decodes the bytes of a versioned read (reporting unreadable bytes as the tier does). */
  decode(redisKey: string, bytes: Buffer | null): DecodedVersioned<V>;
  /** Runs one call under the tier's timeout, closed check and error wrapping. */
  run<T>(operation: string, work: (redis: RedisAdapter) => Promise<T>): Promise<T>;
  readonly name: string;
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString("latin1") : String(value);
}

/** Token: `<version>` for a key that holds something, `0:<read time µs>` for an absent key. */
function toVersion(entryVersion: number, readAtMicros: string): EntryVersion {
  return {
    token: entryVersion === 0 ? `0:${readAtMicros}` : String(entryVersion),
    writtenAt: entryVersion > 1 ? entryVersion / 1000 : undefined,
  };
}

/**
 * One versioned write of `write` (an entry, or a tombstone when `ttlMs` is 0), optionally only if
 * the key is still at `expected` (`[version, readAtMicros]`). Resolves to the script's reply.
 */
export async function writeVersioned(
  redis: RedisAdapter,
  write: RedisWrite,
  tombstoneTtl: Milliseconds,
  expected?: readonly [string, string],
): Promise<ConditionalWriteResult> {
  const tombstone = write.ttlMs === 0;
  const reply = (await redis.runScript!(WRITE_SCRIPT, write.key, [
    expected?.[0] ?? "",
    expected?.[1] ?? "",
    tombstone ? "" : write.value,
    tombstone || write.ttlMs === undefined ? "" : String(write.ttlMs),
    String(Math.ceil(tombstoneTtl)),
  ])) as unknown[];
  const status = Number(reply[0]);
  if (status === 1) return { written: true, version: toVersion(Number(text(reply[1])), "0") };
  return { written: false, reason: status === 0 ? "conflict" : "expired-token" };
}

/** `tier.conditionalWrites` of a {@link RedisTier} created with `conditionalWrites` on. */
export class RedisConditionalWrites<K, V> implements ConditionalWrites<K, V> {
  readonly tombstoneTtl: Milliseconds;
  readonly #host: ConditionalWriteHost<K, V>;

  constructor(host: ConditionalWriteHost<K, V>, tombstoneTtl: Milliseconds) {
    this.#host = host;
    this.tombstoneTtl = tombstoneTtl;
  }

  /**
   * A plain `GET` first: an entry or a tombstone carries its version in its bytes, so a hit (and a
   * tombstone) costs exactly what `get` costs. Only when the key is absent does it run the read
   * script, which takes the master's time with the `GET` (the token of an absent key needs it):
   * a second round trip on a true miss, which a load then follows anyway.
   */
  async getVersioned(key: K): Promise<VersionedRead<V>> {
    const redisKey = this.#host.redisKey(key);
    const bytes = await this.#host.run("getVersioned", (redis) => redis.get(redisKey));
    if (bytes !== null) {
      const { entry, entryVersion } = this.#host.decode(redisKey, bytes);
      if (entryVersion !== 0) return { entry, version: toVersion(entryVersion, "0") };
    }
    const reply = (await this.#host.run("getVersioned", (redis) =>
      redis.runScript!(READ_SCRIPT, redisKey, []),
    )) as [Buffer | null, unknown, unknown];
    const { entry, entryVersion } = this.#host.decode(redisKey, reply[0] ?? null);
    const micros = text(reply[2]).padStart(6, "0");
    return { entry, version: toVersion(entryVersion, `${text(reply[1])}${micros}`) };
  }

  async insertIfVersion(
    key: K,
    entry: CacheEntry<V>,
    expected: EntryVersion,
  ): Promise<ConditionalWriteResult> {
    const token: unknown = expected?.token;
    const parts = typeof token === "string" ? token.split(":") : [];
    if (parts[1] === undefined) parts.push("0");
    if (parts.length !== 2 || !parts.every((part) => /^\d+$/.test(part))) {
      throw new CacheError(
        "INVALID_OPTION",
        "`expected` must be a version returned by this tier's `getVersioned` or `insertIfVersion`",
        { tier: this.#host.name },
      );
    }
    const redisKey = this.#host.redisKey(key);
    const write = this.#host.prepare(redisKey, entry);
    return this.#host.run("insertIfVersion", (redis) =>
      writeVersioned(redis, write, this.tombstoneTtl, parts as [string, string]),
    );
  }
}
