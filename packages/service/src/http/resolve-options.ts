/**
 * Policy resolution: turns the user's {@link HttpCacheOptions} into the checked, defaulted
 * {@link ResolvedOptions} the engine and the freshness functions read. Every default and every
 * option check of the HTTP cache lives here.
 *
 * Owns: validation (unknown keys, types, ranges) and defaults per mode. Must never: be consulted
 * per request for anything but plain reads of the resolved values, or accept an option it cannot
 * honour (it throws `INVALID_OPTION` naming the option instead).
 */
import { CacheError, systemClock } from "@cachet/tier";
import type { Clock } from "@cachet/tier";
import { checkKnownKeys } from "../validate.js";
import { defaultKeyOf } from "./cache-key.js";
import type {
  HttpCacheOptions,
  HttpCachePolicy,
  HttpRequestInfo,
  RequestDirective,
} from "./http-cache-options.js";
import { ALL_REQUEST_DIRECTIVES } from "./request-directives.js";
import type { HttpCacheStore } from "./stored-response.js";

const OPTION_KEYS = ["cache", "mode", "shared", "keyOf", "policy", "clock", "onError"] as const;
const POLICY_KEYS = [
  "methods",
  "statuses",
  "ttl",
  "negativeTtl",
  "requestDirectives",
  "storeHeaders",
  "minBodySize",
  "maxBodySize",
  "compress",
  "tagHeaders",
  "tagsOf",
  "cacheStatusHeader",
  "heuristicFraction",
  "heuristicMax",
  "keepStale",
  "stripRequestHeaders",
  "surrogateName",
  "targets",
] as const;
// Compile-time proof that the key lists above name every option and nothing else.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const optionKeysComplete: Exact<(typeof OPTION_KEYS)[number], keyof HttpCacheOptions> = true;
const policyKeysComplete: Exact<(typeof POLICY_KEYS)[number], keyof HttpCachePolicy> = true;
void optionKeysComplete;
void policyKeysComplete;

/** A header field name (RFC 9110 §5.1: a token). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Fields the cache needs even when a `storeHeaders` allowlist is set. */
const ALWAYS_STORED = [
  "cache-control",
  "content-type",
  "content-encoding",
  "content-length",
  "etag",
  "last-modified",
  "expires",
  "date",
  "vary",
];

/** Storable statuses in server mode: the ones RFC 9110 §15.1 makes heuristically cacheable, minus 405/414/501. */
const SERVER_STATUSES: readonly number[] = [200, 203, 204, 300, 301, 308, 404, 410];

const DEFAULT_STRIP = [
  "x-forwarded-host",
  "x-forwarded-server",
  "x-forwarded-proto",
  "x-forwarded-scheme",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "forwarded",
  "x-host",
  "x-original-url",
  "x-rewrite-url",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
];

/** The options after checks and defaults; every field is read by the engine or the freshness code. */
export interface ResolvedOptions {
  readonly store: HttpCacheStore;
  readonly isShared: boolean;
  readonly isServerMode: boolean;
  readonly clock: Clock;
  readonly keyOf: (request: HttpRequestInfo) => string | undefined;
  /** `onError`, wrapped so that a throwing callback is ignored. */
  readonly onError: (error: unknown) => void;
  readonly methods: ReadonlySet<string>;
  /** Storable statuses, or `undefined` for "any final status". */
  readonly statuses: ReadonlySet<number> | undefined;
  readonly ttl: HttpCachePolicy["ttl"];
  readonly negativeTtl: number;
  readonly directives: ReadonlySet<RequestDirective>;
  /** The stored-field allowlist (with {@link ALWAYS_STORED}), or `undefined` for all end-to-end fields. */
  readonly storeHeaders: ReadonlySet<string> | undefined;
  readonly minBody: number;
  readonly maxBody: number;
  readonly compress: boolean;
  readonly tagHeaders: ReadonlySet<string>;
  readonly tagsOf: HttpCachePolicy["tagsOf"];
  /** Lowercase name of the cache-status header, or `undefined` for none. */
  readonly statusHeader: string | undefined;
  readonly heuristicFraction: number;
  readonly heuristicMax: number;
  readonly keepStale: number;
  readonly strip: readonly string[];
  readonly surrogateName: string | undefined;
  /** Targeted cache-control field names (RFC 9213), lowercase, most specific first. */
  readonly targets: readonly string[];
}

/** @throws CacheError `INVALID_OPTION` for an unknown or invalid option (the message names it). */
export function resolveOptions(options: HttpCacheOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new CacheError("INVALID_OPTION", "`createHttpCache` needs an options object with `cache`");
  }
  checkKnownKeys(options, OPTION_KEYS, "");
  const store = (options as Partial<HttpCacheOptions>).cache;
  if (
    store === undefined ||
    typeof store.get !== "function" ||
    typeof store.insert !== "function" ||
    typeof store.invalidate !== "function"
  ) {
    throw new CacheError("INVALID_OPTION", "`cache` must have `get`, `insert` and `invalidate` methods");
  }
  const mode = options.mode ?? "server";
  if (mode !== "server" && mode !== "standards") {
    throw new CacheError("INVALID_OPTION", '`mode` must be "standards" or "server"');
  }
  const isServerMode = mode === "server";
  const policy = options.policy ?? {};
  if (typeof policy !== "object" || policy === null) {
    throw new CacheError("INVALID_OPTION", "`policy` must be an object");
  }
  checkKnownKeys(policy, POLICY_KEYS, "policy.");
  const onError = options.onError;

  const methods = new Set((policy.methods ?? ["GET", "HEAD"]).map((m) => m.toUpperCase()));
  for (const m of methods) {
    if (m !== "GET" && m !== "HEAD") {
      throw new CacheError("INVALID_OPTION", "`policy.methods` may only contain GET and HEAD");
    }
  }
  const statuses = policy.statuses ?? (isServerMode ? SERVER_STATUSES : undefined);
  if (statuses !== undefined && statuses.some((s) => !Number.isInteger(s) || s < 200 || s > 599)) {
    throw new CacheError("INVALID_OPTION", "`policy.statuses` must contain status codes between 200 and 599");
  }
  if (typeof policy.ttl === "number" && !(policy.ttl >= 0 && Number.isFinite(policy.ttl))) {
    throw new CacheError(
      "INVALID_OPTION",
      "`policy.ttl` must be a finite number of milliseconds >= 0 or a function",
    );
  }
  const minBody = nonNegative(policy.minBodySize, 0, "policy.minBodySize");
  const maxBody = nonNegative(policy.maxBodySize, 5 * 1024 * 1024, "policy.maxBodySize");
  if (minBody > maxBody) {
    throw new CacheError("INVALID_OPTION", "`policy.minBodySize` must not exceed `policy.maxBodySize`");
  }
  if (policy.surrogateName !== undefined && !/^[A-Za-z0-9._-]+$/.test(policy.surrogateName)) {
    throw new CacheError(
      "INVALID_OPTION",
      "`policy.surrogateName` must be a token of letters, digits, `.`, `_` or `-`",
    );
  }
  const isShared = options.shared ?? true;
  const targets: unknown = policy.targets ?? (isShared ? ["cdn-cache-control"] : []);
  if (!isFieldNameList(targets)) {
    throw new CacheError("INVALID_OPTION", "`policy.targets` must be an array of header field names");
  }
  const statusHeader = policy.cacheStatusHeader ?? "x-cache";
  return {
    store,
    isShared,
    isServerMode,
    clock: options.clock ?? systemClock,
    keyOf: options.keyOf ?? defaultKeyOf,
    // A reporting callback that throws must not turn into an unhandled rejection.
    onError: (error) => {
      try {
        onError?.(error);
      } catch {
        // ignored on purpose
      }
    },
    methods,
    statuses: statuses === undefined ? undefined : new Set(statuses),
    ttl: policy.ttl,
    negativeTtl: nonNegative(policy.negativeTtl, 0, "policy.negativeTtl"),
    directives: new Set(policy.requestDirectives ?? (isServerMode ? [] : ALL_REQUEST_DIRECTIVES)),
    storeHeaders:
      policy.storeHeaders === undefined
        ? undefined
        : new Set([...policy.storeHeaders.map((h) => h.toLowerCase()), ...ALWAYS_STORED]),
    minBody,
    maxBody,
    compress: policy.compress === true,
    tagHeaders: new Set((policy.tagHeaders ?? ["cache-tag", "surrogate-key"]).map((h) => h.toLowerCase())),
    tagsOf: policy.tagsOf,
    statusHeader: statusHeader === false ? undefined : statusHeader.toLowerCase(),
    heuristicFraction: nonNegative(policy.heuristicFraction, 0.1, "policy.heuristicFraction"),
    heuristicMax: nonNegative(policy.heuristicMax, 86_400_000, "policy.heuristicMax"),
    keepStale: nonNegative(policy.keepStale, 300_000, "policy.keepStale"),
    strip: (policy.stripRequestHeaders ?? DEFAULT_STRIP).map((h) => h.toLowerCase()),
    surrogateName: policy.surrogateName,
    targets: targets.map((t) => t.toLowerCase()),
  };
}

function isFieldNameList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((t) => typeof t === "string" && FIELD_NAME.test(t));
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value >= 0 && Number.isFinite(value))) {
    throw new CacheError("INVALID_OPTION", `\`${name}\` must be a finite number >= 0`);
  }
  return value;
}
