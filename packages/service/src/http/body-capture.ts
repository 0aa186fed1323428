/**
 * Moving response bodies: streaming an origin body to the client while capturing it for the store
 * (bounded by the policy's size limit), draining a body nobody reads, and the optional gzip of
 * stored bodies.
 *
 * Owns: byte handling. Must never: buffer past the limit it was given (past it, the rest streams
 * unbuffered), or swallow an origin stream error (the client is aborted and the error rethrown).
 */
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { ClientWriter } from "./adapter-contract.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const EMPTY_BODY = new Uint8Array(0);

/**
 * Streams `body` to `client` (when given) and, when `limit` is given, captures it: returns the
 * captured bytes, or `undefined` once it grew past `limit` (the rest still streams, unbuffered).
 */
export async function pipeBody(
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

/** Reads a body to its end and discards it (a 304 or a replaced 5xx), so the connection is reusable. */
export async function drainBody(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (body === null) return;
  for await (const _chunk of body) {
    // discard
  }
}

/** Gzips a body for storage (the `compress` policy). */
export async function compressBody(body: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await gzipAsync(body));
}

/** Reverses {@link compressBody}. */
export async function decompressBody(body: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await gunzipAsync(body));
}
