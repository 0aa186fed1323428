// ESM because this package is "type": "module"; the shared preset is CommonJS.
import preset from "../../jest.preset.js";

// Inside this package, the kit's self-reference resolves to the sources under test.
export default {
  ...preset,
  moduleNameMapper: { "^@cachet/tier$": "<rootDir>/src/index.ts", ...preset.moduleNameMapper },
};
