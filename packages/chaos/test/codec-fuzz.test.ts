import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { isCacheError, jsonCodec, structuredCodec } from "@cachet/tier";
import type { Codec } from "@cachet/tier";

// Property-based checks of the two built-in codecs: a value either comes back equal or is refused
// with CacheError CODEC at encode time; any byte string either decodes or is refused with CODEC.
// Never another error type, never a crash.

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 300);

type Outcome = { kind: "ok"; value: unknown } | { kind: "codec" } | { kind: "other"; error: unknown };

function attempt(run: () => unknown): Outcome {
  try {
    return { kind: "ok", value: run() };
  } catch (error) {
    return isCacheError(error) && error.code === "CODEC" ? { kind: "codec" } : { kind: "other", error };
  }
}

/**
 * The value as the codecs document they give it back: `-0` becomes `0`, null-prototype objects
 * become plain objects, array holes become `undefined` (structured; JSON refuses holes).
 */
function documentedLosses(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return Array.from(value, (item) => documentedLosses(item));
  if (value instanceof Map)
    return new Map([...value].map(([k, v]) => [documentedLosses(k), documentedLosses(v)]));
  if (value instanceof Set) return new Set([...value].map((v) => documentedLosses(v)));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) return value;
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    Object.defineProperty(plain, key, {
      value: documentedLosses((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return plain;
}

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const codecs: [string, Codec<unknown>, fc.Arbitrary<unknown>][] = [
  ["jsonCodec", jsonCodec, fc.jsonValue()],
  [
    "structuredCodec",
    structuredCodec,
    fc.oneof(
      fc.jsonValue(),
      fc.date({ noInvalidDate: true }),
      fc.bigInt(),
      fc.uint8Array(),
      fc.array(fc.tuple(fc.string(), fc.integer())).map((pairs) => new Map(pairs)),
      fc.array(fc.double()).map((xs) => new Set(xs)),
    ),
  ],
];

/** True when `value` holds an own `__proto__` key anywhere. */
function hasProtoKey(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value !== "object" || value === null || seen.has(value)) return false;
  seen.add(value);
  if (Object.prototype.hasOwnProperty.call(value, "__proto__")) return true;
  const children =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? [...value]
        : Object.values(value);
  return children.some((child) => hasProtoKey(child, seen));
}

describe.each(codecs)("%s", (_name, codec, faithful) => {
  it("round-trips values it accepts, refuses the rest with CODEC (anything)", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
          withBoxedValues: true,
          withSparseArray: true,
        }),
        (value) => {
          const encoded = attempt(() => codec.encode(value));
          if (encoded.kind === "other") throw new Error(`encode threw ${describeError(encoded.error)}`);
          if (encoded.kind === "codec") return;
          const decoded = attempt(() => codec.decode(encoded.value as Uint8Array));
          if (decoded.kind !== "ok") throw new Error(`decode of its own bytes failed (${decoded.kind})`);
          expect(isDeepStrictEqual(decoded.value, documentedLosses(value))).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("round-trips the values it documents as supported", () => {
    fc.assert(
      fc.property(faithful, (value) => {
        // structuredCodec refuses an own `__proto__` key by design (test/regressions/).
        if (codec === structuredCodec && hasProtoKey(value)) return;
        const bytes = codec.encode(value);
        expect(isDeepStrictEqual(codec.decode(bytes), documentedLosses(value))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("regression: documented losses (-0, null prototype, holes) are the only changes", () => {
    const holes: unknown[] = [1];
    holes[2] = 3;
    for (const value of [-0, [-0], Object.create(null) as object, { a: -0 }]) {
      expect(isDeepStrictEqual(codec.decode(codec.encode(value)), documentedLosses(value))).toBe(true);
    }
    if (codec === structuredCodec) {
      expect(codec.decode(codec.encode(holes))).toEqual([1, undefined, 3]);
    } else {
      expect(attempt(() => codec.encode(holes)).kind).toBe("codec");
    }
  });

  it("random bytes decode or are refused with CODEC, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const decoded = attempt(() => codec.decode(bytes));
        if (decoded.kind === "other") throw new Error(`decode threw ${describeError(decoded.error)}`);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("truncated and bit-flipped encodings decode or are refused with CODEC", () => {
    fc.assert(
      fc.property(faithful, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (value, cut, at, flip) => {
        const bytes = codec.encode(value);
        const truncated = bytes.subarray(0, cut % (bytes.length + 1));
        const flipped = Uint8Array.from(bytes);
        if (flipped.length > 0) flipped[at % flipped.length] = flipped[at % flipped.length]! ^ flip;
        for (const candidate of [truncated, flipped]) {
          const decoded = attempt(() => codec.decode(candidate));
          if (decoded.kind === "other") throw new Error(`decode threw ${describeError(decoded.error)}`);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
