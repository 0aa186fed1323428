import preset from "../../jest.preset.js";

const base = {
  ...preset,
  moduleNameMapper: {
    "^@cachet/test-utils$": "<rootDir>/../test-utils/src/index.ts",
    ...preset.moduleNameMapper,
  },
};

// The Redis suites (kit, tier, bus, lock, streams, cluster) run against both supported majors of
// both clients. `ioredis` and `redis` are the current majors (6); the `ioredis5` and `redis5`
// devDependencies are pnpm aliases of the previous ones, swapped in by module mapping, so the
// sources and tests import `ioredis` / `redis` as users do. The fleet suites spawn child processes
// (outside jest's module mapping) and run on the current majors only.
// CACHET_REDIS_CLIENTS=6 (or 5) runs one side only.
const CLIENTS_5 = [
  "conformance",
  "standalone",
  "faults",
  "cluster",
  "units",
  "client-versions",
  "mistakes",
  "coherence/bus",
  "coherence/lock-and-streams",
  "coherence/node-redis",
  "tracking",
  "tracking-failover",
];

const projects = [
  { ...base, displayName: "ioredis 6, redis 6", globals: { cachetClientMajor: 6 } },
  {
    ...base,
    displayName: "ioredis 5, redis 5",
    globals: { cachetClientMajor: 5 },
    testMatch: CLIENTS_5.map((name) => `<rootDir>/test/${name}.test.ts`),
    moduleNameMapper: { "^ioredis$": "ioredis5", "^redis$": "redis5", ...base.moduleNameMapper },
  },
];
const only = process.env.CACHET_REDIS_CLIENTS;

/** @type {import('jest').Config} */
export default {
  projects: only ? projects.filter((p) => p.displayName.startsWith(`ioredis ${only}`)) : projects,
  // After a large reply, ioredis's parser (redis-parser) shrinks its buffer pool on a 50 ms
  // interval for about a second and then stops on its own. That is not a leak, but it trips
  // jest's default 1 s "did not exit" warning after the 1 MiB cases.
  openHandlesTimeout: 4_000,
  testTimeout: preset.testTimeout,
};
