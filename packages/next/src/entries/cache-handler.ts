// `cacheHandler` entry point for next.config: the incremental cache handler of the process-wide
// NextCache, configured from the environment (see sharedNextCache).
import { sharedNextCache } from "../shared-next-cache.js";

const CacheHandler = sharedNextCache().CacheHandler;
export default CacheHandler;
