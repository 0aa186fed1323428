/**
 * Cache-control fields aimed at one class of cache rather than every cache: `Surrogate-Control`
 * (W3C Edge Architecture), read for a shared cache in place of `Cache-Control`'s freshness.
 *
 * Owns: picking the directives meant for this cache out of a targeted field. Must never: be
 * consulted by a private cache, or apply directives targeted at another device.
 */
import { parseCacheControl, splitList } from "./cache-control.js";
import type { CacheControl } from "./cache-control.js";

/**
 * The `Surrogate-Control` directives meant for this cache: items without a target, or targeted at
 * `;name` when the cache announced itself with `Surrogate-Capability`. `undefined` when none apply.
 */
export function surrogateControl(
  value: string | undefined,
  name: string | undefined,
): CacheControl | undefined {
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
