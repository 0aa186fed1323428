import { ServerResponse } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import type { ClientWriter, OriginResponse, RequestChanges, RequestServer } from "./adapter-contract.js";
import type { HttpRequestInfo } from "./http-cache-options.js";
import type { HeaderPairs } from "./stored-response.js";

/**
 * A node:http / Express / Connect middleware. Call `next()` to continue to the application, or
 * `next(error)` to report an error.
 */
export type NodeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

// The engine writes to the socket through the prototype methods, bypassing the capture.
const proto = ServerResponse.prototype as unknown as {
  writeHead(this: ServerResponse, status: number, headers: OutgoingHttpHeaders | string[]): ServerResponse;
  write(this: ServerResponse, chunk: Uint8Array): boolean;
  end(this: ServerResponse, chunk?: Uint8Array): ServerResponse;
};
const protoWriteHead = proto.writeHead; // eslint-disable-line @typescript-eslint/unbound-method -- called with .call(res)
const protoWrite = proto.write; // eslint-disable-line @typescript-eslint/unbound-method -- called with .call(res)
const protoEnd = proto.end; // eslint-disable-line @typescript-eslint/unbound-method -- called with .call(res)

/** A request as the engine sees it; a class, so that `header` is one shared method, not a closure per request. */
class NodeRequestInfo implements HttpRequestInfo {
  readonly method: string;
  readonly url: string;
  // What the client sent: applyChanges gives the origin a modified copy and leaves this object alone.
  readonly #headers: IncomingHttpHeaders;

  constructor(req: IncomingMessage) {
    const headers = req.headers;
    this.#headers = headers;
    this.method = (req.method ?? "GET").toUpperCase();
    // Express and Connect strip the mount path from req.url; originalUrl keeps the full path.
    const raw = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? "/";
    if (raw.startsWith("http://") || raw.startsWith("https://")) {
      this.url = raw;
    } else {
      const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
      const authority = headers.host ?? (headers[":authority"] as string | undefined);
      const host = authority ?? `${req.socket.localAddress ?? "localhost"}:${req.socket.localPort ?? 80}`;
      this.url = `${scheme}://${host}${raw.startsWith("/") ? raw : `/${raw}`}`;
    }
  }

  header(name: string): string | undefined {
    const value = this.#headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }
}

function applyChanges(req: IncomingMessage, changes: RequestChanges): void {
  if (changes.set.length === 0 && changes.remove.length === 0) return;
  // A copy, so that a hit never pays for one and the engine still sees the client's headers.
  const headers: IncomingHttpHeaders = { ...req.headers };
  for (const name of changes.remove) delete headers[name];
  for (const [name, value] of changes.set) headers[name] = value;
  req.headers = headers;
}

function toPairs(headers: OutgoingHttpHeaders): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (Array.isArray(value)) for (const v of value) pairs.push([lower, String(v)]);
    else pairs.push([lower, String(value)]);
  }
  return pairs;
}

/** Flat `[name, value, name, value, ...]` lists of frozen header lists, which the engine sends again. */
const flatLists = new WeakMap<HeaderPairs, string[]>();

/** The fields as the flat list `writeHead` takes; computed once per frozen list. */
function toFlat(pairs: HeaderPairs): string[] {
  const isReused = Object.isFrozen(pairs);
  let flat = isReused ? flatLists.get(pairs) : undefined;
  if (flat !== undefined) return flat;
  flat = [];
  for (const [name, value] of pairs) flat.push(name, value);
  if (isReused) flatLists.set(pairs, flat);
  return flat;
}

function clearHeaders(res: ServerResponse): void {
  const names = res.getHeaderNames();
  for (let i = 0; i < names.length; i++) res.removeHeader(names[i]!);
}

const HEADER_METHODS = [
  "setHeader",
  "appendHeader",
  "getHeader",
  "hasHeader",
  "removeHeader",
  "getHeaderNames",
  "getHeaders",
] as const;

type Callback = (error?: Error | null) => void;

/**
 * The body the application writes, as an async iterable the engine consumes. `write` reports
 * back-pressure like a stream, and the response emits `drain` when the engine catches up.
 */
class BodyQueue implements AsyncIterable<Uint8Array> {
  readonly #chunks: Uint8Array[] = [];
  #isEnded = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  readonly #onDrain: () => void;

  constructor(onDrain: () => void) {
    this.#onDrain = onDrain;
  }

  push(chunk: Uint8Array): boolean {
    // After an abort, accept and drop: an application that waits for 'drain' must not stall.
    if (this.#isEnded) return true;
    if (chunk.length > 0) this.#chunks.push(chunk);
    this.#notify();
    return this.#chunks.length < 16;
  }

  end(): void {
    this.#isEnded = true;
    this.#notify();
  }

  fail(error: Error): void {
    this.#error = error;
    this.#isEnded = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        if (this.#chunks.length === 0) this.#onDrain();
        yield chunk;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#isEnded) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/**
 * Lets the application run against `res` while capturing what it writes: status and headers at
 * `writeHead` (explicit or implicit), the body through `write` / `end`. Nothing reaches the socket;
 * the engine writes the client's answer itself with the prototype methods.
 */
function capture(
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
): Promise<OriginResponse> {
  return new Promise<OriginResponse>((resolve, reject) => {
    let isHeadCaptured = false;
    let isEnded = false;
    const queue = new BodyQueue(() => res.emit("drain"));
    const target = res as unknown as Record<string, unknown>;
    // The application's headers live here until the engine decides what the client gets: after a
    // stale answer was sent, background revalidation must still be able to call setHeader.
    // Headers set before the capture (Express's X-Powered-By) belong to the application's response,
    // unless the real response was already sent: then they are the stale answer's, not the app's.
    const fields = new Map<string, { name: string; value: number | string | readonly string[] }>();
    if (!res.headersSent) {
      for (const [name, value] of Object.entries(res.getHeaders())) {
        if (value !== undefined) fields.set(name.toLowerCase(), { name, value });
      }
      clearHeaders(res);
    } else {
      res.statusCode = 200; // the stale answer's status must not become the application's default
    }
    target.setHeader = function setHeader(
      name: string,
      value: number | string | readonly string[],
    ): ServerResponse {
      fields.set(name.toLowerCase(), { name, value });
      return res;
    };
    target.appendHeader = function appendHeader(
      name: string,
      value: string | readonly string[],
    ): ServerResponse {
      const previous = fields.get(name.toLowerCase())?.value;
      const list =
        previous === undefined
          ? []
          : Array.isArray(previous)
            ? [...(previous as string[])]
            : [String(previous)];
      fields.set(name.toLowerCase(), { name, value: list.concat(value) });
      return res;
    };
    target.getHeader = (name: string) => fields.get(name.toLowerCase())?.value;
    target.hasHeader = (name: string) => fields.has(name.toLowerCase());
    target.removeHeader = (name: string) => void fields.delete(name.toLowerCase());
    target.getHeaderNames = () => [...fields.keys()];
    target.getHeaders = () => {
      const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
      for (const [key, field] of fields) out[key] = field.value as OutgoingHttpHeaders[string];
      return out;
    };
    const captureHead = (status: number, extra: OutgoingHttpHeaders | undefined): void => {
      if (isHeadCaptured) return;
      isHeadCaptured = true;
      // From here on the engine writes the real head (Node's writeHead merges through setHeader).
      for (const name of HEADER_METHODS) delete target[name];
      const pairs: [string, string][] = [];
      const overridden = new Set(extra === undefined ? [] : Object.keys(extra).map((k) => k.toLowerCase()));
      for (const [key, field] of fields) {
        if (overridden.has(key)) continue;
        const value = field.value;
        if (Array.isArray(value)) for (const v of value) pairs.push([key, String(v)]);
        else pairs.push([key, String(value)]);
      }
      if (extra !== undefined) pairs.push(...toPairs(extra));
      resolve({ status, headers: pairs, body: req.method === "HEAD" ? null : queue });
      if (req.method === "HEAD") queue.end();
    };
    const toChunk = (chunk: unknown, encoding: unknown): Uint8Array | undefined => {
      if (chunk === undefined || chunk === null || typeof chunk === "function") return undefined;
      if (typeof chunk === "string")
        return Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
      return chunk as Uint8Array;
    };
    target.writeHead = function writeHead(status: number, ...args: unknown[]): ServerResponse {
      let headers: OutgoingHttpHeaders | undefined;
      const last = args[args.length - 1];
      if (Array.isArray(last)) {
        headers = {};
        for (let i = 0; i + 1 < last.length; i += 2) headers[String(last[i])] = last[i + 1] as string;
      } else if (typeof last === "object" && last !== null) {
        headers = last as OutgoingHttpHeaders;
      }
      res.statusCode = status;
      captureHead(status, headers);
      return res;
    };
    target.flushHeaders = function flushHeaders(): void {
      captureHead(res.statusCode, undefined);
    };
    target.write = function write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      captureHead(res.statusCode, undefined);
      const data = toChunk(chunk, encoding);
      const ok = data === undefined ? true : queue.push(data);
      const callback = (typeof encoding === "function" ? encoding : cb) as Callback | undefined;
      if (callback !== undefined) process.nextTick(callback);
      return ok;
    };
    target.end = function end(chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
      if (isEnded) return res;
      captureHead(res.statusCode, undefined);
      const data = toChunk(chunk, encoding);
      if (data !== undefined) queue.push(data);
      isEnded = true;
      queue.end();
      const callback = [chunk, encoding, cb].find((f) => typeof f === "function") as Callback | undefined;
      if (callback !== undefined) process.nextTick(callback);
      return res;
    };
    Object.defineProperty(res, "headersSent", { configurable: true, get: () => isHeadCaptured });
    Object.defineProperty(res, "writableEnded", { configurable: true, get: () => isEnded });
    // A client that goes away mid-response aborts the capture; a background revalidation (run after
    // the client's answer finished) must not be aborted by that answer's own 'close'.
    res.once("close", () => {
      if (!isEnded && !res.writableFinished) queue.fail(new Error("client closed the connection"));
    });
    try {
      next();
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

function restore(res: ServerResponse): void {
  const target = res as unknown as Record<string, unknown>;
  for (const name of [
    "setHeader",
    "appendHeader",
    "getHeader",
    "hasHeader",
    "removeHeader",
    "getHeaderNames",
    "getHeaders",
  ]) {
    delete target[name];
  }
  delete target.writeHead;
  delete target.flushHeaders;
  delete target.write;
  delete target.end;
  delete target.headersSent;
  delete target.writableEnded;
}

/** Writes the engine's answer to the real socket through the `ServerResponse` prototype methods. */
class NodeWriter implements ClientWriter {
  isStarted = false;
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  send(status: number, headers: HeaderPairs, body: Uint8Array | null): void {
    this.head(status, headers);
    const res = this.#res;
    if (body === null) protoEnd.call(res);
    else protoEnd.call(res, body);
  }

  head(status: number, headers: HeaderPairs): void {
    this.isStarted = true;
    const res = this.#res;
    if (res.destroyed) return;
    // Fields set before the middleware ran (Express's X-Powered-By) are not part of a cached answer.
    clearHeaders(res);
    // A flat list: node:http writes it as it is, in order, repeated names on lines of their own.
    protoWriteHead.call(res, status, toFlat(headers));
  }

  write(chunk: Uint8Array): void | Promise<void> {
    const res = this.#res;
    if (res.destroyed) return;
    if (protoWrite.call(res, chunk)) return;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  }

  end(): void {
    if (!this.#res.destroyed) protoEnd.call(this.#res);
  }

  abort(error: unknown): void {
    this.#res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Builds the node:http / Express / Connect face of an engine. */
export function createNodeMiddleware(engine: RequestServer): NodeMiddleware {
  return (req, res, next) => {
    const request = new NodeRequestInfo(req);
    const writer = new NodeWriter(res);
    try {
      // A fresh hit from an in-process store: answered here, with no promise.
      if (engine.answerSync(request, writer)) return;
    } catch (error) {
      next(error);
      return;
    }
    let isOriginCalled = false;
    const origin = (changes: RequestChanges): Promise<OriginResponse> => {
      isOriginCalled = true;
      applyChanges(req, changes);
      return capture(req, res, next);
    };
    engine.serve(request, origin, writer).catch((error: unknown) => {
      restore(res);
      if (!isOriginCalled) {
        next(error);
      } else if (!writer.isStarted) {
        writer.send(502, [["content-type", "text/plain"]], Buffer.from("Bad Gateway"));
      } else {
        writer.abort(error);
      }
    });
  };
}
