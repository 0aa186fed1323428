import { describe, expect, it } from "@jest/globals";
import { clusterSlot } from "../src/cluster-slot.js";
import { decodeEnvelope as decodeAny, encodeEnvelope, EnvelopeError } from "../src/envelope.js";
import type { DecodedEnvelope } from "../src/envelope.js";

/** Decodes bytes that must hold an entry, not a tombstone. */
function decodeEnvelope(bytes: Buffer): DecodedEnvelope {
  const decoded = decodeAny(bytes);
  if ("tombstone" in decoded) throw new Error("expected an entry, got a tombstone");
  return decoded;
}
import { encodeKeyPart, escapeGlob, escapePrefix } from "../src/key-codec.js";

describe("envelope", () => {
  it("round-trips every header field and the payload", () => {
    const payload = Uint8Array.from([0, 1, 2, 255]);
    const header = { cachedAt: 1_700_000_000_123.5, ttl: 60_000, staleFor: 5_000, tags: ["a", "ü", ""] };
    const bytes = encodeEnvelope(header, "structured", payload);
    expect(bytes[0]).toBe(0xca);
    expect(bytes[1]).toBe(1);
    const decoded = decodeEnvelope(bytes);
    expect(decoded).toMatchObject({ ...header, codecName: "structured" });
    expect(Array.from(decoded.payload)).toEqual([0, 1, 2, 255]);
  });

  it("omits absent fields, so an entry without ttl, stale time or tags costs 12 bytes + codec name", () => {
    const bytes = encodeEnvelope(
      { cachedAt: 0, ttl: undefined, staleFor: 0, tags: [] },
      "",
      new Uint8Array(),
    );
    expect(bytes.length).toBe(12);
    expect(decodeEnvelope(bytes)).toMatchObject({ ttl: undefined, staleFor: 0, tags: [], codecName: "" });
  });

  it("format 2 carries the entry version at bytes 3..10, and an 11-byte tombstone", () => {
    const header = { cachedAt: 7, ttl: 60_000, staleFor: 0, tags: ["t"] };
    const bytes = encodeEnvelope(header, "json", Buffer.from("{}"), true);
    expect(bytes[1]).toBe(2);
    expect(bytes.readDoubleBE(3)).toBe(0);
    bytes.writeDoubleBE(1_764_755_000_123_456, 3);
    expect(decodeEnvelope(bytes)).toMatchObject({
      ...header,
      codecName: "json",
      entryVersion: 1_764_755_000_123_456,
    });
    const tombstone = Buffer.alloc(11);
    tombstone.set([0xca, 2, 8]);
    tombstone.writeDoubleBE(42, 3);
    expect(decodeAny(tombstone)).toEqual({ tombstone: true, entryVersion: 42 });
    expect(() => decodeAny(tombstone.subarray(0, 10))).toThrow(/truncated/);
    expect(decodeEnvelope(encodeEnvelope(header, "json", Buffer.from("{}")))).toMatchObject({
      entryVersion: 1,
    });
  });

  it("encodes 200 tags with multi-byte varint counts", () => {
    const tags = Array.from({ length: 200 }, (_, i) => `tag-${i}`.repeat(30));
    const decoded = decodeEnvelope(
      encodeEnvelope({ cachedAt: 1, ttl: 2, staleFor: 0, tags }, "json", new Uint8Array()),
    );
    expect(decoded.tags).toEqual(tags);
  });

  it("rejects foreign, truncated and future-version bytes", () => {
    const good = encodeEnvelope(
      { cachedAt: 5, ttl: 10, staleFor: 0, tags: ["x"] },
      "json",
      Buffer.from("{}"),
    );
    expect(() => decodeEnvelope(Buffer.from("hello"))).toThrow(/bad magic/);
    expect(() => decodeEnvelope(good.subarray(0, 9))).toThrow(/truncated/);
    const future = Buffer.from(good);
    future[1] = 3;
    expect(() => decodeEnvelope(future)).toThrow(/unsupported envelope version 3/);
    const flags = Buffer.from(good);
    flags[2] = 0x80;
    expect(() => decodeEnvelope(flags)).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(Buffer.alloc(0))).toThrow(/truncated/);
  });
});

describe("key encoding", () => {
  it("keeps readable keys verbatim", () => {
    for (const key of ["user:1", "", "*?[]\\", "ключ 🔑", "a\nb", "{tag}x"])
      expect(encodeKeyPart(key)).toBe(key);
  });

  it("escapes lone surrogates and a leading NUL, without collisions", () => {
    const awkward = ["\uD800", "\uDFFF", "\u0000", "\u0000abc", "a\uD800b", "\uDC00\uD800"];
    const encoded = awkward.map(encodeKeyPart);
    expect(new Set(encoded).size).toBe(awkward.length);
    for (const e of encoded) {
      expect(e.startsWith("\u0000")).toBe(true);
      // survives UTF-8 unchanged
      expect(Buffer.from(e, "utf8").toString("utf8")).toBe(e);
    }
    expect(encoded).not.toContain(encodeKeyPart("\uFFFD"));
  });

  it("escapes : and \\ in prefixes, so a prefix never covers a nested one", () => {
    expect(escapePrefix("app")).toBe("app");
    expect(escapePrefix("a:b\\c")).toBe("a\\:b\\\\c");
    // prefix "a" + key "b:k" versus prefix "a:b" + key "k"
    expect(`${escapePrefix("a")}:b:k`).not.toBe(`${escapePrefix("a:b")}:k`);
  });

  it("escapes glob characters", () => {
    expect(escapeGlob("a*b?c[d]e\\f")).toBe("a\\*b\\?c\\[d\\]e\\\\f");
  });
});

describe("clusterSlot", () => {
  it("matches Redis's CRC16 slots", () => {
    expect(clusterSlot("123456789")).toBe(0x31c3 % 16384);
    expect(clusterSlot("foo")).toBe(12182);
    expect(clusterSlot("")).toBe(0);
  });

  it("hashes only a non-empty hash tag", () => {
    expect(clusterSlot("{user1000}.following")).toBe(clusterSlot("user1000"));
    expect(clusterSlot("foo{}{bar}")).toBe(clusterSlot("foo{}{bar}"));
    expect(clusterSlot("foo{}{bar}")).not.toBe(clusterSlot("bar"));
    expect(clusterSlot(Buffer.from("{a}1"))).toBe(clusterSlot("a"));
  });
});
