// The envelope: the byte format of an entry in Redis (header, codec name, payload).
import { describe, expect, it } from "@jest/globals";
import { decodeEnvelope, encodeEnvelope, EnvelopeError } from "../src/envelope.js";

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
    future[1] = 2;
    expect(() => decodeEnvelope(future)).toThrow(/unsupported envelope version 2/);
    const flags = Buffer.from(good);
    flags[2] = 0x80;
    expect(() => decodeEnvelope(flags)).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(Buffer.alloc(0))).toThrow(/truncated/);
  });
});
