import type { OnApplicationShutdown } from "@nestjs/common";
import type { CachetCacheConfig } from "./cachet-module-options.js";

/**
 * Closes a registration's cache when the application shuts down. Nest calls
 * `onApplicationShutdown` after the HTTP server stopped, so requests in flight finish against an
 * open cache.
 */
export class CacheShutdown implements OnApplicationShutdown {
  readonly #config: CachetCacheConfig;
  #isDone = false;

  constructor(config: CachetCacheConfig) {
    this.#config = config;
  }

  async onApplicationShutdown(): Promise<void> {
    // Nest may call the hook once per module that sees this provider; close once.
    if (this.#isDone) return;
    this.#isDone = true;
    if (this.#config.closeOnShutdown !== false) await this.#config.cache.close();
    await this.#config.onShutdown?.();
  }
}
