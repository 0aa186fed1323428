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

/** Deep-freezes plain objects and arrays reachable from `value`; returns `value`. */
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
