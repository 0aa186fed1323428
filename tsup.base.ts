import type { Options } from "tsup";

/** Shared build options: one ESM and one CJS output with declarations for each. */
export const base: Options = {
  format: ["esm", "cjs"],
  // `@internal` declarations (the builder's factory, the config types behind it) are not published.
  dts: { compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: false,
};
