import { describe, expect, it } from "@jest/globals";
import { Packr } from "msgpackr";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { seededRandom, thrownCacheError } from "@cachet/test-utils";
import { CacheError, isCacheError, jsonCodec, structuredCodec } from "../src/index.js";
import type { Codec } from "../src/index.js";

function codecError(fn: () => unknown): CacheError {
  const error = thrownCacheError(fn);
  expect(isCacheError(error)).toBe(true);
  expect(error).toBeInstanceOf(CacheError);
  return error as CacheError;
}

/** Every way of corrupting `good` that a store could plausibly produce; decode must throw CODEC or return. */
function expectOnlyCodecErrors(codec: Codec<unknown>, good: Uint8Array, seed: number): number {
  const random = seededRandom(seed);
  let failures = 0;
  const attempt = (bytes: Uint8Array) => {
    try {
      codec.decode(bytes);
    } catch (error) {
      failures++;
      if (!isCacheError(error) || error.code !== "CODEC") throw error;
    }
  };
  for (let n = 0; n < good.byteLength; n++) attempt(good.subarray(0, n));
  for (let i = 0; i < 300; i++) {
    const flipped = Uint8Array.from(good);
    flipped[Math.floor(random() * flipped.length)] = Math.floor(random() * 256);
    attempt(flipped);
  }
  for (let i = 0; i < 1_000; i++) {
    const bytes = new Uint8Array(1 + Math.floor(random() * 64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    attempt(bytes);
  }
  return failures;
}

describe("jsonCodec", () => {
  it("round-trips JSON values", () => {
    const value = { s: "héllo ✓", n: -1.5, i: 42, b: true, z: null, a: [1, "two", { three: 3 }], o: {} };
    const bytes = jsonCodec.encode(value);
    expect(Buffer.from(bytes).toString("utf8")).toBe(JSON.stringify(value));
    expect(jsonCodec.decode(bytes)).toEqual(value);
    expect(jsonCodec.decode(jsonCodec.encode("plain"))).toBe("plain");
    expect(jsonCodec.decode(jsonCodec.encode(null))).toBeNull();
  });

  it("encodes shared (non-cyclic) references by duplicating them", () => {
    const shared = { x: 1 };
    expect(jsonCodec.decode(jsonCodec.encode({ a: shared, b: shared }))).toEqual({
      a: { x: 1 },
      b: { x: 1 },
    });
  });

  it("is assignable to a typed Codec without a cast", () => {
    const codec: Codec<{ id: number }> = jsonCodec;
    expect(codec.decode(codec.encode({ id: 7 })).id).toBe(7);
    expect(jsonCodec.name).toBe("json");
  });

  const cyclic: Record<string, unknown> = { a: { b: 1 } };
  (cyclic.a as Record<string, unknown>).parent = cyclic;
  class User {
    constructor(readonly id: number) {}
  }
  const refusals: [string, unknown, string, RegExp][] = [
    ["undefined at the root", undefined, "$", /undefined/],
    ["an undefined property", { a: { b: undefined } }, "$.a.b", /undefined/],
    ["an undefined array element", { list: [1, undefined] }, "$.list[1]", /undefined/],
    ["an array hole", [1, , 3], "$[1]", /undefined/], // eslint-disable-line no-sparse-arrays
    ["a BigInt", { n: 10n }, "$.n", /BigInt/],
    ["a function", { f: () => 1 }, "$.f", /function/],
    ["a symbol", { s: Symbol("s") }, "$.s", /symbol/],
    ["symbol keys", { inner: { [Symbol("k")]: 1 } }, "$.inner", /symbol keys/],
    ["NaN", { x: NaN }, "$.x", /NaN/],
    ["Infinity", [Infinity], "$[0]", /Infinity/],
    ["-Infinity", { x: -Infinity }, "$.x", /-Infinity/],
    ["a Date", { at: new Date(0) }, "$.at", /Date/],
    ["a Map", { m: new Map() }, "$.m", /Map/],
    ["a Set", { "odd key": new Set() }, '$["odd key"]', /Set/],
    ["a typed array", { u: new Uint8Array(2) }, "$.u", /Uint8Array/],
    ["a Buffer", { b: Buffer.from("x") }, "$.b", /Buffer/],
    ["a class instance", { u: new User(1) }, "$.u", /User/],
    ["an object with toJSON", { t: { toJSON: () => "x" } }, "$.t", /toJSON/],
    ["a cycle", cyclic, "$.a.parent", /cycle/],
  ];
  it.each(refusals)("refuses %s with CODEC naming the path", (_label, value, path, reason) => {
    const error = codecError(() => jsonCodec.encode(value));
    expect(error.code).toBe("CODEC");
    expect(error.message).toContain(`\`${path}\``);
    expect(error.message).toMatch(reason);
  });

  it("suggests structuredCodec for types JSON would change", () => {
    expect(codecError(() => jsonCodec.encode({ at: new Date() })).message).toContain("structuredCodec");
  });

  it("decodes invalid UTF-8 or invalid JSON to a CODEC error", () => {
    expect(codecError(() => jsonCodec.decode(Uint8Array.from([0xff, 0xfe, 0x7b]))).code).toBe("CODEC");
    expect(codecError(() => jsonCodec.decode(Buffer.from("{not json"))).code).toBe("CODEC");
    expect(codecError(() => jsonCodec.decode(new Uint8Array(0))).code).toBe("CODEC");
  });

  it("throws only CODEC errors for truncated, flipped and random bytes", () => {
    const good = jsonCodec.encode({ id: 1, name: "Ada", tags: ["a", "b"], nested: { deep: [1, 2, 3] } });
    // Every strict prefix of a JSON object is invalid JSON.
    expect(expectOnlyCodecErrors(jsonCodec, good, 1)).toBeGreaterThanOrEqual(good.byteLength);
  });
});

describe("structuredCodec", () => {
  it("round-trips the types JSON loses", () => {
    const value = {
      at: new Date(1_700_000_000_000),
      byId: new Map<unknown, unknown>([
        [1, "one"],
        [{ compound: true }, new Set(["x"])],
      ]),
      set: new Set([1, "b", null]),
      big: 12_345_678_901_234_567_890_123n,
      small: -5n,
      u8: Uint8Array.from([1, 2, 3]),
      ab: Uint8Array.from([7, 8]).buffer,
      bytes: Buffer.from("buffer"),
      nan: NaN,
      inf: -Infinity,
      undef: undefined,
      list: [undefined, 1, "two"],
      re: /ab+c/gi,
      plain: { nested: { deep: [1, { x: "y" }] } },
      empty: {},
    };
    const out = structuredCodec.decode<typeof value>(structuredCodec.encode(value));
    expect(out).toEqual(value);
    expect(out.at).toBeInstanceOf(Date);
    expect(out.byId).toBeInstanceOf(Map);
    expect([...out.byId.keys()][1]).toEqual({ compound: true });
    expect(out.set).toBeInstanceOf(Set);
    expect(typeof out.big).toBe("bigint");
    expect(out.big).toBe(value.big);
    expect(Buffer.isBuffer(out.bytes)).toBe(true);
    expect(Buffer.isBuffer(out.u8)).toBe(false);
    expect(out.u8).toBeInstanceOf(Uint8Array);
    expect([...new Uint8Array(out.ab)]).toEqual([7, 8]);
    expect(Object.getPrototypeOf(out.plain)).toBe(Object.prototype);
    expect("undef" in out).toBe(true);
    expect(out.re.flags).toBe("gi");
  });

  it("round-trips every typed array, DataView and ArrayBuffer in a plain Node process", () => {
    // Run outside Jest: its sandbox mixes host-realm and sandbox-realm typed array classes.
    const script = join(__dirname, "fixtures", "typed-arrays-round-trip.ts");
    const child = spawnSync(process.execPath, ["--import", "tsx", script], {
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(child.stderr).toBe("");
    const report = JSON.parse(child.stdout) as Record<string, boolean>;
    expect(Object.keys(report)).toHaveLength(12);
    expect(Object.entries(report).filter(([, same]) => !same)).toEqual([]);
  });

  it("refuses, rather than mangles, a typed array from another realm", () => {
    const sandboxed =
      Object.getPrototypeOf(Float64Array.prototype) !== Object.getPrototypeOf(Uint8Array.prototype);
    const value = { f: Float64Array.from([1.5]) };
    if (sandboxed) {
      const error = codecError(() => structuredCodec.encode(value));
      expect(error.message).toMatch(/Float64Array from another JavaScript realm at `\$\.f`/);
    } else {
      expect(structuredCodec.decode(structuredCodec.encode(value))).toEqual(value);
    }
  });

  it("keeps shared references and cycles", () => {
    const shared = { n: 1 };
    const node: Record<string, unknown> = { shared, again: shared };
    node.self = node;
    const out = structuredCodec.decode<Record<string, unknown>>(structuredCodec.encode(node));
    expect(out.self).toBe(out);
    expect(out.again).toBe(out.shared);
  });

  it("returns encodings that own their bytes, and decoded Buffers that do not alias the input", () => {
    const big = { items: Array.from({ length: 5_000 }, (_, i) => ({ id: i, name: `user ${i}` })) };
    const bytes = structuredCodec.encode(big);
    expect(bytes.buffer.byteLength).toBeLessThan(bytes.byteLength * 1.01 + 8_192);
    const encoded = structuredCodec.encode({ b: Buffer.from([1, 2, 3]) });
    const first = structuredCodec.decode<{ b: Buffer }>(encoded);
    first.b[0] = 99;
    expect([...structuredCodec.decode<{ b: Buffer }>(encoded).b]).toEqual([1, 2, 3]);
  });

  it("round-trips top-level primitives and a bare Buffer", () => {
    for (const value of ["s", 0, -1.5, true, null, undefined, 2n ** 70n]) {
      expect(structuredCodec.decode(structuredCodec.encode(value))).toEqual(value);
    }
    const buffer = structuredCodec.decode(structuredCodec.encode(Buffer.from([9, 8])));
    expect(Buffer.isBuffer(buffer)).toBe(true);
    expect([...(buffer as Buffer)]).toEqual([9, 8]);
  });

  it("encodes independently: earlier results stay valid and a fresh decoder reads them", () => {
    const first = structuredCodec.encode({ a: 1, b: { c: "x" } });
    const second = structuredCodec.encode({ z: [1, 2], y: new Map([["k", 1]]) });
    const fresh = new Packr({
      structuredClone: true,
      moreTypes: true,
      mapsAsObjects: false,
      copyBuffers: true,
    });
    expect(fresh.unpack(first)).toEqual({ a: 1, b: { c: "x" } });
    expect(structuredCodec.decode(first)).toEqual({ a: 1, b: { c: "x" } });
    expect(structuredCodec.decode(second)).toEqual({ z: [1, 2], y: new Map([["k", 1]]) });
  });

  class Point {
    constructor(readonly x: number) {}
  }
  const refusals: [string, unknown, string, RegExp][] = [
    ["a function", { f: () => 1 }, "$.f", /function/],
    ["a symbol", { list: [1, Symbol("s")] }, "$.list[1]", /symbol/],
    ["symbol keys", { o: { [Symbol("k")]: 1 } }, "$.o", /symbol keys/],
    ["a class instance", { p: new Point(1) }, "$.p", /Point/],
    ["a WeakMap", { w: new WeakMap() }, "$.w", /WeakMap/],
    ["a Promise", { p: Promise.resolve(1) }, "$.p", /Promise/],
    ["an Error", { e: new Error("x") }, "$.e", /Error/],
    ["a function inside a Map", { m: new Map([["k", () => 1]]) }, '$.m.get("k")', /function/],
    ["a function inside a Set", { s: new Set([1, () => 1]) }, "$.s.values()[1]", /function/],
  ];
  it.each(refusals)("refuses %s with CODEC naming the path", (_label, value, path, reason) => {
    const error = codecError(() => structuredCodec.encode(value));
    expect(error.code).toBe("CODEC");
    expect(error.message).toContain(`\`${path}\``);
    expect(error.message).toMatch(reason);
  });

  it("throws CODEC for empty, truncated, trailing-garbage and random bytes, never another error", () => {
    expect(codecError(() => structuredCodec.decode(new Uint8Array(0))).code).toBe("CODEC");
    const good = structuredCodec.encode({
      id: 1,
      name: "Ada Lovelace",
      at: new Date(0),
      m: new Map([["a", [1, 2, 3]]]),
      s: new Set(["x", "y"]),
    });
    const withTrailing = Buffer.concat([good, Uint8Array.from([1, 2, 3])]);
    expect(codecError(() => structuredCodec.decode(withTrailing)).code).toBe("CODEC");
    for (let n = 1; n < good.byteLength; n++) {
      expect(codecError(() => structuredCodec.decode(good.subarray(0, n))).code).toBe("CODEC");
    }
    expect(expectOnlyCodecErrors(structuredCodec, good, 2)).toBeGreaterThan(good.byteLength);
  });
});
