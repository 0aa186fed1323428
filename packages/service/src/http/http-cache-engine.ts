import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { CacheEntry, CacheError, systemClock } from "@cachet/tier";
import type { Clock } from "@cachet/tier";
import { deltaSeconds, parseCacheControl, parseDelta, parseHttpDate, splitList } from "./cache-control.js";
import type { CacheControl } from "./cache-control.js";
import type {
  HttpCacheOptions,
  HttpCachePolicy,
  HttpRequestInfo,
  HttpResponseInfo,
  RequestDirective,
} from "./http-cache-options.js";
import type {
  HeaderPairs,
  HttpCacheStore,
  HttpCacheValue,
  StoredResponse,
  StoredVariants,
} from "./stored-response.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** What the cache did for one request, as reported in the `x-cache` header. */
export type CacheStatus = "HIT" | "MISS" | "STALE" | "REVALIDATED" | "BYPASS";

/** A response from the origin: head plus a body stream (null when there is none). */
export interface OriginResponse {
  readonly status: number;
  readonly headers: HeaderPairs;
  readonly body: AsyncIterable<Uint8Array> | null;
}

/** Changes the cache makes to a request before it reaches the origin. */
export interface RequestChanges {
  /** Fields to set (replacing any value the client sent). */
  readonly set: readonly (readonly [string, string])[];
  /** Fields to remove. */
  readonly remove: readonly string[];
}

/** Sends a request to the origin. Each adapter implements it once per request. */
export type OriginCall = (changes: RequestChanges) => Promise<OriginResponse>;

/** Where the cache writes the answer for the client. Adapters implement it. */
export interface ClientWriter {
  /** Sends a complete response in one go. */
  send(status: number, headers: HeaderPairs, body: Uint8Array | null): void;
  /** Starts a streamed response. */
  head(status: number, headers: HeaderPairs): void;
  /** Writes a body chunk; a returned promise means "wait before writing more". */
  write(chunk: Uint8Array): void | Promise<void>;
  /** Ends a streamed response. */
  end(): void;
  /** Aborts a streamed response after its head was sent (the origin stream failed). */
  abort(error: unknown): void;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-authentication-info",
]);

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

/** Fields a 304 must not overwrite in the stored response. */
const NOT_UPDATED_BY_304 = new Set([
  "content-length",
  "content-encoding",
  "content-md5",
  "content-range",
  "etag",
]);

/** Statuses whose caching requirements this cache implements (for `must-understand`, RFC 9111 §5.2.2.3). */
const UNDERSTOOD_STATUSES = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504,
]);

/** Statuses that allow heuristic freshness (RFC 9110 §15.1). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

const SERVER_STATUSES: readonly number[] = [200, 203, 204, 300, 301, 308, 404, 410];

const ALL_REQUEST_DIRECTIVES: readonly RequestDirective[] = [
  "no-cache",
  "no-store",
  "max-age",
  "max-stale",
  "min-fresh",
  "only-if-cached",
  "stale-if-error",
];

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

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const COMMA_SPACES = /\s*,\s*/g;
const TAG_SEPARATORS = /[\s,]+/;
const Q_VALUE = /q\s*=\s*([0-9.]+)/i;
const DIGITS = /^\d{1,15}$/;
const ABSENT = "\u0001";
const MAX_AGE = 2_147_483_648_000;
const EMPTY_BODY = new Uint8Array(0);

interface RequestRules {
  readonly noCache: boolean;
  readonly noStore: boolean;
  readonly maxAge: number | undefined;
  readonly maxStale: number | undefined;
  readonly minFresh: number | undefined;
  readonly onlyIfCached: boolean;
  readonly staleIfError: number | undefined;
}

const NO_RULES: RequestRules = {
  noCache: false,
  noStore: false,
  maxAge: undefined,
  maxStale: undefined,
  minFresh: undefined,
  onlyIfCached: false,
  staleIfError: undefined,
};

interface Found {
  readonly stored: StoredResponse;
  readonly storeKey: string;
  readonly index: StoredVariants | undefined;
  readonly primaryTtlLeft: number | undefined;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function headerValue(headers: HeaderPairs, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of headers) {
    if (n === name) out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

function weakEtagMatch(condition: string, etag: string): boolean {
  if (etag.length === 0) return false;
  const bare = etag.startsWith("W/") ? etag.slice(2) : etag;
  for (const item of splitList(condition)) {
    if (item === "*") return true;
    const candidate = item.startsWith("W/") ? item.slice(2) : item;
    if (candidate === bare) return true;
  }
  return false;
}

function normalizeAcceptEncoding(value: string): string {
  const accepted: string[] = [];
  for (const item of splitList(value)) {
    const semi = item.indexOf(";");
    const coding = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (semi !== -1) {
      const q = Q_VALUE.exec(item.slice(semi));
      if (q !== null && Number(q[1]) === 0) continue;
    }
    if (coding.length > 0 && !accepted.includes(coding)) accepted.push(coding);
  }
  return accepted.sort().join(",");
}

function normalizeVaryValue(field: string, value: string | undefined): string {
  if (value === undefined) return ABSENT;
  if (field === "accept-encoding") return normalizeAcceptEncoding(value);
  if (field === "accept-language") return value.trim().replace(COMMA_SPACES, ",").toLowerCase();
  return value.trim().replace(COMMA_SPACES, ",");
}

/**
 * The one HTTP caching engine behind the fetch, node:http and Fastify adapters. It implements RFC 9111
 * on abstract requests ({@link HttpRequestInfo}), origins ({@link OriginCall}) and clients
 * ({@link ClientWriter}); adapters only translate.
 */
export class HttpCacheEngine {
  readonly #store: HttpCacheStore;
  readonly #isShared: boolean;
  readonly #isServerMode: boolean;
  readonly #clock: Clock;
  readonly #keyOf: (request: HttpRequestInfo) => string | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #methods: ReadonlySet<string>;
  readonly #statuses: ReadonlySet<number> | undefined;
  readonly #ttl: HttpCachePolicy["ttl"];
  readonly #negativeTtl: number;
  readonly #directives: ReadonlySet<RequestDirective>;
  readonly #storeHeaders: ReadonlySet<string> | undefined;
  readonly #minBody: number;
  readonly #maxBody: number;
  readonly #compress: boolean;
  readonly #tagHeaders: ReadonlySet<string>;
  readonly #tagsOf: HttpCachePolicy["tagsOf"];
  readonly #statusHeader: string | undefined;
  readonly #heuristicFraction: number;
  readonly #heuristicMax: number;
  readonly #keepStale: number;
  readonly #strip: readonly string[];
  readonly #surrogateName: string | undefined;
  readonly #inflight = new Map<string, Promise<void>>();

  /** @throws CacheError `INVALID_OPTION` for an invalid option (the message names it). */
  constructor(options: HttpCacheOptions) {
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
    const policy = options.policy ?? {};
    this.#store = store;
    this.#isShared = options.shared ?? true;
    this.#isServerMode = mode === "server";
    this.#clock = options.clock ?? systemClock;
    this.#keyOf = options.keyOf ?? defaultKeyOf;
    const onError = options.onError;
    // A reporting callback that throws must not turn into an unhandled rejection.
    this.#onError = (error) => {
      try {
        onError?.(error);
      } catch {
        // ignored on purpose
      }
    };
    this.#methods = new Set((policy.methods ?? ["GET", "HEAD"]).map((m) => m.toUpperCase()));
    for (const m of this.#methods) {
      if (m !== "GET" && m !== "HEAD") {
        throw new CacheError("INVALID_OPTION", "`policy.methods` may only contain GET and HEAD");
      }
    }
    const statuses = policy.statuses ?? (this.#isServerMode ? SERVER_STATUSES : undefined);
    if (statuses !== undefined && statuses.some((s) => !Number.isInteger(s) || s < 200 || s > 599)) {
      throw new CacheError(
        "INVALID_OPTION",
        "`policy.statuses` must contain status codes between 200 and 599",
      );
    }
    this.#statuses = statuses === undefined ? undefined : new Set(statuses);
    if (typeof policy.ttl === "number" && !(policy.ttl >= 0 && Number.isFinite(policy.ttl))) {
      throw new CacheError(
        "INVALID_OPTION",
        "`policy.ttl` must be a finite number of milliseconds >= 0 or a function",
      );
    }
    this.#ttl = policy.ttl;
    this.#negativeTtl = nonNegative(policy.negativeTtl, 0, "policy.negativeTtl");
    this.#directives = new Set(
      policy.requestDirectives ?? (this.#isServerMode ? [] : ALL_REQUEST_DIRECTIVES),
    );
    this.#storeHeaders =
      policy.storeHeaders === undefined
        ? undefined
        : new Set([...policy.storeHeaders.map((h) => h.toLowerCase()), ...ALWAYS_STORED]);
    this.#minBody = nonNegative(policy.minBodySize, 0, "policy.minBodySize");
    this.#maxBody = nonNegative(policy.maxBodySize, 5 * 1024 * 1024, "policy.maxBodySize");
    if (this.#minBody > this.#maxBody) {
      throw new CacheError("INVALID_OPTION", "`policy.minBodySize` must not exceed `policy.maxBodySize`");
    }
    this.#compress = policy.compress === true;
    this.#tagHeaders = new Set(
      (policy.tagHeaders ?? ["cache-tag", "surrogate-key"]).map((h) => h.toLowerCase()),
    );
    this.#tagsOf = policy.tagsOf;
    const statusHeader = policy.cacheStatusHeader ?? "x-cache";
    this.#statusHeader = statusHeader === false ? undefined : statusHeader.toLowerCase();
    this.#heuristicFraction = nonNegative(policy.heuristicFraction, 0.1, "policy.heuristicFraction");
    this.#heuristicMax = nonNegative(policy.heuristicMax, 86_400_000, "policy.heuristicMax");
    this.#keepStale = nonNegative(policy.keepStale, 300_000, "policy.keepStale");
    this.#strip = (policy.stripRequestHeaders ?? DEFAULT_STRIP).map((h) => h.toLowerCase());
    if (policy.surrogateName !== undefined && !/^[A-Za-z0-9._-]+$/.test(policy.surrogateName)) {
      throw new CacheError(
        "INVALID_OPTION",
        "`policy.surrogateName` must be a token of letters, digits, `.`, `_` or `-`",
      );
    }
    this.#surrogateName = policy.surrogateName;
  }

  /** Purges every stored response carrying one of `tags`. */
  async purgeTags(tags: readonly string[]): Promise<void> {
    if (this.#store.invalidateTags === undefined) {
      throw new CacheError(
        "INVALID_OPTION",
        "`cache` has no `invalidateTags` method, so tags cannot be purged; use a @cachet/core Cache",
      );
    }
    await this.#store.invalidateTags(tags);
  }

  /** Removes the stored responses (every variant) for a request. */
  async invalidate(request: HttpRequestInfo): Promise<void> {
    const key = this.#keyOf(request);
    if (key !== undefined) await this.#store.invalidate(key);
  }

  /**
   * Answers one request: from the store, from the origin (storing the response), or both
   * (revalidation). Resolves when the client's response is complete; background revalidations may
   * still run. Rejects only when the origin call rejects and no stale response may stand in.
   */
  async serve(request: HttpRequestInfo, origin: OriginCall, client: ClientWriter): Promise<void> {
    const method = request.method;
    if (!this.#methods.has(method)) {
      return this.#pass(request, origin, client, !SAFE_METHODS.has(method));
    }
    const key = this.#keyOf(request);
    if (key === undefined) return this.#pass(request, origin, client, false);
    const rules = this.#rules(request);
    const hasAuthorization = this.#isShared && request.header("authorization") !== undefined;
    let hasWaited = false;
    for (;;) {
      const found = await this.#lookup(key, request);
      let stale: Found | undefined;
      if (found !== undefined && (!hasAuthorization || found.stored.isAuthorizedReuseAllowed)) {
        const stored = found.stored;
        const now = this.#clock.now();
        const age = currentAge(stored, now);
        const isFresh = stored.freshFor > age;
        const isForced =
          rules.noCache ||
          stored.isNoCache ||
          (rules.maxAge !== undefined && age > rules.maxAge) ||
          (rules.minFresh !== undefined && stored.freshFor - age < rules.minFresh);
        if (isFresh && !isForced) return this.#answer(request, client, stored, age, "HIT");
        const staleBy = age - stored.freshFor;
        if (!isFresh && !isForced && !stored.isMustRevalidate) {
          if (rules.maxStale !== undefined && staleBy <= rules.maxStale) {
            return this.#answer(request, client, stored, age, "STALE");
          }
          if (staleBy < stored.staleWhileRevalidate) {
            await this.#answer(request, client, stored, age, "STALE");
            if (!this.#inflight.has(key)) {
              this.#fetch(request, key, origin, NULL_CLIENT, rules, found).catch(this.#onError);
            }
            return;
          }
        }
        if (rules.onlyIfCached) return this.#gatewayTimeout(client);
        stale = found;
      } else if (rules.onlyIfCached) {
        return this.#gatewayTimeout(client);
      }
      const pending = this.#inflight.get(key);
      if (pending !== undefined && !hasWaited) {
        await pending;
        hasWaited = true;
        continue;
      }
      return this.#fetch(request, key, origin, client, rules, stale);
    }
  }

  #rules(request: HttpRequestInfo): RequestRules {
    if (this.#directives.size === 0) return NO_RULES;
    const cc = parseCacheControl(request.header("cache-control"));
    if (cc.size === 0) return NO_RULES;
    const allowed = this.#directives;
    const maxAge = allowed.has("max-age") ? deltaSeconds(cc, "max-age") : undefined;
    let maxStale: number | undefined;
    if (allowed.has("max-stale") && cc.has("max-stale")) {
      maxStale = cc.get("max-stale") === true ? Infinity : deltaSeconds(cc, "max-stale");
    }
    return {
      noCache: (allowed.has("no-cache") && cc.has("no-cache")) || (allowed.has("no-cache") && maxAge === 0),
      noStore: allowed.has("no-store") && cc.has("no-store"),
      maxAge,
      maxStale,
      minFresh: allowed.has("min-fresh") ? deltaSeconds(cc, "min-fresh") : undefined,
      onlyIfCached: allowed.has("only-if-cached") && cc.has("only-if-cached"),
      staleIfError: allowed.has("stale-if-error") ? deltaSeconds(cc, "stale-if-error") : undefined,
    };
  }

  async #lookup(key: string, request: HttpRequestInfo): Promise<Found | undefined> {
    let entry: CacheEntry<HttpCacheValue> | undefined;
    try {
      entry = await this.#store.get(key);
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
    if (entry === undefined) return undefined;
    const value = entry.value;
    // Computed by hand: a structural store may hand back plain objects without CacheEntry's methods.
    const primaryTtlLeft =
      entry.ttl === undefined || entry.cachedAt === undefined
        ? undefined
        : entry.cachedAt + entry.ttl - this.#clock.now();
    if (value.kind === "response") {
      return value.varyFields.length === 0
        ? { stored: value, storeKey: key, index: undefined, primaryTtlLeft }
        : undefined;
    }
    const values = value.fields.map((f) => normalizeVaryValue(f, request.header(f)));
    const variantKey = variantKeyOf(key, value.generation, values);
    let variant: CacheEntry<HttpCacheValue> | undefined;
    try {
      variant = await this.#store.get(variantKey);
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
    if (variant === undefined || variant.value.kind !== "response") return undefined;
    if (!sameValues(variant.value.varyValues, values)) return undefined;
    return { stored: variant.value, storeKey: variantKey, index: value, primaryTtlLeft };
  }

  async #answer(
    request: HttpRequestInfo,
    client: ClientWriter,
    stored: StoredResponse,
    age: number,
    status: CacheStatus,
  ): Promise<void> {
    const headers: (readonly [string, string])[] = [];
    const notModified = this.#isNotModified(
      request,
      stored.etag,
      stored.lastModified,
      stored.headers,
      stored.responseAt,
    );
    if (notModified) {
      for (const pair of stored.headers) {
        if (NOT_MODIFIED_FIELDS.has(pair[0])) headers.push(pair);
      }
    }
    const range = notModified ? undefined : byteRange(request, stored);
    if (!notModified) {
      for (const pair of stored.headers) if (pair[0] !== "content-length") headers.push(pair);
      if (range !== undefined) {
        headers.push(["content-range", `bytes ${range[0]}-${range[1] - 1}/${stored.bodyLength}`]);
        headers.push(["content-length", String(range[1] - range[0])]);
      } else if (stored.status !== 204) {
        headers.push(["content-length", String(stored.bodyLength)]);
      }
    }
    headers.push(["age", String(Math.floor(Math.max(0, age) / 1000))]);
    if (this.#statusHeader !== undefined) headers.push([this.#statusHeader, status]);
    if (notModified) return client.send(304, headers, null);
    let body: Uint8Array | null = null;
    if (request.method !== "HEAD" && stored.bodyLength > 0) {
      body = stored.isCompressed ? new Uint8Array(await gunzipAsync(stored.body)) : stored.body;
      if (range !== undefined) body = body.subarray(range[0], range[1]);
    }
    client.send(range === undefined ? stored.status : 206, headers, body);
  }

  /** RFC 9111 §4.3.2: answers the client's own conditional request from a stored or fresh response. */
  #isNotModified(
    request: HttpRequestInfo,
    etag: string,
    lastModified: string,
    headers: HeaderPairs,
    responseAt: number,
  ): boolean {
    if (request.method !== "GET" && request.method !== "HEAD") return false;
    const inm = request.header("if-none-match");
    if (inm !== undefined) return weakEtagMatch(inm, etag);
    const ims = parseHttpDate(request.header("if-modified-since"));
    if (ims === undefined) return false;
    const modified =
      parseHttpDate(lastModified.length > 0 ? lastModified : undefined) ??
      parseHttpDate(headerValue(headers, "date")) ??
      responseAt;
    return modified <= ims;
  }

  #gatewayTimeout(client: ClientWriter): void {
    const headers: (readonly [string, string])[] = [["content-type", "text/plain"]];
    if (this.#statusHeader !== undefined) headers.push([this.#statusHeader, "MISS"]);
    client.send(504, headers, new TextEncoder().encode("Gateway Timeout: not in cache"));
  }

  #originChanges(stale: StoredResponse | undefined): RequestChanges {
    const set: [string, string][] = [];
    const remove = [...this.#strip, "if-none-match", "if-modified-since"];
    if (this.#surrogateName !== undefined)
      set.push(["surrogate-capability", `${this.#surrogateName}="Surrogate/1.0"`]);
    if (stale !== undefined) {
      if (stale.etag.length > 0) set.push(["if-none-match", stale.etag]);
      if (stale.lastModified.length > 0) set.push(["if-modified-since", stale.lastModified]);
    }
    return { set, remove };
  }

  /** Forwards a request the cache does not serve; invalidates after a successful unsafe method. */
  async #pass(
    request: HttpRequestInfo,
    origin: OriginCall,
    client: ClientWriter,
    isUnsafe: boolean,
  ): Promise<void> {
    const response = await origin({ set: [], remove: [] });
    if (isUnsafe && response.status >= 200 && response.status < 400) {
      await this.#invalidateAfterUnsafe(request, response.headers);
    }
    const headers = this.#clientHeaders(response.headers, "BYPASS");
    client.head(response.status, headers);
    await pipe(response.body, request.method === "HEAD" ? undefined : client, undefined);
    client.end();
  }

  async #invalidateAfterUnsafe(request: HttpRequestInfo, headers: HeaderPairs): Promise<void> {
    const base = new URL(request.url);
    const targets = new Set<string>([request.url]);
    for (const name of ["location", "content-location"]) {
      const value = headerValue(headers, name);
      if (value === undefined) continue;
      try {
        const target = new URL(value, base);
        if (target.origin === base.origin) targets.add(target.href);
      } catch {
        // an unparsable Location invalidates nothing
      }
    }
    await Promise.all(
      [...targets].map(async (url) => {
        const key = this.#keyOf({ method: "GET", url, header: (name) => request.header(name) });
        if (key === undefined) return;
        try {
          await this.#store.invalidate(key);
        } catch (error) {
          this.#onError(error);
        }
      }),
    );
  }

  #clientHeaders(headers: HeaderPairs, status: CacheStatus): (readonly [string, string])[] {
    const out: (readonly [string, string])[] = [];
    for (const pair of headers) {
      if (this.#tagHeaders.has(pair[0]) || pair[0] === "surrogate-control") continue;
      if (pair[0] === this.#statusHeader) continue;
      out.push(pair);
    }
    if (this.#statusHeader !== undefined) out.push([this.#statusHeader, status]);
    return out;
  }

  /** A miss or a revalidation: one origin request per key at a time, the response stored on the way. */
  async #fetch(
    request: HttpRequestInfo,
    key: string,
    origin: OriginCall,
    client: ClientWriter,
    rules: RequestRules,
    stale: Found | undefined,
  ): Promise<void> {
    const done = deferred();
    this.#inflight.set(key, done.promise);
    try {
      const validated =
        stale !== undefined && (stale.stored.etag.length > 0 || stale.stored.lastModified.length > 0);
      const requestAt = this.#clock.now();
      let response: OriginResponse;
      try {
        response = await origin(this.#originChanges(validated ? stale.stored : undefined));
      } catch (error) {
        if (stale !== undefined && this.#mayServeOnError(stale.stored, rules)) {
          return await this.#answer(
            request,
            client,
            stale.stored,
            currentAge(stale.stored, this.#clock.now()),
            "STALE",
          );
        }
        throw error;
      }
      const responseAt = this.#clock.now();
      if (response.status === 304 && validated) {
        await drain(response.body);
        const refreshed = await this.#freshen(request, key, stale, response.headers, requestAt, responseAt);
        return await this.#answer(
          request,
          client,
          refreshed,
          currentAge(refreshed, this.#clock.now()),
          "REVALIDATED",
        );
      }
      if (response.status >= 500 && stale !== undefined && this.#mayServeOnError(stale.stored, rules)) {
        await drain(response.body);
        return await this.#answer(
          request,
          client,
          stale.stored,
          currentAge(stale.stored, this.#clock.now()),
          "STALE",
        );
      }
      await this.#deliver(request, key, response, client, rules, requestAt, responseAt, stale);
    } finally {
      if (this.#inflight.get(key) === done.promise) this.#inflight.delete(key);
      done.resolve();
    }
  }

  #mayServeOnError(stored: StoredResponse, rules: RequestRules): boolean {
    if (stored.isMustRevalidate) return false;
    const staleBy = currentAge(stored, this.#clock.now()) - stored.freshFor;
    const window = Math.max(stored.staleIfError, rules.staleIfError ?? 0);
    return staleBy <= window && window > 0;
  }

  async #freshen(
    request: HttpRequestInfo,
    key: string,
    found: Found,
    headers304: HeaderPairs,
    requestAt: number,
    responseAt: number,
  ): Promise<StoredResponse> {
    const old = found.stored;
    const updates = new Map<string, string[]>();
    const listed = connectionListed(headers304);
    for (const [name, value] of headers304) {
      if (!this.#isStorableField(name) || NOT_UPDATED_BY_304.has(name) || listed?.has(name) === true)
        continue;
      const list = updates.get(name);
      if (list === undefined) updates.set(name, [value]);
      else list.push(value);
    }
    const merged: (readonly [string, string])[] = [];
    for (const pair of old.headers) if (!updates.has(pair[0])) merged.push(pair);
    for (const [name, values] of updates) for (const value of values) merged.push([name, value]);
    const info: HttpResponseInfo = { status: old.status, headers: merged };
    const meta = this.#analyze(request, info, timingOf(headers304), requestAt, responseAt);
    const refreshed: StoredResponse = {
      ...old,
      headers: merged,
      responseAt,
      initialAge: meta.initialAge,
      freshFor: meta.freshFor,
      etag: headerValue(merged, "etag") ?? "",
      lastModified: headerValue(merged, "last-modified") ?? "",
      isNoCache: meta.isNoCache,
      isMustRevalidate: meta.isMustRevalidate,
      isAuthorizedReuseAllowed: meta.isAuthorizedReuseAllowed,
      staleWhileRevalidate: meta.staleWhileRevalidate,
      staleIfError: meta.staleIfError,
    };
    const ttl = this.#retention(refreshed, meta.initialAge);
    if (ttl > 0 && meta.isStorable) {
      await this.#put(found.storeKey, refreshed, ttl);
      // a freshened variant may outlive its index: extend the index too
      if (found.index !== undefined && (found.primaryTtlLeft === undefined || found.primaryTtlLeft < ttl)) {
        await this.#put(key, found.index, ttl);
      }
    } else {
      await this.#safeInvalidate(found.storeKey);
    }
    return refreshed;
  }

  async #safeInvalidate(key: string): Promise<void> {
    try {
      await this.#store.invalidate(key);
    } catch (error) {
      this.#onError(error);
    }
  }

  #isStorableField(name: string): boolean {
    if (HOP_BY_HOP.has(name) || name === "age" || name === this.#statusHeader) return false;
    if (this.#isShared && (name === "set-cookie" || name === "set-cookie2")) return false;
    if (this.#tagHeaders.has(name) || name === "surrogate-control") return false;
    return this.#storeHeaders === undefined || this.#storeHeaders.has(name);
  }

  /** Freshness, storability and reuse flags of a response (RFC 9111 §3, §4.2). */
  #analyze(
    request: HttpRequestInfo,
    response: HttpResponseInfo,
    timing: { readonly date: string | undefined; readonly age: string | undefined },
    requestAt: number,
    responseAt: number,
  ): ResponseMeta {
    const headers = response.headers;
    const status = response.status;
    const cc = parseCacheControl(headerValue(headers, "cache-control"));
    const shared = this.#isShared;
    // §4.2.3 age calculation
    const dateValue = parseHttpDate(timing.date) ?? responseAt;
    // An Age that is not one non-negative integer (a list, a sign, a fraction, parameters) makes the
    // response stale: being wrong in that direction costs a revalidation, not a stale answer.
    const ageValue = timing.age === undefined ? 0 : (parseDelta(timing.age.trim()) ?? MAX_AGE);
    const apparentAge = Math.max(0, responseAt - dateValue);
    const correctedAge = ageValue + (responseAt - requestAt);
    const initialAge = Math.max(apparentAge, correctedAge);

    let explicit: number | undefined;
    if (shared) explicit = deltaSeconds(cc, "s-maxage");
    explicit ??= deltaSeconds(cc, "max-age");
    if (explicit === undefined && !cc.has("max-age") && !(shared && cc.has("s-maxage"))) {
      const expires = headerValue(headers, "expires");
      if (expires !== undefined) {
        const at = parseHttpDate(expires);
        explicit = at === undefined ? 0 : Math.max(0, at - dateValue);
      }
    } else if (explicit === undefined) {
      explicit = 0; // an invalid max-age is treated as stale
    }
    let freshFor = explicit ?? 0;
    // Surrogate-Control, when present for this cache, takes precedence over Cache-Control.
    const surrogate = shared
      ? surrogateControl(headerValue(headers, "surrogate-control"), this.#surrogateName)
      : undefined;
    const surrogateMaxAge = surrogate === undefined ? undefined : deltaSeconds(surrogate, "max-age");
    if (surrogateMaxAge !== undefined) {
      freshFor = surrogateMaxAge;
      explicit = surrogateMaxAge;
    }
    const heuristicAllowed = HEURISTIC_STATUSES.has(status) || cc.has("public");
    const policyTtl = typeof this.#ttl === "function" ? this.#ttl(request, response) : this.#ttl;
    if (this.#isServerMode && policyTtl !== undefined) {
      freshFor = policyTtl;
      explicit = policyTtl;
    } else if (explicit === undefined && heuristicAllowed) {
      if (policyTtl !== undefined) {
        freshFor = policyTtl;
      } else if ((status === 404 || status === 410) && this.#negativeTtl > 0) {
        freshFor = this.#negativeTtl;
      } else {
        const lastModified = parseHttpDate(headerValue(headers, "last-modified"));
        if (lastModified !== undefined && this.#heuristicFraction > 0) {
          freshFor = Math.min(
            this.#heuristicMax,
            Math.max(0, dateValue - lastModified) * this.#heuristicFraction,
          );
        }
      }
    }
    const isMustRevalidate =
      cc.has("must-revalidate") || (shared && (cc.has("proxy-revalidate") || cc.has("s-maxage")));
    const isNoCache = cc.has("no-cache");
    const isAuthorizedReuseAllowed = cc.has("public") || cc.has("must-revalidate") || cc.has("s-maxage");
    const hasValidator =
      headerValue(headers, "etag") !== undefined || headerValue(headers, "last-modified") !== undefined;

    const mustUnderstand = cc.has("must-understand");
    let isStorable =
      surrogate?.has("no-store") !== true &&
      (surrogateMaxAge !== undefined ||
        ((mustUnderstand ? UNDERSTOOD_STATUSES.has(status) : !cc.has("no-store")) &&
          !(shared && cc.has("private")))) &&
      status !== 206 &&
      status !== 304 &&
      (this.#statuses === undefined ? status >= 200 && status <= 599 : this.#statuses.has(status));
    if (isStorable && shared) {
      if (request.header("authorization") !== undefined && !isAuthorizedReuseAllowed) isStorable = false;
      if (
        headerValue(headers, "set-cookie") !== undefined ||
        headerValue(headers, "set-cookie2") !== undefined
      ) {
        isStorable = false;
      }
    }
    if (isStorable && !(freshFor > 0 || hasValidator)) isStorable = false;
    if (isStorable && (isNoCache || freshFor === 0) && !hasValidator) isStorable = false;
    return {
      isStorable,
      initialAge,
      freshFor,
      isNoCache,
      isMustRevalidate,
      isAuthorizedReuseAllowed,
      hasValidator,
      staleWhileRevalidate: deltaSeconds(cc, "stale-while-revalidate") ?? 0,
      staleIfError: deltaSeconds(cc, "stale-if-error") ?? 0,
      cc,
    };
  }

  #retention(stored: StoredResponse, initialAge: number): number {
    const freshLeft = Math.max(0, stored.freshFor - initialAge);
    const staleKeep = stored.isMustRevalidate
      ? this.#keepStale
      : Math.max(stored.staleWhileRevalidate, stored.staleIfError, this.#keepStale);
    return freshLeft + staleKeep;
  }

  /** Sends an origin response to the client and stores it when allowed. */
  async #deliver(
    request: HttpRequestInfo,
    key: string,
    response: OriginResponse,
    client: ClientWriter,
    rules: RequestRules,
    requestAt: number,
    responseAt: number,
    previous: Found | undefined,
  ): Promise<void> {
    const headers = response.headers;
    let meta: ResponseMeta | undefined;
    let varyFields: string[] = [];
    if (request.method === "GET" && !rules.noStore) {
      meta = this.#analyze(request, response, timingOf(headers), requestAt, responseAt);
      varyFields = splitList(headerValue(headers, "vary")).map((f) => f.toLowerCase());
      if (varyFields.includes("*")) meta = undefined;
      else if (meta.isStorable) {
        if (
          headerValue(headers, "content-encoding") !== undefined &&
          !varyFields.includes("accept-encoding")
        ) {
          varyFields.push("accept-encoding");
        }
        varyFields = [...new Set(varyFields)].sort();
      }
      const length = headerValue(headers, "content-length");
      if (meta !== undefined && length !== undefined) {
        const n = Number(length);
        if (n > this.#maxBody || n < this.#minBody) meta = undefined;
      }
    }
    if (meta !== undefined && !meta.isStorable) meta = undefined;
    if (meta === undefined && previous !== undefined && request.method === "GET") {
      // The origin sent a new response that cannot be stored: the old one must not be reused.
      await this.#safeInvalidate(previous.storeKey);
    }
    const clientHeaders = this.#clientHeaders(headers, "MISS");
    const etag = headerValue(headers, "etag") ?? "";
    const lastModified = headerValue(headers, "last-modified") ?? "";
    const notModified =
      response.status === 200 && this.#isNotModified(request, etag, lastModified, headers, responseAt);
    if (notModified) {
      client.head(
        304,
        clientHeaders.filter((p) => NOT_MODIFIED_FIELDS.has(p[0]) || p[0] === this.#statusHeader),
      );
    } else {
      client.head(response.status, clientHeaders);
    }
    const sendBody = !notModified && request.method !== "HEAD";
    if (meta === undefined) {
      await pipe(response.body, sendBody ? client : undefined, undefined);
      client.end();
      return;
    }
    const captured = await pipe(response.body, sendBody ? client : undefined, this.#maxBody);
    if (captured !== undefined && captured.length >= this.#minBody) {
      await this.#storeResponse(request, key, response, meta, varyFields, captured, responseAt, previous);
    }
    client.end();
  }

  async #storeResponse(
    request: HttpRequestInfo,
    key: string,
    response: OriginResponse,
    meta: ResponseMeta,
    fields: readonly string[],
    body: Uint8Array,
    responseAt: number,
    previous: Found | undefined,
  ): Promise<void> {
    let varyFields = fields;
    const kept: (readonly [string, string])[] = [];
    const listed = connectionListed(response.headers);
    for (const pair of response.headers) {
      if (this.#isStorableField(pair[0]) && listed?.has(pair[0]) !== true) kept.push(pair);
    }
    const tags = new Set<string>();
    for (const [name, value] of response.headers) {
      if (!this.#tagHeaders.has(name)) continue;
      for (const tag of value.split(TAG_SEPARATORS)) if (tag.length > 0) tags.add(tag);
    }
    if (this.#tagsOf !== undefined) for (const tag of this.#tagsOf(request, response)) tags.add(tag);
    const existing =
      previous?.index === undefined
        ? await this.#lookupIndex(key)
        : { index: previous.index, ttlLeft: previous.primaryTtlLeft };
    if (varyFields.length === 0) {
      // A plain response for a resource that has compressed variants: key it on Accept-Encoding
      // too, or it would replace the index and hide the compressed variants.
      if (existing?.index.fields.includes("accept-encoding") === true) varyFields = existing.index.fields;
    }
    let stored: Uint8Array = body;
    let isCompressed = false;
    if (
      this.#compress &&
      body.length > 0 &&
      headerValue(response.headers, "content-encoding") === undefined
    ) {
      stored = new Uint8Array(await gzipAsync(body));
      isCompressed = true;
    }
    const value: StoredResponse = {
      kind: "response",
      status: response.status,
      headers: kept,
      body: stored,
      isCompressed,
      bodyLength: body.length,
      responseAt,
      initialAge: meta.initialAge,
      freshFor: meta.freshFor,
      varyFields,
      varyValues: varyFields.map((f) => normalizeVaryValue(f, request.header(f))),
      tags: [...tags],
      etag: headerValue(response.headers, "etag") ?? "",
      lastModified: headerValue(response.headers, "last-modified") ?? "",
      isNoCache: meta.isNoCache,
      isMustRevalidate: meta.isMustRevalidate,
      isAuthorizedReuseAllowed: meta.isAuthorizedReuseAllowed,
      staleWhileRevalidate: meta.staleWhileRevalidate,
      staleIfError: meta.staleIfError,
    };
    const ttl = this.#retention(value, meta.initialAge);
    if (ttl <= 0) return;
    if (varyFields.length === 0) {
      await this.#put(key, value, ttl);
      return;
    }
    const current = existing ?? (await this.#lookupIndex(key));
    const isReused = current !== undefined && sameValues(current.index.fields, varyFields);
    const index: StoredVariants = isReused
      ? current.index
      : { kind: "variants", fields: varyFields, generation: randomUUID() };
    await this.#put(variantKeyOf(key, index.generation, value.varyValues), value, ttl);
    // The index lives as long as its longest-lived variant.
    if (!isReused || (current.ttlLeft !== undefined && current.ttlLeft < ttl))
      await this.#put(key, index, ttl);
  }

  async #lookupIndex(
    key: string,
  ): Promise<{ index: StoredVariants; ttlLeft: number | undefined } | undefined> {
    try {
      const entry = await this.#store.get(key);
      if (entry?.value.kind !== "variants") return undefined;
      const ttlLeft =
        entry.ttl === undefined || entry.cachedAt === undefined
          ? undefined
          : entry.cachedAt + entry.ttl - this.#clock.now();
      return { index: entry.value, ttlLeft };
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }

  async #put(key: string, value: HttpCacheValue, ttl: number): Promise<void> {
    const tags = value.kind === "response" ? value.tags : undefined;
    try {
      await this.#store.insert(
        key,
        new CacheEntry(value, { ttl: Math.ceil(ttl), cachedAt: this.#clock.now(), tags }),
      );
    } catch (error) {
      this.#onError(error);
    }
  }
}

interface ResponseMeta {
  readonly isStorable: boolean;
  readonly initialAge: number;
  readonly freshFor: number;
  readonly isNoCache: boolean;
  readonly isMustRevalidate: boolean;
  readonly isAuthorizedReuseAllowed: boolean;
  readonly hasValidator: boolean;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
  readonly cc: CacheControl;
}

/** Fields a 304 carries (RFC 9110 §15.4.5) plus the cache's own. */
const NOT_MODIFIED_FIELDS = new Set([
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "vary",
  "last-modified",
]);

const NULL_CLIENT: ClientWriter = {
  send: () => undefined,
  head: () => undefined,
  write: () => undefined,
  end: () => undefined,
  abort: () => undefined,
};

/**
 * The single byte range a GET asks for, as `[start, end)` within a stored complete 200, or
 * `undefined` to send the whole response (multiple ranges, unsatisfiable ranges, a failed
 * `If-Range`, other units: RFC 9110 §14.2 lets a server ignore `Range`).
 */
function byteRange(request: HttpRequestInfo, stored: StoredResponse): [number, number] | undefined {
  if (request.method !== "GET" || stored.status !== 200) return undefined;
  const header = request.header("range");
  if (header === undefined || !header.startsWith("bytes=") || header.includes(",")) return undefined;
  const ifRange = request.header("if-range");
  if (ifRange !== undefined) {
    const isStrongEtag = ifRange.startsWith('"') && stored.etag === ifRange;
    const isSameDate =
      !ifRange.startsWith('"') && !ifRange.startsWith("W/") && ifRange === stored.lastModified;
    if (!isStrongEtag && !isSameDate) return undefined;
  }
  const spec = header.slice(6).trim();
  const dash = spec.indexOf("-");
  if (dash === -1) return undefined;
  const length = stored.bodyLength;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first.length === 0) {
    const suffix = parseIndex(last);
    if (suffix === undefined || suffix === 0 || length === 0) return undefined;
    return [Math.max(0, length - suffix), length];
  }
  const from = parseIndex(first);
  const to = last.length === 0 ? length - 1 : parseIndex(last);
  if (from === undefined || to === undefined || from >= length || to < from) return undefined;
  return [from, Math.min(to, length - 1) + 1];
}

function parseIndex(raw: string): number | undefined {
  return DIGITS.test(raw) ? Number(raw) : undefined;
}

function currentAge(stored: StoredResponse, now: number): number {
  return stored.initialAge + Math.max(0, now - stored.responseAt);
}

function timingOf(source: HeaderPairs): {
  readonly date: string | undefined;
  readonly age: string | undefined;
} {
  return { date: headerValue(source, "date"), age: headerValue(source, "age") };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function variantKeyOf(key: string, generation: string, values: readonly string[]): string {
  return `${key}\n${generation}\n${values.join("\n")}`;
}

/**
 * The `Surrogate-Control` directives meant for this cache (W3C Edge Architecture): items without a
 * target, or targeted at `;name` when the cache announced itself with `Surrogate-Capability`.
 */
function surrogateControl(value: string | undefined, name: string | undefined): CacheControl | undefined {
  if (value === undefined) return undefined;
  let out: CacheControl | undefined;
  for (const item of splitList(value)) {
    const semi = item.indexOf(";");
    if (semi !== -1 && item.slice(semi + 1).trim() !== name) continue;
    const cc = parseCacheControl(semi === -1 ? item : item.slice(0, semi));
    if (out === undefined) out = cc;
    else out = new Map([...cc, ...out]);
  }
  return out;
}

/** Header fields a response's `Connection` header lists; they are hop-by-hop too. */
function connectionListed(headers: HeaderPairs): ReadonlySet<string> | undefined {
  const value = headerValue(headers, "connection");
  if (value === undefined) return undefined;
  return new Set(splitList(value).map((f) => f.toLowerCase()));
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value >= 0 && Number.isFinite(value))) {
    throw new CacheError("INVALID_OPTION", `\`${name}\` must be a finite number >= 0`);
  }
  return value;
}

/**
 * Streams `body` to `client` (when given) and, when `limit` is given, captures it: returns the
 * captured bytes, or `undefined` once it grew past `limit` (the rest still streams, unbuffered).
 */
async function pipe(
  body: AsyncIterable<Uint8Array> | null,
  client: ClientWriter | undefined,
  limit: number | undefined,
): Promise<Uint8Array | undefined> {
  let chunks: Uint8Array[] | undefined = limit === undefined ? undefined : [];
  let size = 0;
  if (body !== null) {
    try {
      for await (const chunk of body) {
        if (chunks !== undefined) {
          size += chunk.length;
          if (size > limit!) chunks = undefined;
          else chunks.push(chunk);
        }
        if (client !== undefined) {
          const wait = client.write(chunk);
          if (wait !== undefined) await wait;
        }
      }
    } catch (error) {
      if (client !== undefined) client.abort(error);
      throw error;
    }
  }
  if (chunks === undefined) return undefined;
  if (chunks.length === 1) return chunks[0];
  if (chunks.length === 0) return EMPTY_BODY;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function drain(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (body === null) return;
  for await (const _chunk of body) {
    // discard
  }
}

/**
 * The default primary key: the absolute URL with the scheme and host in lower case, the default
 * port and the fragment dropped. The path and query are kept byte for byte: normalizing them
 * (`/x/../a` → `/a`, `%2e`) would let a request the origin routes differently share the entry of
 * another path, a classic cache-poisoning and cache-deception vector. The key is method-independent
 * so that `HEAD` is answered from the `GET` response and unsafe methods invalidate it.
 */
export function defaultKeyOf(request: HttpRequestInfo): string {
  const url = request.url;
  const hash = url.indexOf("#");
  const bare = hash === -1 ? url : url.slice(0, hash);
  const schemeEnd = bare.indexOf("://");
  if (schemeEnd === -1) return bare;
  const pathStart = bare.indexOf("/", schemeEnd + 3);
  const scheme = bare.slice(0, schemeEnd).toLowerCase();
  let authority = (
    pathStart === -1 ? bare.slice(schemeEnd + 3) : bare.slice(schemeEnd + 3, pathStart)
  ).toLowerCase();
  if (
    (scheme === "http" && authority.endsWith(":80")) ||
    (scheme === "https" && authority.endsWith(":443"))
  ) {
    authority = authority.slice(0, authority.lastIndexOf(":"));
  }
  return `${scheme}://${authority}${pathStart === -1 ? "/" : bare.slice(pathStart)}`;
}
