/**
 * The contract between the HTTP cache engine and its adapters (fetch, node:http, Fastify): the
 * abstract origin and client the engine talks to, and the one method an adapter calls.
 *
 * Owns: these shapes only. Must never: import the engine or an adapter at runtime (adapters import
 * this file, the engine implements it), or carry framework types.
 */
import type { HttpRequestInfo } from "./http-cache-options.js";
import type { HeaderPairs } from "./stored-response.js";

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
  /**
   * Sends a complete response in one go. A frozen `headers` list may be sent again for later
   * requests (the engine reuses one per stored response while its `Age` is unchanged), so an adapter
   * may cache what it derives from a frozen list by identity.
   */
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

/** What an adapter needs from the engine: one call per request (two when the first declines). */
export interface RequestServer {
  /**
   * Answers a request synchronously when the store allows it (a fresh hit on a store that reads
   * without I/O). Returns false, having written nothing, otherwise: the adapter then calls `serve`.
   * A throw means the client writer threw while sending.
   */
  answerSync(request: HttpRequestInfo, client: ClientWriter): boolean;
  /**
   * Answers one request: from the store, from the origin (storing the response), or both
   * (revalidation). Resolves when the client's response is complete; background revalidations may
   * still run. Rejects only when the origin call rejects and no stale response may stand in.
   */
  serve(request: HttpRequestInfo, origin: OriginCall, client: ClientWriter): Promise<void>;
}

/** A writer that discards everything: the client of a background revalidation. */
export const NULL_CLIENT: ClientWriter = Object.freeze({
  send: () => undefined,
  head: () => undefined,
  write: () => undefined,
  end: () => undefined,
  abort: () => undefined,
});
