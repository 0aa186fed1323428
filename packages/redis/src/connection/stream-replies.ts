/**
 * Stream replies that differ between RESP2 and RESP3 (ioredis 6 and node-redis 6 speak RESP3 by
 * default): `XREAD`/`XREADGROUP` return an array of `[key, entries]` pairs in RESP2 and a map from
 * key to entries in RESP3; `XINFO STREAM` returns a flat `[field, value, ...]` array in RESP2 and a
 * map in RESP3. Clients hand a RESP3 map over as a `Map`, a plain object, or (ioredis 6) a flat
 * `[key, value, key, value, ...]` array. Entries themselves (`[id, [field, value, ...]]`) are the
 * same in all of them.
 */

/** One stream entry as Redis returns it; `fields` is `null` for an entry deleted under XAUTOCLAIM. */
export type RawStreamEntry = [id: string, fields: string[] | null];

/** The entries of a RESP3 map, given as a `Map` or a plain object. */
function pairsOf(reply: unknown): [string, unknown][] {
  if (reply instanceof Map) return [...(reply as Map<unknown, unknown>)].map(([k, v]) => [String(k), v]);
  if (typeof reply === "object" && reply !== null) return Object.entries(reply);
  return [];
}

/** An `XREAD` / `XREADGROUP` reply as `[key, entries]` pairs (empty on a timeout). */
export function streamReadReply(reply: unknown): [key: string, entries: RawStreamEntry[]][] {
  if (Array.isArray(reply)) {
    // RESP2: an array of [key, entries] pairs; a flattened RESP3 map starts with a key instead.
    if (reply.length === 0 || Array.isArray(reply[0])) return reply as [string, RawStreamEntry[]][];
    const pairs: [string, RawStreamEntry[]][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      pairs.push([String(reply[i]), reply[i + 1] as RawStreamEntry[]]);
    return pairs;
  }
  return pairsOf(reply).map(([key, entries]) => [key, (entries ?? []) as RawStreamEntry[]]);
}

/** An `XINFO STREAM` reply as a map from field name to value. */
export function streamInfoReply(reply: unknown): Map<string, unknown> {
  if (Array.isArray(reply)) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
    return fields;
  }
  return new Map(pairsOf(reply));
}
