import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** @type {import("next").NextConfig} */
const config = {
  // Pages, route handlers and fetch results: the CommonJS build of the handler, through require.
  cacheHandler: require.resolve("@cachet/next/cache-handler"),
  // "use cache" functions: the ES module build, through import. Both share one cache per process.
  cacheHandlers: {
    default: fileURLToPath(import.meta.resolve("@cachet/next/use-cache-handler")),
    remote: fileURLToPath(import.meta.resolve("@cachet/next/use-cache-handler")),
  },
  // Next's own in-memory layer in front of a custom handler would keep serving what another
  // replica already revalidated; cachet's L1 takes its place and is kept coherent by the bus.
  cacheMaxMemorySize: 0,
  experimental: {
    useCache: true,
    // The build's own Turbopack cache costs seconds to write and only speeds up a rebuild.
    turbopackFileSystemCacheForBuild: false,
  },
};

export default config;
