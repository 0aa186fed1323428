import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  devDependencies: Record<string, string>;
};

// Five runnable entry points, ESM only, no declarations (nothing imports this package). The
// redis-server harness (@cachet/test-utils) is TypeScript source that is never built, so it is
// bundled in; its jest-only `describeRedis` import is replaced by a stub, since `@jest/globals`
// refuses to load outside jest.
export default defineConfig({
  entry: ["src/main.ts", "src/runner.ts", "src/http-server.ts", "src/fleet-worker.ts", "src/profile.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: false,
  sourcemap: true,
  clean: true,
  splitting: false,
  // Every library runs as published, from node_modules; only the harness is bundled.
  external: Object.keys(pkg.devDependencies).filter((name) => name !== "@cachet/test-utils"),
  noExternal: ["@cachet/test-utils"],
  esbuildPlugins: [
    {
      name: "stub-jest-globals",
      setup(build) {
        build.onResolve({ filter: /^@jest\/globals$/ }, () => ({ path: "jest-globals", namespace: "stub" }));
        build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
          contents: "export const describe = undefined;",
          loader: "js",
        }));
      },
    },
  ],
});
