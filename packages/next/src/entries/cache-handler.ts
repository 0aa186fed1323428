// `cacheHandler` entry point for next.config: the incremental cache handler class of the
// process-wide NextCache, configured from the environment (see sharedNextCache). Next takes the
// default export; the named one is for code that imports it.
import { sharedNextCache } from "../shared-next-cache.js";

export const CacheHandler = sharedNextCache().CacheHandler;
export default CacheHandler;
