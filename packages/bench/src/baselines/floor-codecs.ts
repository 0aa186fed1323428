import { Packr } from "msgpackr";
import type { FloorCodec } from "./hand-rolled-tiered.js";

/** JSON text, as `jsonCodec` stores it (without its refusal checks, which only run on encode). */
export const jsonFloor: FloorCodec<never> = {
  encode: (value) => JSON.stringify(value),
  decode: (bytes) => JSON.parse(bytes.toString("utf8")) as never,
};

// The same msgpackr options as `structuredCodec` (@cachet/tier), so the floor decodes the same way.
const packr = new Packr({ structuredClone: true, moreTypes: true, mapsAsObjects: false, copyBuffers: true });

/** msgpackr with `structuredCodec`'s options: the decode cachet's default Redis codec does. */
export const msgpackFloor: FloorCodec<never> = {
  encode: (value) => packr.pack(value),
  decode: (bytes) => packr.unpack(bytes) as never,
};
