import preset from "../../jest.preset.js";

/** @type {import('jest').Config} */
export default {
  ...preset,
  moduleNameMapper: {
    "^@cachet/test-utils$": "<rootDir>/../test-utils/src/index.ts",
    ...preset.moduleNameMapper,
  },
};
