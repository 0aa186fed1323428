import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// `testing` imports the main entry by package name and keeps it external, so CacheError and
// ManualClock exist once and `instanceof` works across the two entries.
export default defineConfig({
  ...base,
  entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" },
  external: ["@cachet/tier"],
});
