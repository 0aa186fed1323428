import type { Options } from "tsup";

/** Shared build options: one ESM and one CJS output with declarations for each. */
export const base: Options = {
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: false,
};
