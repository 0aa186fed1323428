import { CacheEntry, CacheError, isCacheError } from "@cachet/core";
import { Inject, Injectable } from "@nestjs/common";
import type { CallHandler, ExecutionContext, NestInterceptor } from "@nestjs/common";
import { ModuleRef, Reflector } from "@nestjs/core";
import { concatMap, defer, lastValueFrom } from "rxjs";
import type { Observable } from "rxjs";
import type { AnyCache } from "./cachet-module-options.js";
import { CACHED_METADATA, INVALIDATE_METADATA } from "./metadata.js";
import type { CachedMetadata, InvalidateMetadata } from "./metadata.js";
import { resolveTags, stableStringify } from "./route-context.js";
import type { CachedRequest } from "./route-context.js";
import { DEFAULT_CACHE_NAME, getCacheToken } from "./tokens.js";

/** Express's response, or Fastify's reply with the node response under `raw`. */
type PlatformResponse = { setHeader?(name: string, value: string): unknown; raw?: PlatformResponse };

function setHeader(response: PlatformResponse, name: string, value: string): void {
  // Fastify's reply keeps the node response under `raw`; node merges headers set there into the
  // head Fastify writes, so one call covers both platforms.
  const target = response.raw ?? response;
  target.setHeader?.(name, value);
}

function defaultKey(context: ExecutionContext, request: CachedRequest): string {
  const route = `${context.getClass().name}.${context.getHandler().name}`;
  return `${route}:${stableStringify({ params: request.params ?? {}, query: request.query ?? {} })}`;
}

/**
 * Applies `@Cached()` and `@InvalidateTags()` to the handlers it intercepts; handlers without them
 * pass through untouched. Use it per controller (`@UseInterceptors(CachetInterceptor)`), per
 * handler, or for the whole application (`{ provide: APP_INTERCEPTOR, useClass: CachetInterceptor }`).
 * The caches it uses are those registered with `CachetModule`, found by name anywhere in the
 * application.
 */
@Injectable()
export class CachetInterceptor implements NestInterceptor {
  readonly #reflector: Reflector;
  readonly #moduleRef: ModuleRef;
  readonly #caches = new Map<string, AnyCache>();

  // Explicit tokens: bundlers that build this package do not emit decorator metadata.
  constructor(@Inject(Reflector) reflector: Reflector, @Inject(ModuleRef) moduleRef: ModuleRef) {
    this.#reflector = reflector;
    this.#moduleRef = moduleRef;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== "http") return next.handle();
    const targets = [context.getHandler(), context.getClass()];
    const cached = this.#reflector.getAllAndOverride<CachedMetadata | undefined>(CACHED_METADATA, targets);
    const invalidate = this.#reflector.get<InvalidateMetadata | undefined>(INVALIDATE_METADATA, targets[0]!);
    if (cached === undefined && invalidate === undefined) return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<CachedRequest>();
    const result$ =
      cached === undefined
        ? next.handle()
        : defer(() =>
            this.#cachedResult(cached, context, request, http.getResponse<PlatformResponse>(), next),
          );
    if (invalidate === undefined) return result$;
    return result$.pipe(
      concatMap(async (result: unknown) => {
        const tags = resolveTags(invalidate.tags, { request, result });
        if (tags.length > 0) await this.#cache(invalidate.cache).invalidateTags(tags);
        return result;
      }),
    );
  }

  async #cachedResult(
    cached: CachedMetadata,
    context: ExecutionContext,
    request: CachedRequest,
    response: PlatformResponse,
    next: CallHandler,
  ): Promise<unknown> {
    const key = cached.key === undefined ? defaultKey(context, request) : cached.key(request);
    if (key === undefined) return lastValueFrom(next.handle(), { defaultValue: undefined });
    const cache = this.#cache(cached.cache);
    let isMiss = false;
    let result: unknown;
    try {
      result = await cache.optionallyGetOrInsert(key, async () => {
        isMiss = true;
        const value: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
        if (value === undefined) return undefined;
        const tags = resolveTags(cached.tags, { request, result: value });
        return new CacheEntry(value, { ttl: cached.ttl, tags });
      });
    } catch (error) {
      // The handler's own error (an HttpException, say) reaches Nest's exception filters as it was
      // thrown, not wrapped in the cache's LOADER error.
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrown exactly as the handler threw it
      if (isCacheError(error) && error.code === "LOADER" && error.cause !== undefined) throw error.cause;
      throw error;
    }
    if (cached.statusHeader !== false) setHeader(response, cached.statusHeader, isMiss ? "MISS" : "HIT");
    return result;
  }

  #cache(name: string = DEFAULT_CACHE_NAME): AnyCache {
    let cache = this.#caches.get(name);
    if (cache === undefined) {
      try {
        cache = this.#moduleRef.get<AnyCache>(getCacheToken(name), { strict: false });
      } catch (error) {
        throw new CacheError(
          "INVALID_OPTION",
          `@cachet/nestjs: no cache named "${name}" is registered; add CachetModule.forRoot({ name: "${name}", cache })`,
          { cause: error },
        );
      }
      this.#caches.set(name, cache);
    }
    return cache;
  }
}
