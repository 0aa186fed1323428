import { expect, it } from "@jest/globals";
import { structuredCodec } from "@cachet/tier";

// Found by test/codec-fuzz.test.ts (shrunk counterexample `{ ["__proto__"]: "" }`). msgpackr's
// unpack renames an own `__proto__` key to `__proto_` (its prototype-pollution guard), so
// structuredCodec silently changes the value instead of refusing it with CODEC. It fails until
// fixed in @cachet/tier, so it runs only with `pnpm --filter @cachet/chaos test:known-bugs`.
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
