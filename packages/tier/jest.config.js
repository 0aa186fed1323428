// ESM because this package is "type": "module"; the shared preset is CommonJS.
import preset from "../../jest.preset.js";

export default {
  ...preset,
  // Type-level tests (`*.types.test.ts`) are checked by `tsc`, not run.
  testPathIgnorePatterns: ["/node_modules/", "\\.types\\.test\\.ts$"],
  // Inside this package, the kit's self-reference resolves to the sources under test.
  moduleNameMapper: { "^@cachet/tier$": "<rootDir>/src/index.ts", ...preset.moduleNameMapper },
};
