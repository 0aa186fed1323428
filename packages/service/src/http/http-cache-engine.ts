/**
 * The HTTP caching engine behind the fetch, node:http and Fastify adapters: the request flow of an
 * RFC 9111 cache on abstract requests ({@link HttpRequestInfo}), origins ({@link OriginCall}) and
 * clients ({@link ClientWriter}). Adapters only translate.
 *
 * Owns: the flow (look up, answer fresh, serve stale, coalesce misses, revalidate, deliver and
 * store, invalidate after unsafe methods) and the header fields sent to clients. It delegates every
 * rule to a named module: options (`resolve-options`), request directives, freshness and response
 * analysis, conditional requests, the cache key, the variant store and body capture.
 * Must never: throw a store failure at a client (it is reported and the request served as a miss),
 * make two origin requests for one key at a time on its own behalf, or serve a stale response a
 * directive forbids.
 */
import { CacheError } from "@cachet/tier";
import { NULL_CLIENT } from "./adapter-contract.js";
import type {
  CacheStatus,
  ClientWriter,
  OriginCall,
  OriginResponse,
  RequestChanges,
  RequestServer,
} from "./adapter-contract.js";
import { compressBody, decompressBody, drainBody, pipeBody } from "./body-capture.js";
import { invalidationTargets, normalizeVaryValue } from "./cache-key.js";
import { splitList } from "./cache-control.js";
import { NOT_MODIFIED_FIELDS, byteRange, isNotModified, mergeNotModified } from "./conditional.js";
import { currentAge } from "./freshness.js";
import type { ResponseTiming } from "./freshness.js";
import { headerValue } from "./header-fields.js";
import type { HttpCacheOptions, HttpRequestInfo, HttpResponseInfo } from "./http-cache-options.js";
import { requestRules } from "./request-directives.js";
import type { RequestRules } from "./request-directives.js";
import { resolveOptions } from "./resolve-options.js";
import type { ResolvedOptions } from "./resolve-options.js";
import { analyzeResponse, retention } from "./response-meta.js";
import type { ResponseMeta } from "./response-meta.js";
import { ServedHeads } from "./served-heads.js";
import { storedFieldFilter, tagsInFields } from "./stored-fields.js";
import type { HeaderPairs, StoredResponse } from "./stored-response.js";
import { VariantStore } from "./variant-store.js";
import type { Found, IndexAt } from "./variant-store.js";

/** The statuses `stale-if-error` covers (RFC 5861 §4); 501 and 505 are not transient. */
const ERROR_STATUSES = new Set([500, 502, 503, 504]);
/** Methods that never invalidate (RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

/** Whether the request's or the response's directives require a validation before reuse. */
function isRevalidationForced(stored: StoredResponse, age: number, rules: RequestRules): boolean {
  return (
    rules.noCache ||
    stored.isNoCache ||
    (rules.maxAge !== undefined && age > rules.maxAge) ||
    (rules.minFresh !== undefined && stored.freshFor - age < rules.minFresh)
  );
}

/**
 * RFC 9111 §3.5: a shared cache reuses a stored response for a request carrying `Authorization`
 * only when the response allowed it (`public`, `s-maxage`, `must-revalidate`). The one place both
 * reads (`serve`, `answerSync`) decide it.
 */
function isReuseAllowed(isSharedWithAuthorization: boolean, stored: StoredResponse): boolean {
  return !isSharedWithAuthorization || stored.isAuthorizedReuseAllowed;
}

/** Whether a stored response at `age` is fresh and may be reused without validation. */
function isReusableFresh(stored: StoredResponse, age: number, rules: RequestRules): boolean {
  return stored.freshFor > age && !isRevalidationForced(stored, age, rules);
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The RFC 9111 request flow; see the module comment. */
export class HttpCacheEngine implements RequestServer {
  readonly #options: ResolvedOptions;
  readonly #variants: VariantStore;
  readonly #heads: ServedHeads;
  /** One promise per key with an origin request in flight; waiters re-read the store when it settles. */
  readonly #inflight = new Map<string, Promise<void>>();
  /**
   * The key `answerSync` computed when it declined, for the `serve` call the adapter makes next with
   * the same request object, so that a user's `keyOf` runs once per request. Cleared when read.
   */
  #declined: { readonly request: HttpRequestInfo; readonly key: string | undefined } | undefined;

  /** @throws CacheError `INVALID_OPTION` for an unknown or invalid option (the message names it). */
  constructor(options: HttpCacheOptions) {
    this.#options = resolveOptions(options);
    this.#variants = new VariantStore(this.#options.store, this.#options.clock, this.#options.onError);
    this.#heads = new ServedHeads(this.#options.statusHeader);
  }

  /** Purges every stored response carrying one of `tags`. */
  async purgeTags(tags: readonly string[]): Promise<void> {
    const store = this.#options.store;
    if (store.invalidateTags === undefined) {
      throw new CacheError(
        "INVALID_OPTION",
        "`cache` has no `invalidateTags` method, so tags cannot be purged; use a @cachet/core Cache",
      );
    }
    await store.invalidateTags(tags);
  }

  /** Removes the stored responses (every variant) for a request. */
  async invalidate(request: HttpRequestInfo): Promise<void> {
    const key = this.#options.keyOf(request);
    if (key !== undefined) await this.#options.store.invalidate(key);
  }

  async serve(request: HttpRequestInfo, origin: OriginCall, client: ClientWriter): Promise<void> {
    const options = this.#options;
    const method = request.method;
    if (!options.methods.has(method)) {
      return this.#pass(request, origin, client, !SAFE_METHODS.has(method));
    }
    const declined = this.#declined;
    this.#declined = undefined;
    const key = declined?.request === request ? declined.key : options.keyOf(request);
    if (key === undefined) return this.#pass(request, origin, client, false);
    const rules = requestRules(request.header("cache-control"), options.directives);
    const hasAuthorization = options.isShared && request.header("authorization") !== undefined;
    let hasWaited = false;
    for (;;) {
      const found = await this.#variants.lookup(key, request);
      let stale: Found | undefined;
      if (found !== undefined && isReuseAllowed(hasAuthorization, found.stored)) {
        const stored = found.stored;
        const age = currentAge(stored, options.clock.now());
        const isFresh = stored.freshFor > age;
        const isForced = isRevalidationForced(stored, age, rules);
        if (isFresh && !isForced) return this.#answer(request, client, stored, age, "HIT");
        const staleBy = age - stored.freshFor;
        if (!isFresh && !isForced && !stored.isMustRevalidate) {
          if (rules.maxStale !== undefined && staleBy <= rules.maxStale) {
            return this.#answer(request, client, stored, age, "STALE");
          }
          if (staleBy < stored.staleWhileRevalidate) {
            await this.#answer(request, client, stored, age, "STALE");
            if (!this.#inflight.has(key)) {
              this.#fetch(request, key, origin, NULL_CLIENT, rules, found).catch(options.onError);
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

  /**
   * Answers from the store without waiting, when the store reads synchronously (`getSync`) and holds
   * a fresh, uncompressed response this request may reuse as it is: the common hit, with no promise
   * and no origin call. Returns false when it did not answer, having written nothing; the adapter then
   * calls {@link HttpCacheEngine.serve}, which decides everything again (and reports a store failure).
   */
  answerSync(request: HttpRequestInfo, client: ClientWriter): boolean {
    const options = this.#options;
    if (!this.#variants.canReadSync || !options.methods.has(request.method)) return false;
    this.#declined = undefined;
    let key: string | undefined;
    let found: Found | undefined;
    let rules: RequestRules;
    try {
      key = options.keyOf(request);
      if (key === undefined) return this.#decline(request, undefined);
      found = this.#variants.lookupSync(key, request);
      rules = requestRules(request.header("cache-control"), options.directives);
    } catch {
      // serve runs keyOf and the store read again, and reports what failed.
      return false;
    }
    if (found === undefined || found.stored.isCompressed) return this.#decline(request, key);
    const stored = found.stored;
    const hasAuthorization = options.isShared && request.header("authorization") !== undefined;
    if (!isReuseAllowed(hasAuthorization, stored)) return this.#decline(request, key);
    const age = currentAge(stored, options.clock.now());
    if (!isReusableFresh(stored, age, rules)) return this.#decline(request, key);
    this.#sendStored(request, client, stored, age, "HIT", stored.body);
    return true;
  }

  #decline(request: HttpRequestInfo, key: string | undefined): false {
    this.#declined = { request, key };
    return false;
  }

  /** Sends a stored response: whole, as a 304 to the client's validators, or as a single range. */
  #answer(
    request: HttpRequestInfo,
    client: ClientWriter,
    stored: StoredResponse,
    age: number,
    status: CacheStatus,
  ): Promise<void> {
    if (
      !stored.isCompressed ||
      request.method === "HEAD" ||
      stored.bodyLength === 0 ||
      isNotModified(request, stored.etag, stored.lastModified, stored.headers, stored.responseAt)
    ) {
      this.#sendStored(request, client, stored, age, status, stored.body);
      return Promise.resolve();
    }
    return decompressBody(stored.body).then((body) =>
      this.#sendStored(request, client, stored, age, status, body),
    );
  }

  /** {@link HttpCacheEngine.#answer} once the body is plain (`body` unused for a 304 or `HEAD`). */
  #sendStored(
    request: HttpRequestInfo,
    client: ClientWriter,
    stored: StoredResponse,
    age: number,
    status: CacheStatus,
    body: Uint8Array,
  ): void {
    const statusHeader = this.#options.statusHeader;
    if (isNotModified(request, stored.etag, stored.lastModified, stored.headers, stored.responseAt)) {
      const headers: (readonly [string, string])[] = [];
      for (const pair of stored.headers) {
        if (NOT_MODIFIED_FIELDS.has(pair[0])) headers.push(pair);
      }
      headers.push(["age", String(Math.floor(Math.max(0, age) / 1000))]);
      if (statusHeader !== undefined) headers.push([statusHeader, status]);
      return client.send(304, headers, null);
    }
    const hasBody = request.method !== "HEAD" && stored.bodyLength > 0;
    const range = byteRange(request, stored);
    if (range === undefined) {
      // The common answer: one prepared list per stored value, reused while the age is unchanged.
      return client.send(stored.status, this.#heads.of(stored, age, status), hasBody ? body : null);
    }
    const headers: (readonly [string, string])[] = [];
    for (const pair of stored.headers) if (pair[0] !== "content-length") headers.push(pair);
    headers.push(["content-range", `bytes ${range[0]}-${range[1] - 1}/${stored.bodyLength}`]);
    headers.push(["content-length", String(range[1] - range[0])]);
    headers.push(["age", String(Math.floor(Math.max(0, age) / 1000))]);
    if (statusHeader !== undefined) headers.push([statusHeader, status]);
    client.send(206, headers, hasBody ? body.subarray(range[0], range[1]) : null);
  }

  #gatewayTimeout(client: ClientWriter): void {
    const headers: (readonly [string, string])[] = [["content-type", "text/plain"]];
    const statusHeader = this.#options.statusHeader;
    if (statusHeader !== undefined) headers.push([statusHeader, "MISS"]);
    client.send(504, headers, new TextEncoder().encode("Gateway Timeout: not in cache"));
  }

  #originChanges(stale: StoredResponse | undefined): RequestChanges {
    const set: [string, string][] = [];
    const remove = [...this.#options.strip, "if-none-match", "if-modified-since"];
    const surrogateName = this.#options.surrogateName;
    if (surrogateName !== undefined) set.push(["surrogate-capability", `${surrogateName}="Surrogate/1.0"`]);
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
    client.head(response.status, this.#clientHeaders(response.headers, "BYPASS"));
    await pipeBody(response.body, request.method === "HEAD" ? undefined : client, undefined);
    client.end();
  }

  /** RFC 9111 §4.4: the target URI and its same-origin `Location` / `Content-Location`. */
  async #invalidateAfterUnsafe(request: HttpRequestInfo, headers: HeaderPairs): Promise<void> {
    const targets = invalidationTargets(request.url, headers);
    await Promise.all(
      targets.map(async (url) => {
        const key = this.#options.keyOf({ method: "GET", url, header: (name) => request.header(name) });
        if (key !== undefined) await this.#variants.remove(key);
      }),
    );
  }

  /** The origin's fields as sent to the client: tag and surrogate fields removed, the status added. */
  #clientHeaders(headers: HeaderPairs, status: CacheStatus): (readonly [string, string])[] {
    const { tagHeaders, statusHeader } = this.#options;
    const out: (readonly [string, string])[] = [];
    for (const pair of headers) {
      if (tagHeaders.has(pair[0]) || pair[0] === "surrogate-control") continue;
      if (pair[0] === statusHeader) continue;
      out.push(pair);
    }
    if (statusHeader !== undefined) out.push([statusHeader, status]);
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
    const clock = this.#options.clock;
    const done = deferred();
    this.#inflight.set(key, done.promise);
    try {
      const validated =
        stale !== undefined && (stale.stored.etag.length > 0 || stale.stored.lastModified.length > 0);
      const requestAt = clock.now();
      let response: OriginResponse;
      try {
        response = await origin(this.#originChanges(validated ? stale.stored : undefined));
      } catch (error) {
        if (stale !== undefined && this.#mayServeOnError(stale.stored, rules)) {
          return await this.#answer(
            request,
            client,
            stale.stored,
            currentAge(stale.stored, clock.now()),
            "STALE",
          );
        }
        throw error;
      }
      const responseAt = clock.now();
      if (response.status === 304 && validated) {
        await drainBody(response.body);
        const refreshed = await this.#freshen(request, key, stale, response.headers, requestAt, responseAt);
        return await this.#answer(
          request,
          client,
          refreshed,
          currentAge(refreshed, clock.now()),
          "REVALIDATED",
        );
      }
      if (
        ERROR_STATUSES.has(response.status) &&
        stale !== undefined &&
        this.#mayServeOnError(stale.stored, rules)
      ) {
        await drainBody(response.body);
        return await this.#answer(
          request,
          client,
          stale.stored,
          currentAge(stale.stored, clock.now()),
          "STALE",
        );
      }
      await this.#deliver(request, key, response, client, rules, { requestAt, responseAt, previous: stale });
    } finally {
      if (this.#inflight.get(key) === done.promise) this.#inflight.delete(key);
      done.resolve();
    }
  }

  /** `stale-if-error` (RFC 5861 §4), from the response or the request, unless revalidation is required. */
  #mayServeOnError(stored: StoredResponse, rules: RequestRules): boolean {
    if (stored.isMustRevalidate) return false;
    const staleBy = currentAge(stored, this.#options.clock.now()) - stored.freshFor;
    const window = Math.max(stored.staleIfError, rules.staleIfError ?? 0);
    return staleBy <= window && window > 0;
  }

  /** Applies a validation's 304 to the stored response (RFC 9111 §4.3.4) and stores the result. */
  async #freshen(
    request: HttpRequestInfo,
    key: string,
    found: Found,
    headers304: HeaderPairs,
    requestAt: number,
    responseAt: number,
  ): Promise<StoredResponse> {
    const old = found.stored;
    const merged = mergeNotModified(old.headers, headers304, storedFieldFilter(headers304, this.#options));
    const meta = this.#analyze(
      request,
      { status: old.status, headers: merged },
      headers304,
      requestAt,
      responseAt,
    );
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
    const ttl = retention(refreshed, meta.initialAge, this.#options.keepStale);
    if (ttl > 0 && meta.isStorable) await this.#variants.refresh(key, found, refreshed, ttl);
    else await this.#variants.remove(found.storeKey);
    return refreshed;
  }

  /** Runs the response analysis with the `ttl` policy evaluated; `timingSource` supplies `Date` and `Age`. */
  #analyze(
    request: HttpRequestInfo,
    response: HttpResponseInfo,
    timingSource: HeaderPairs,
    requestAt: number,
    responseAt: number,
  ): ResponseMeta {
    const ttl = this.#options.ttl;
    const timing: ResponseTiming = {
      date: headerValue(timingSource, "date"),
      age: headerValue(timingSource, "age"),
      requestAt,
      responseAt,
    };
    return analyzeResponse(
      {
        status: response.status,
        headers: response.headers,
        hasAuthorization: request.header("authorization") !== undefined,
        policyTtl: typeof ttl === "function" ? ttl(request, response) : ttl,
        timing,
      },
      this.#options,
    );
  }

  /** Sends an origin response to the client and stores it when allowed. */
  async #deliver(
    request: HttpRequestInfo,
    key: string,
    response: OriginResponse,
    client: ClientWriter,
    rules: RequestRules,
    exchange: {
      readonly requestAt: number;
      readonly responseAt: number;
      readonly previous: Found | undefined;
    },
  ): Promise<void> {
    const { maxBody, minBody, statusHeader } = this.#options;
    const headers = response.headers;
    let meta: ResponseMeta | undefined;
    let varyFields: string[] = [];
    if (request.method === "GET" && !rules.noStore) {
      meta = this.#analyze(request, response, headers, exchange.requestAt, exchange.responseAt);
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
        if (n > maxBody || n < minBody) meta = undefined;
      }
    }
    if (meta !== undefined && !meta.isStorable) meta = undefined;
    if (meta === undefined && exchange.previous !== undefined && request.method === "GET") {
      // The origin sent a new response that cannot be stored: the old one must not be reused.
      await this.#variants.remove(exchange.previous.storeKey);
    }
    const clientHeaders = this.#clientHeaders(headers, "MISS");
    const etag = headerValue(headers, "etag") ?? "";
    const lastModified = headerValue(headers, "last-modified") ?? "";
    const notModified =
      response.status === 200 && isNotModified(request, etag, lastModified, headers, exchange.responseAt);
    if (notModified) {
      client.head(
        304,
        clientHeaders.filter((p) => NOT_MODIFIED_FIELDS.has(p[0]) || p[0] === statusHeader),
      );
    } else {
      client.head(response.status, clientHeaders);
    }
    const sendBody = !notModified && request.method !== "HEAD";
    if (meta === undefined) {
      await pipeBody(response.body, sendBody ? client : undefined, undefined);
      client.end();
      return;
    }
    const captured = await pipeBody(response.body, sendBody ? client : undefined, maxBody);
    if (captured !== undefined && captured.length >= minBody) {
      await this.#storeResponse(request, key, response, meta, varyFields, captured, exchange);
    }
    client.end();
  }

  /** Builds the stored form of a delivered response and saves it. */
  async #storeResponse(
    request: HttpRequestInfo,
    key: string,
    response: OriginResponse,
    meta: ResponseMeta,
    fields: readonly string[],
    body: Uint8Array,
    exchange: { readonly responseAt: number; readonly previous: Found | undefined },
  ): Promise<void> {
    const { compress, tagHeaders, tagsOf, keepStale } = this.#options;
    const previous = exchange.previous;
    let varyFields = fields;
    const isStored = storedFieldFilter(response.headers, this.#options);
    const kept = response.headers.filter((pair) => isStored(pair[0]));
    // RFC 9110 §6.6.1: a recipient that caches a response without Date MUST add one with the time it
    // was received, so a hit carries the response's own Date (and Age counts from it), not the time
    // of the hit that a server stamps on an answer without Date.
    if (headerValue(response.headers, "date") === undefined) {
      kept.push(["date", new Date(exchange.responseAt).toUTCString()]);
    }
    const tags = tagsInFields(response.headers, tagHeaders);
    if (tagsOf !== undefined) for (const tag of tagsOf(request, response)) tags.add(tag);
    const existing: IndexAt | undefined =
      previous?.index === undefined
        ? await this.#variants.lookupIndex(key)
        : { index: previous.index, ttlLeft: previous.primaryTtlLeft };
    if (varyFields.length === 0) {
      // A plain response for a resource that has compressed variants: key it on Accept-Encoding
      // too, or it would replace the index and hide the compressed variants.
      if (existing?.index.fields.includes("accept-encoding") === true) varyFields = existing.index.fields;
    }
    let stored: Uint8Array = body;
    let isCompressed = false;
    if (compress && body.length > 0 && headerValue(response.headers, "content-encoding") === undefined) {
      stored = await compressBody(body);
      isCompressed = true;
    }
    const value: StoredResponse = {
      kind: "response",
      status: response.status,
      headers: kept,
      body: stored,
      isCompressed,
      bodyLength: body.length,
      responseAt: exchange.responseAt,
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
    const ttl = retention(value, meta.initialAge, keepStale);
    if (ttl > 0) await this.#variants.save(key, value, ttl, existing);
  }
}
