// Key encoding: how keys and prefixes become Redis keys and SCAN patterns without collisions.
import { describe, expect, it } from "@jest/globals";
import { encodeKeyPart, escapeGlob, escapePrefix } from "../src/key-codec.js";

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
