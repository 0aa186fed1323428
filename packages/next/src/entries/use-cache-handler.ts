// `cacheHandlers` entry point for next.config: the "use cache" handler of the process-wide
// NextCache, configured from the environment (see sharedNextCache). Next takes the default export;
// the named one is for code that imports it.
import { sharedNextCache } from "../shared-next-cache.js";

export const useCacheHandler = sharedNextCache().useCacheHandler;
export default useCacheHandler;
