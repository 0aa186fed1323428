const preset = require("../../jest.preset.js");
// Inside this package, the kit's self-reference resolves to the sources under test.
module.exports = {
  ...preset,
  moduleNameMapper: { "^@cachet/tier$": "<rootDir>/src/index.ts", ...preset.moduleNameMapper },
};
