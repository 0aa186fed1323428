import { expect, it } from "@jest/globals";
import { structuredCodec } from "@cachet/tier";

// Regression test. Found by test/codec-fuzz.test.ts (shrunk counterexample `{ ["__proto__"]: "" }`):
// msgpackr's unpack renames an own `__proto__` key to `__proto_` (its prototype-pollution guard),
// so structuredCodec used to change the value silently. It now refuses such a value with CODEC.
it("structuredCodec gives back an own __proto__ key unchanged, or refuses it with CODEC", () => {
  const value = JSON.parse('{"__proto__":"x","a":1}') as Record<string, unknown>;
  let decoded: unknown;
  try {
    decoded = structuredCodec.decode(structuredCodec.encode(value));
  } catch (error) {
    expect((error as { code?: string }).code).toBe("CODEC");
    return;
  }
  expect(Object.keys(decoded as object).sort()).toEqual(["__proto__", "a"]);
});
