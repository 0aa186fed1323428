// `cacheHandlers` entry point for next.config: the "use cache" handler of the process-wide
// NextCache, configured from the environment (see sharedNextCache).
import { sharedNextCache } from "../shared-next-cache.js";

const useCacheHandler = sharedNextCache().useCacheHandler;
export default useCacheHandler;
