import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

export default defineConfig({
  ...base,
  entry: {
    index: "src/index.ts",
    "cache-handler": "src/entries/cache-handler.ts",
    "use-cache-handler": "src/entries/use-cache-handler.ts",
  },
  external: ["next", "@cachet/core", "@cachet/redis", "@cachet/tier", "ioredis"],
});
