import { Packr } from "msgpackr";
import { CacheError } from "./cache-error.js";
import type { GenericCodec } from "./json-codec.js";

/** What the pre-encode check found; `segments` is the path from the value up to the root. */
class Refusal {
  readonly segments: string[] = [];
  constructor(
    readonly reason: string,
    readonly hint = "",
  ) {}
}

const TYPED_ARRAY_PROTOTYPES: ReadonlySet<unknown> = new Set(
  [
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
    DataView,
    Buffer,
  ].map((ctor): unknown => ctor.prototype),
);

// msgpackr recognises typed arrays with `instanceof` this base class. Under Jest, `Uint8Array` (and
// so this base) comes from the host realm while `Float64Array` & co. come from the test sandbox, so
// such arrays would be packed as plain objects; they are refused instead (see `check`).
const TypedArrayBase = (Object.getPrototypeOf(Uint8Array.prototype) as { constructor: unknown }).constructor;

function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Checks one child; on refusal records the child's path segment. Primitives return at once. */
function checkChild(value: unknown, seen: Set<object>, segment: () => string): Refusal | undefined {
  const type = typeof value;
  if (type !== "object" && type !== "function" && type !== "symbol") return undefined;
  const refusal = check(value, seen);
  if (refusal !== undefined) refusal.segments.push(segment());
  return refusal;
}

// msgpackr silently turns functions into `undefined` and class instances into plain objects, so
// every value is checked before it is packed. The check is one walk that visits each object once
// (cycles and shared references are fine: the format keeps identity). It returns rather than
// throws, and builds the path only on refusal, so a clean value costs one `typeof` per primitive.
function check(value: unknown, seen: Set<object>): Refusal | undefined {
  switch (typeof value) {
    case "function":
      return new Refusal("a function");
    case "symbol":
      return new Refusal("a symbol");
    case "object":
      break;
    default:
      return undefined;
  }
  if (value === null || seen.has(value)) return undefined;
  seen.add(value);
  const proto: unknown = Object.getPrototypeOf(value);
  let refusal: Refusal | undefined;
  if (proto === Object.prototype || proto === null) {
    if (Object.getOwnPropertySymbols(value).length > 0) {
      return new Refusal("an object with symbol keys", ": they would be dropped");
    }
    if (Object.hasOwn(value, "__proto__")) {
      // msgpackr renames it on decode (a guard against prototype pollution): refuse, never change it.
      return new Refusal("an object with an own `__proto__` key", ": it would not come back unchanged");
    }
    const record = value as Record<string, unknown>;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      refusal = checkChild(record[key], seen, () => keySegment(key));
      if (refusal !== undefined) return refusal;
    }
  } else if (proto === Array.prototype) {
    const array = value as unknown[];
    for (let i = 0; i < array.length; i++) {
      refusal = checkChild(array[i], seen, () => `[${i}]`);
      if (refusal !== undefined) return refusal;
    }
  } else if (proto === Map.prototype) {
    let i = 0;
    for (const [key, entry] of value as Map<unknown, unknown>) {
      const index = i++;
      refusal =
        checkChild(key, seen, () => `.keys()[${index}]`) ??
        checkChild(entry, seen, () =>
          typeof key === "string" ? `.get(${JSON.stringify(key)})` : `.values()[${index}]`,
        );
      if (refusal !== undefined) return refusal;
    }
  } else if (proto === Set.prototype) {
    let i = 0;
    for (const item of value as Set<unknown>) {
      const index = i++;
      refusal = checkChild(item, seen, () => `.values()[${index}]`);
      if (refusal !== undefined) return refusal;
    }
  } else if (TYPED_ARRAY_PROTOTYPES.has(proto)) {
    if (proto !== DataView.prototype && !(value instanceof (TypedArrayBase as typeof Uint8Array))) {
      const name = (proto as { constructor: { name: string } }).constructor.name;
      return new Refusal(
        `a ${name} from another JavaScript realm`,
        " (a Jest sandbox or vm context): msgpackr cannot recognise it there",
      );
    }
  } else if (proto !== Date.prototype && proto !== RegExp.prototype && proto !== ArrayBuffer.prototype) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    const name = typeof ctor === "string" && ctor !== "" ? `a ${ctor}` : "a class instance";
    return new Refusal(name, ": it would come back as a plain object");
  }
  return undefined;
}

// `mapsAsObjects: false` keeps Maps as Maps: plain objects travel as msgpackr records, which
// decode to objects. Without `structures`, record definitions are written inline in every message,
// so each encoding is self-contained and any process can decode it. `copyBuffers` makes decoded
// Buffers own their bytes: otherwise they are views of the input, and a caller mutating one would
// corrupt a tier that keeps the encoded bytes (a memory tier storing copies).
const packr = new Packr({ structuredClone: true, moreTypes: true, mapsAsObjects: false, copyBuffers: true });

function encode(value: unknown): Uint8Array {
  let refusal: Refusal | undefined;
  try {
    refusal = check(value, new Set());
  } catch (error) {
    throw new CacheError("CODEC", "structuredCodec could not check the value (too deeply nested?)", {
      cause: error,
    });
  }
  if (refusal !== undefined) {
    const path = "$" + refusal.segments.reverse().join("");
    throw new CacheError(
      "CODEC",
      `structuredCodec cannot encode ${refusal.reason} at \`${path}\`${refusal.hint}`,
    );
  }
  let packed: Uint8Array;
  try {
    packed = packr.pack(value);
  } catch (error) {
    throw new CacheError("CODEC", "structuredCodec could not encode the value", { cause: error });
  }
  // msgpackr returns a view of its working buffer, which can be several times larger than the
  // encoding (a 650 KB value pinned a 2.1 MB buffer). Copy so a stored encoding costs its own size.
  return packed.byteLength === packed.buffer.byteLength ? packed : Buffer.from(packed);
}

function decode<V = unknown>(bytes: Uint8Array): V {
  if (bytes.byteLength === 0) {
    throw new CacheError("CODEC", "structuredCodec cannot decode an empty byte array");
  }
  try {
    return packr.unpack(bytes) as V;
  } catch (error) {
    throw new CacheError("CODEC", `structuredCodec could not decode ${bytes.byteLength} bytes`, {
      cause: error,
    });
  }
}

/**
 * Encodes values as MessagePack with msgpackr's structured-clone extensions, so that types JSON
 * loses come back as they went in: `Date`, `Map` (any key type), `Set`, `RegExp`, `BigInt`,
 * `ArrayBuffer`, typed arrays, `DataView`, `Buffer` (a `Buffer` in, a `Buffer` out; a
 * `Uint8Array` in, a `Uint8Array` out), `undefined`, `NaN`, `±Infinity`, shared references and
 * cycles.
 *
 * It refuses, with a `CacheError` of code `CODEC` naming the path, what it cannot give back
 * unchanged: functions, symbols, symbol-keyed properties, and instances of other classes (a
 * `class User` would come back as a plain object; `WeakMap`, `Promise`, `Error`, boxed primitives
 * likewise). Nothing is encoded when a value is refused. Known losses, by design of the format:
 * `-0` comes back as `0`, null-prototype objects come back as plain objects, and array holes
 * come back as `undefined`.
 *
 * `decode` throws `CODEC` (never another error type) for empty, truncated or corrupt bytes that
 * the decoder detects. Like any codec without a checksum, random bytes can occasionally decode
 * into some value; tiers that need integrity must check it in their envelope.
 *
 * Why msgpackr and not `v8.serialize`: the bytes live in a shared Redis read by a fleet that may
 * run several Node versions during a rolling upgrade. V8's format is only backward-compatible
 * (a newer Node reads older bytes, but an older V8 rejects a newer format version), and its
 * output may change with any V8 upgrade. MessagePack is a fixed, documented format, identical on
 * every Node version and readable from other languages. Measured on this machine (see the package
 * README), msgpackr was 1.7-2.7x faster than `v8.serialize` on a 1 MiB payload and 1.3-2.2x on a
 * Date/Map/Set-heavy one, comparable on small payloads, and its output was 2.3x smaller (1 MiB
 * payload). The pre-encode check (which `v8.serialize` would need too: it silently drops class
 * prototypes) costs roughly 20-45% of msgpackr's throughput.
 *
 * @example
 * const codec: Codec<Session> = structuredCodec;
 * const bytes = codec.encode({ at: new Date(), seen: new Set(["a"]) });
 * codec.decode(bytes).at instanceof Date; // true
 */
export const structuredCodec: GenericCodec = Object.freeze({ name: "structured", encode, decode });
