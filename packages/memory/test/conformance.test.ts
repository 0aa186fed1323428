import { jsonCodec } from "@cachet/tier";
import { tierConformanceCases } from "@cachet/tier/testing";
import { MemoryTier } from "../src/index.js";

// Longer than any time the kit advances, so its cases can tell per-entry ttl from the default.
const DEFAULT_TTL = 30 * 60_000;

describe("MemoryTier conformance (by reference)", () => {
  const cases = tierConformanceCases({
    create: ({ clock }) => new MemoryTier<string, string>({ maxEntries: 10_000, clock, ttl: DEFAULT_TTL }),
    defaultTtl: DEFAULT_TTL,
  });
  it("runs every case of the kit, none skipped", () => {
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
  });
  for (const c of cases) it(c.name, c.run);
});

describe("MemoryTier conformance (bounded by bytes, stored encoded)", () => {
  const cases = tierConformanceCases({
    create: ({ clock }) =>
      new MemoryTier<string, string>({
        maxBytes: 16 * 1024 * 1024,
        codec: jsonCodec,
        clock,
        ttl: DEFAULT_TTL,
      }),
    defaultTtl: DEFAULT_TTL,
  });
  it("runs every case of the kit, none skipped", () => {
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
  });
  for (const c of cases) it(c.name, c.run);
});
