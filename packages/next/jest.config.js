import preset from "../../jest.preset.js";

/** @type {import('jest').Config} */
export default {
  ...preset,
  moduleNameMapper: {
    "^@cachet/test-utils$": "<rootDir>/../test-utils/src/index.ts",
    ...preset.moduleNameMapper,
  },
  // After a large reply, ioredis's parser (redis-parser) shrinks its buffer pool on a 50 ms
  // interval for about a second and then stops on its own. That is not a leak, but it trips
  // jest's default 1 s "did not exit" warning after the 1 MiB cases.
  openHandlesTimeout: 4_000,
};
