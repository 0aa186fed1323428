import { CacheError } from "@cachet/core";
import { SetMetadata } from "@nestjs/common";
import { INVALIDATE_METADATA } from "./metadata.js";
import type { InvalidateMetadata, InvalidateTagsOptions } from "./metadata.js";
import type { TagsOption } from "./route-context.js";

function invalid(message: string): CacheError {
  return new CacheError("INVALID_OPTION", `@cachet/nestjs @InvalidateTags(): ${message}`);
}

/**
 * After the handler succeeds (with `CachetInterceptor` applied), invalidates `tags` in the cache:
 * in every tier and, with a bus, on every instance. The response waits for the invalidation, so a
 * client that reads after a write never gets the old result. A handler that throws invalidates
 * nothing.
 *
 * @example
 * \@Put(":id")
 * \@InvalidateTags(({ request }) => [`product:${String(request.params.id)}`])
 * update(@Param("id") id: string, @Body() body: ProductDto) { ... }
 *
 * @throws CacheError `INVALID_OPTION` naming the option, when the class is defined.
 */
export function InvalidateTags<R = unknown>(
  tags: TagsOption<R>,
  options: InvalidateTagsOptions = {},
): MethodDecorator {
  if (typeof tags !== "function" && !Array.isArray(tags))
    throw invalid("`tags` must be an array of strings or a function");
  if (typeof options !== "object" || options === null) throw invalid("the options must be an object");
  for (const key of Object.keys(options)) {
    if (key !== "cache") throw invalid(`unknown option \`${key}\` (known: cache)`);
  }
  if (options.cache !== undefined && (typeof options.cache !== "string" || options.cache === "")) {
    throw invalid("`cache` must be a non-empty string");
  }
  const metadata: InvalidateMetadata = { cache: options.cache, tags: tags as TagsOption };
  return SetMetadata(INVALIDATE_METADATA, metadata);
}
