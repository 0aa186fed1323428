/**
 * How a cache protects the objects it hands out, which every caller shares.
 *
 * - `"freeze"` (default): values are deep-frozen when they enter the cache, so a caller that mutates
 *   one gets a `TypeError` (in strict mode code) instead of silently corrupting what other callers
 *   see. It costs one walk of the value per insert or load and nothing per hit. Limits: the insides
 *   of `Map`, `Set`, `Date` and typed arrays stay mutable through their methods.
 * - `"clone"`: every hit returns a `structuredClone` of the stored value. Safe for any value, at a
 *   cost on every hit proportional to the value's size.
 * - `"reference"`: values are stored and returned as they are. Fastest; mutations are shared.
 */
export type ValueMode = "freeze" | "clone" | "reference";

/**
 * Deep-freezes plain objects and arrays reachable from `value`; returns `value`. Every own
 * property is followed, symbol-keyed and non-enumerable ones too: this is for values a caller
 * handed in, which may have any shape.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) freezeWalk(value);
  return value;
}

function freezeWalk(value: object): void {
  // Typed arrays and buffers with elements cannot be frozen; DataView and ArrayBuffer hold bytes only.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  Object.freeze(value);
  if (value instanceof Map) {
    for (const [k, v] of value as Map<unknown, unknown>) {
      if (typeof k === "object" && k !== null && !Object.isFrozen(k)) freezeWalk(k);
      if (typeof v === "object" && v !== null && !Object.isFrozen(v)) freezeWalk(v);
    }
    return;
  }
  if (value instanceof Set) {
    for (const v of value as Set<unknown>) {
      if (typeof v === "object" && v !== null && !Object.isFrozen(v)) freezeWalk(v);
    }
    return;
  }
  for (const key of Reflect.ownKeys(value)) {
    const child = (value as Record<PropertyKey, unknown>)[key];
    if (typeof child === "object" && child !== null && !Object.isFrozen(child)) freezeWalk(child);
  }
}

/**
 * {@link deepFreeze} for a value a tier returned: walks array elements by index and objects by
 * `for…in`, so it follows enumerable string-keyed properties only. That is every property a codec
 * can produce (JSON, msgpack, structured clone carry no symbol keys and no non-enumerable
 * properties), and a value that reached a tier by reference through this cache was deep-frozen
 * whole when it was inserted, so it stops at the first `Object.isFrozen`. It exists because the
 * read path freezes every decoded value: `Reflect.ownKeys` allocates an array per object, with a
 * string per array index, and was the largest cachet item in the L2 read's profile (about 750
 * bytes and 40% of decode-plus-freeze instructions per read; `packages/bench/PROFILE.md`).
 */
export function freezeDecoded<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) decodedWalk(value);
  return value;
}

function decodedWalk(value: object): void {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === "object" && child !== null && !Object.isFrozen(child)) decodedWalk(child);
    }
    return;
  }
  if (value instanceof Map || value instanceof Set) {
    freezeWalk(value); // rare in decoded values; the exact walk handles keys and members
    return;
  }
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === "object" && child !== null && !Object.isFrozen(child)) decodedWalk(child);
  }
}
