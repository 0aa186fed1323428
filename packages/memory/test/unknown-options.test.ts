import { isCacheError } from "@cachet/tier";
import { MemoryTier } from "../src/index.js";

describe("MemoryTier options", () => {
  it("refuses an unknown key, naming it and the closest known one, before asking for a bound", () => {
    let caught: unknown;
    try {
      new MemoryTier({ maxEntrys: 10 } as never);
    } catch (error) {
      caught = error;
    }
    expect(isCacheError(caught) && caught.code).toBe("INVALID_OPTION");
    expect((caught as Error).message).toBe(
      "`maxEntrys` is not a MemoryTier option; did you mean `maxEntries`?",
    );
    expect(() => new MemoryTier({ maxEntries: 10, tll: "1m" } as never)).toThrow(/did you mean `ttl`\?/);
    expect(new MemoryTier({ maxEntries: 10, ttl: "1m", name: undefined }).name).toBe("memory");
  });
});
