import { CacheEntry, CacheError } from "@cachet/tier";
import type { Codec } from "@cachet/tier";

/**
 * How {@link KeyvTier} stores a {@link CacheEntry} in a Keyv storage adapter, which keeps strings:
 *
 * ```
 * cachet:1 {"c":cachedAt,"t":ttl,"s":staleFor,"g":[tags],"e":"b"}\n<payload>
 * ```
 *
 * The header is one line of JSON (`JSON.stringify` never emits a raw newline), so the payload after
 * the first `\n` needs no escaping. The payload is the codec's bytes as UTF-8 text when they are
 * valid UTF-8 (the JSON codec always is, so a SQL row stays readable), else base64 (`"e":"b"`).
 * Fields at their default (`ttl` absent, `staleFor` 0, no tags, text payload) are left out.
 *
 * @module
 */

const MAGIC = "cachet:1 ";
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

interface Header {
  c: number;
  t?: number;
  s?: number;
  g?: string[];
  e?: "b";
}

/** Encodes `entry`, whose `cachedAt` and effective `ttl` the tier has already filled in. */
export function encodeEnvelope<V>(entry: CacheEntry<V>, codec: Codec<V>): string {
  const bytes = codec.encode(entry.value);
  const header: Header = { c: entry.cachedAt as number };
  if (entry.ttl !== undefined) header.t = entry.ttl;
  if (entry.staleFor !== 0) header.s = entry.staleFor;
  if (entry.tags.length !== 0) header.g = [...entry.tags];
  let payload: string;
  try {
    payload = utf8.decode(bytes);
  } catch {
    header.e = "b";
    payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  }
  return `${MAGIC}${JSON.stringify(header)}\n${payload}`;
}

/**
 * Decodes what {@link encodeEnvelope} wrote.
 * @throws CacheError `CODEC` for anything else (a value written by Keyv itself, or corrupted).
 */
export function decodeEnvelope<V>(raw: unknown, codec: Codec<V>, tier: string): CacheEntry<V> {
  const text = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : undefined;
  const newline = text?.indexOf("\n") ?? -1;
  if (text === undefined || !text.startsWith(MAGIC) || newline < 0) {
    throw new CacheError("CODEC", `tier \`${tier}\` read a value it did not write (not a cachet envelope)`, {
      tier,
    });
  }
  let header: Header;
  try {
    header = JSON.parse(text.slice(MAGIC.length, newline)) as Header;
  } catch (cause) {
    throw new CacheError("CODEC", `tier \`${tier}\` read a corrupt envelope header`, { tier, cause });
  }
  if (typeof header !== "object" || header === null || typeof header.c !== "number") {
    throw new CacheError("CODEC", `tier \`${tier}\` read an envelope without \`cachedAt\``, { tier });
  }
  const payload = text.slice(newline + 1);
  const bytes = header.e === "b" ? new Uint8Array(Buffer.from(payload, "base64")) : encoder.encode(payload);
  return new CacheEntry(codec.decode(bytes), {
    cachedAt: header.c,
    ttl: header.t,
    staleFor: header.s,
    tags: header.g,
  });
}
