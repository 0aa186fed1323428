import { jsonCodec } from "@cachet/tier";
import { tierConformanceCases } from "@cachet/tier/testing";
import { MemoryTier } from "../src/index.js";

// Longer than any time the kit advances, so its cases can tell per-entry ttl from the default.
const DEFAULT_TTL = 30 * 60_000;

describe("MemoryTier conformance (by reference)", () => {
  for (const c of tierConformanceCases({
    create: ({ clock }) => new MemoryTier<string, string>({ maxEntries: 10_000, clock, ttl: DEFAULT_TTL }),
    defaultTtl: DEFAULT_TTL,
  })) {
    (c.skip === undefined ? it : it.skip)(c.name, c.run);
  }
});

describe("MemoryTier conformance (bounded by bytes, stored encoded)", () => {
  for (const c of tierConformanceCases({
    create: ({ clock }) =>
      new MemoryTier<string, string>({
        maxBytes: 16 * 1024 * 1024,
        codec: jsonCodec,
        clock,
        ttl: DEFAULT_TTL,
      }),
    defaultTtl: DEFAULT_TTL,
  })) {
    (c.skip === undefined ? it : it.skip)(c.name, c.run);
  }
});
