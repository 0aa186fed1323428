// The one jest configuration every package spreads. ts-jest transpiles each file on its own
// (CommonJS, isolatedModules); types are checked by `pnpm typecheck`, not by jest.
// Workspace dependencies resolve to their built `dist/index.cjs` (turbo runs `^build` first).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json" }],
  },
  detectOpenHandles: false,
  testTimeout: 20_000,
};
