import type { CacheBusMessage } from "@cachet/tier";

/**
 * Wire format version. It is part of the channel / stream name (`<channel>:v1`) and the first
 * element of every message, so a future format can run next to this one on the same Redis.
 */
export const BUS_FORMAT_VERSION = 1;

/** A decoded message and the instance that sent it. */
export interface BusEnvelope {
  readonly origin: string;
  readonly message: CacheBusMessage;
}

const TYPE_CODES = {
  set: "s",
  invalidate: "i",
  clear: "c",
  "expire-tags": "x",
  "invalidate-tags": "t",
} as const satisfies Record<CacheBusMessage["type"], string>;

/**
 * Encodes a message as a compact JSON array: `[version, origin, type, cache, keys | tags, at?]`,
 * e.g. `[1,"a1b2","i","users",["42"]]` (29 bytes). Keys and tags only, never values.
 */
export function encodeBusMessage(origin: string, message: CacheBusMessage): string {
  const code = TYPE_CODES[message.type];
  switch (message.type) {
    case "set":
    case "invalidate":
      return JSON.stringify([BUS_FORMAT_VERSION, origin, code, message.cache, message.keys]);
    case "clear":
      return JSON.stringify([BUS_FORMAT_VERSION, origin, code, message.cache]);
    case "expire-tags":
    case "invalidate-tags":
      return JSON.stringify([BUS_FORMAT_VERSION, origin, code, message.cache, message.tags, message.at]);
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Decodes {@link encodeBusMessage}'s output; `undefined` for anything else (another version, garbage). */
export function decodeBusMessage(text: string): BusEnvelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed[0] !== BUS_FORMAT_VERSION) return undefined;
  const [, origin, code, cache, list, at] = parsed as unknown[];
  if (typeof origin !== "string" || typeof cache !== "string") return undefined;
  switch (code) {
    case "s":
    case "i":
      if (!isStringArray(list)) return undefined;
      return { origin, message: { type: code === "s" ? "set" : "invalidate", cache, keys: list } };
    case "c":
      return { origin, message: { type: "clear", cache } };
    case "x":
    case "t":
      if (!isStringArray(list) || typeof at !== "number" || !Number.isFinite(at)) return undefined;
      return {
        origin,
        message: { type: code === "x" ? "expire-tags" : "invalidate-tags", cache, tags: list, at },
      };
    default:
      return undefined;
  }
}
