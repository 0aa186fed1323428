import { CacheError } from "@cachet/core";
import type {
  CachetCacheConfig,
  CachetModuleAsyncOptions,
  CachetModuleOptions,
} from "./cachet-module-options.js";

function invalid(message: string): CacheError {
  return new CacheError("INVALID_OPTION", `@cachet/nestjs: ${message}`);
}

function checkKeys(value: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalid(`unknown option \`${where}${key}\` (known: ${allowed.join(", ")})`);
    }
  }
}

function checkOptionalBoolean(value: unknown, option: string): void {
  if (value !== undefined && typeof value !== "boolean") throw invalid(`\`${option}\` must be a boolean`);
}

/** @throws CacheError `INVALID_OPTION` when `name` is not a non-empty string. */
export function checkName(name: unknown): string {
  if (name === undefined) return "default";
  if (typeof name !== "string" || name.length === 0) throw invalid("`name` must be a non-empty string");
  return name;
}

const CONFIG_KEYS = ["cache", "closeOnShutdown", "onShutdown", "http"] as const;

/**
 * Checks what a registration provides (from `forRoot`, or returned by a `forRootAsync` factory).
 * `createHttpCache` checks the HTTP options it receives itself.
 * @throws CacheError `INVALID_OPTION` naming the option.
 */
export function checkConfig(config: unknown, extraKeys: readonly string[] = []): CachetCacheConfig {
  if (typeof config !== "object" || config === null) {
    throw invalid("the options (or the value `useFactory` returned) must be an object");
  }
  checkKeys(config, [...CONFIG_KEYS, ...extraKeys], "");
  const c = config as Partial<CachetCacheConfig>;
  const cache = c.cache as unknown;
  if (
    typeof cache !== "object" ||
    cache === null ||
    typeof (cache as { getOrInsert?: unknown }).getOrInsert !== "function" ||
    typeof (cache as { close?: unknown }).close !== "function"
  ) {
    throw invalid("`cache` must be a Cache from @cachet/core (built with Cache.builder())");
  }
  checkOptionalBoolean(c.closeOnShutdown, "closeOnShutdown");
  if (c.onShutdown !== undefined && typeof c.onShutdown !== "function") {
    throw invalid("`onShutdown` must be a function");
  }
  if (c.http !== undefined) {
    if (typeof c.http !== "object" || c.http === null) throw invalid("`http` must be an object");
    if (c.http.routes !== undefined && !Array.isArray(c.http.routes)) {
      throw invalid("`http.routes` must be an array of paths, route infos or controllers");
    }
    if (c.http.exclude !== undefined && !Array.isArray(c.http.exclude)) {
      throw invalid("`http.exclude` must be an array of paths or route infos");
    }
  }
  return c as CachetCacheConfig;
}

/** @throws CacheError `INVALID_OPTION` naming the option. */
export function checkModuleOptions(options: CachetModuleOptions): void {
  checkConfig(options, ["name", "isGlobal"]);
  checkName(options.name);
  checkOptionalBoolean(options.isGlobal, "isGlobal");
}

/** @throws CacheError `INVALID_OPTION` naming the option. */
export function checkAsyncOptions(options: CachetModuleAsyncOptions): void {
  if (typeof options !== "object" || options === null) throw invalid("the options must be an object");
  checkKeys(options, ["name", "isGlobal", "imports", "inject", "useFactory"], "");
  checkName(options.name);
  checkOptionalBoolean(options.isGlobal, "isGlobal");
  if (typeof options.useFactory !== "function") throw invalid("`useFactory` must be a function");
  if (options.inject !== undefined && !Array.isArray(options.inject))
    throw invalid("`inject` must be an array");
  if (options.imports !== undefined && !Array.isArray(options.imports))
    throw invalid("`imports` must be an array");
}
