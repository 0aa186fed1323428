#!/usr/bin/env node
// Checks the dependency rules that keep one copy of `@cachet/tier` in a user's tree (see STYLE.md):
// - no published package except `@cachet/core` lists `@cachet/tier` under `dependencies` (it is a peer);
// - a workspace package named as a peer is also a devDependency: turbo builds the package graph from
//   dependencies and devDependencies only, so without it `^build` does not build the peer first;
// - every `peerDependenciesMeta` entry names a declared peer;
// - `@cachet/telemetry` declares `@opentelemetry/api` as a peer with an explicit range;
// - every published package is in the changesets `fixed` group, so the family shares one version.
// Private packages (examples, test helpers) are applications, not libraries, and are not checked.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TIER = "@cachet/tier";
const CORE = "@cachet/core";

/** @returns {{ dir: string, pkg: Record<string, any> }[]} */
function workspacePackages() {
  const found = [];
  for (const group of ["packages", "examples"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const file = join(base, name, "package.json");
      if (!existsSync(file)) continue;
      found.push({ dir: `${group}/${name}`, pkg: JSON.parse(readFileSync(file, "utf8")) });
    }
  }
  return found;
}

const all = workspacePackages();
const names = new Set(all.map((p) => p.pkg.name));
const published = all.filter((p) => p.pkg.private !== true);
const problems = [];

for (const { dir, pkg } of published) {
  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  const devDeps = pkg.devDependencies ?? {};
  const meta = pkg.peerDependenciesMeta ?? {};

  if (pkg.name !== CORE && TIER in deps) {
    problems.push(
      `${dir}: \`${TIER}\` must be a peerDependency, not a dependency (only ${CORE} may depend on it)`,
    );
  }
  for (const peer of Object.keys(peers)) {
    if (peer in deps) {
      problems.push(`${dir}: \`${peer}\` is listed both as a dependency and as a peer`);
    }
    // Exception: core's optional subpath peers (`@cachet/core/redis`...) are hand-written re-export
    // files that need nothing built first, and those packages' tests depend on core: a devDependency
    // back would be a build cycle.
    const subpathPeer = dir === "packages/core" && meta[peer]?.optional === true;
    if (names.has(peer) && !(peer in devDeps) && !subpathPeer) {
      problems.push(
        `${dir}: workspace peer \`${peer}\` must also be a devDependency ("workspace:^"): ` +
          "turbo orders `^build` by dependencies and devDependencies only, not peers",
      );
    }
  }
  for (const entry of Object.keys(meta)) {
    if (!(entry in peers)) {
      problems.push(`${dir}: peerDependenciesMeta names \`${entry}\`, which is not in peerDependencies`);
    }
  }
}

const telemetry = published.find((p) => p.pkg.name === "@cachet/telemetry");
if (telemetry) {
  const range = telemetry.pkg.peerDependencies?.["@opentelemetry/api"];
  if (range === undefined) {
    problems.push(`${telemetry.dir}: \`@opentelemetry/api\` must be a peerDependency`);
  } else if (range === "*" || range === "" || range === "latest") {
    problems.push(`${telemetry.dir}: \`@opentelemetry/api\` peer needs an explicit range, not "${range}"`);
  }
  if (telemetry.pkg.dependencies?.["@opentelemetry/api"] !== undefined) {
    problems.push(
      `${telemetry.dir}: \`@opentelemetry/api\` must not be a dependency (two copies break the global API)`,
    );
  }
}

const changesetConfig = join(root, ".changeset", "config.json");
if (existsSync(changesetConfig)) {
  const fixed = new Set((JSON.parse(readFileSync(changesetConfig, "utf8")).fixed ?? []).flat());
  for (const { dir, pkg } of published) {
    if (!fixed.has(pkg.name)) {
      problems.push(
        `${dir}: \`${pkg.name}\` is published but missing from the "fixed" group in .changeset/config.json`,
      );
    }
  }
}

if (problems.length > 0) {
  console.error(`check-peers: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(
  `check-peers: ${published.length} published package(s) OK (${published.map((p) => p.pkg.name).join(", ")})`,
);
