import { CacheError } from "./cache-error.js";
import type { Codec } from "./codec.js";

/**
 * A codec that works for any value type: `decode` takes the type the caller expects, so the one
 * singleton can be assigned to a `Codec<V>` of any `V` without a cast.
 *
 * @example
 * const users: Codec<User> = jsonCodec; // decode now returns User
 */
export interface GenericCodec extends Codec<unknown> {
  readonly name: string;
  /** @throws CacheError `CODEC` when `value` cannot be encoded faithfully. */
  encode(value: unknown): Uint8Array;
  /**
   * Decodes bytes into the caller's type. The codec does not check that the decoded value matches
   * `V`; validate at the boundary if the stored data may come from elsewhere.
   * @throws CacheError `CODEC` when `bytes` are not a valid encoding.
   */
  decode<V = unknown>(bytes: Uint8Array): V;
}

/** Thrown inside the replacer; carries where the bad value was so the message can name its path. */
class Refusal extends Error {
  constructor(
    readonly holder: object,
    readonly key: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function describe(value: unknown): string | undefined {
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "bigint":
      return "a BigInt";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "number":
      return Number.isFinite(value) ? undefined : String(value);
    default:
      return undefined;
  }
}

function describeObject(raw: object): string | undefined {
  const proto: unknown = Object.getPrototypeOf(raw);
  if (proto === Object.prototype || proto === null) {
    if (typeof (raw as { toJSON?: unknown }).toJSON === "function") return "an object with toJSON()";
  } else if (!Array.isArray(raw)) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    const name = typeof ctor === "string" && ctor !== "" ? ctor : "class";
    return name === "class" ? "a class instance" : `a ${name}`;
  }
  if (Object.getOwnPropertySymbols(raw).length > 0) return "an object with symbol keys (JSON drops them)";
  return undefined;
}

// The replacer is the single pass: JSON.stringify visits every value once and we check each as it
// goes. `this[key]` is the value before `toJSON` ran, which is how a Date (already a string by the
// time the replacer sees `value`) is still recognised. The path is only worked out on failure.
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (typeof raw === "object" && raw !== null) {
    const reason = describeObject(raw);
    if (reason !== undefined) throw new Refusal(this, key, reason);
    return value;
  }
  const reason = describe(raw);
  if (reason !== undefined) throw new Refusal(this, key, reason);
  return value;
}

function segment(key: string, holder: object): string {
  if (Array.isArray(holder)) return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Depth-first search from the root for `target`; returns its path, e.g. `$.a[0]`. */
function pathOf(root: unknown, target: object): string | undefined {
  const seen = new Set<object>();
  const walk = (node: unknown, path: string): string | undefined => {
    if (node === target) return path;
    if (typeof node !== "object" || node === null || seen.has(node)) return undefined;
    seen.add(node);
    for (const key of Object.keys(node)) {
      const found = walk((node as Record<string, unknown>)[key], path + segment(key, node));
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(root, "$");
}

/** Finds the first property that closes a cycle, e.g. `$.a.parent`. */
function cyclePath(root: unknown): string {
  const ancestors = new Set<object>();
  const walk = (node: unknown, path: string): string | undefined => {
    if (typeof node !== "object" || node === null) return undefined;
    if (ancestors.has(node)) return path;
    ancestors.add(node);
    for (const key of Object.keys(node)) {
      const found = walk((node as Record<string, unknown>)[key], path + segment(key, node));
      if (found !== undefined) return found;
    }
    ancestors.delete(node);
    return undefined;
  };
  return walk(root, "$") ?? "$";
}

function encode(value: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, replacer);
  } catch (error) {
    if (error instanceof Refusal) {
      // The holder is unreachable from the value only for JSON.stringify's own `{ "": value }` wrapper.
      const holderPath = pathOf(value, error.holder);
      const path = holderPath === undefined ? "$" : holderPath + segment(error.key, error.holder);
      throw new CacheError(
        "CODEC",
        `jsonCodec cannot encode ${error.reason} at \`${path}\`: JSON would not give it back unchanged. ` +
          "Use `structuredCodec`, or convert it first.",
      );
    }
    if (error instanceof TypeError && /circular/i.test(error.message)) {
      throw new CacheError(
        "CODEC",
        `jsonCodec cannot encode a cycle at \`${cyclePath(value)}\`: use \`structuredCodec\` for cyclic values`,
        { cause: error },
      );
    }
    throw new CacheError("CODEC", "jsonCodec could not encode the value", { cause: error });
  }
  // Unreachable in practice: every value that stringifies to undefined is refused by the replacer.
  if (text === undefined) throw new CacheError("CODEC", "jsonCodec cannot encode the value at `$`");
  return Buffer.from(text, "utf8");
}

function decode<V = unknown>(bytes: Uint8Array): V {
  try {
    return JSON.parse(utf8Decoder.decode(bytes)) as V;
  } catch (error) {
    throw new CacheError("CODEC", `jsonCodec could not decode ${bytes.byteLength} bytes: not UTF-8 JSON`, {
      cause: error,
    });
  }
}

/**
 * Encodes values as UTF-8 JSON text, readable in `redis-cli` and by any language.
 *
 * It refuses, with a `CacheError` of code `CODEC` naming the path (``$.user.createdAt``), every
 * value that JSON would not give back unchanged: `undefined` (as a value, property or array
 * element), `BigInt`, functions, symbols, symbol-keyed properties, cycles, `NaN` and `±Infinity`,
 * and objects that would silently change type: `Date`, `Map`, `Set`, typed arrays, `Buffer`,
 * class instances and anything with `toJSON()`. This prevents the classic bug where a `Date`
 * comes back from the cache as a string. Use {@link structuredCodec} for those types.
 *
 * The check runs inside `JSON.stringify`'s own traversal (one pass); paths are computed only when
 * a value is refused. `-0` is encoded as `0`, which compares equal.
 *
 * `decode` is untyped: it returns what the caller declares. It throws `CODEC` for bytes that are
 * not valid UTF-8 JSON.
 *
 * @example
 * const codec: Codec<User> = jsonCodec;
 * const bytes = codec.encode({ id: 1, name: "Ada" });
 * codec.decode(bytes); // { id: 1, name: "Ada" }
 * codec.encode({ at: new Date() }); // throws CacheError CODEC: "... a Date instance ... at `$.at` ..."
 */
export const jsonCodec: GenericCodec = Object.freeze({ name: "json", encode, decode });
