import preset from "../../jest.preset.js";

/** @type {import('jest').Config} */
export default {
  ...preset,
  moduleNameMapper: {
    "^@cachet/test-utils$": "<rootDir>/../test-utils/src/index.ts",
    ...preset.moduleNameMapper,
  },
  // ioredis's parser shrinks its buffer pool on a short interval for about a second after the
  // Redis-backed handler closes; that is not a leak, but it trips jest's 1 s "did not exit" notice.
  openHandlesTimeout: 4_000,
};
