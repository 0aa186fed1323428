#!/usr/bin/env bash
# Pack-and-import smoke test: proves the packages work as a user gets them from npm.
#
# 1. `pnpm pack` every published package (packages/* whose package.json is not private).
# 2. A throwaway CommonJS project installs only the packages that have optional peers (plus what they
#    need) and loads their main entries from `require` and `import`: a missing optional peer must not
#    break the main entry.
# 3. That CJS project and a throwaway ESM project then install every tarball (plus third-party
#    optional peers such as ioredis, so subpaths like `@cachet/core/redis` can load), and load every
#    entry of every `exports` map from both `require` and `import`, checking a few known names, that
#    each entry has named exports and that both builds export the same names.
# 4. A tiny TypeScript consumer of every entry is type-checked in each project, with the workspace's
#    TypeScript 5.x (module NodeNext in the ESM one, module CommonJS + moduleResolution Node10 in the
#    CJS one) and with TypeScript 7 (`typescript@7`, installed in the temp dir; its binary is `tsc`),
#    which dropped Node10 resolution, so its CJS check uses module NodeNext in the CommonJS project.
#
# Usage: bash scripts/smoke-pack.sh   (or `pnpm smoke:pack`). SMOKE_KEEP=1 keeps the temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$(date +%s)
TMP="$(mktemp -d "${TMPDIR:-/tmp}/cachet-smoke.XXXXXX")"
cleanup() {
  local rc=$?
  if [[ "${SMOKE_KEEP:-}" == "1" ]]; then echo "smoke: kept $TMP"; else rm -rf "$TMP"; fi
  if [[ $rc -ne 0 ]]; then echo "smoke: FAILED after $(($(date +%s) - START))s" >&2; fi
}
trap cleanup EXIT

log() { echo "smoke [$(($(date +%s) - START))s] $*"; }

# Run a command quietly; show its output only when it fails.
quiet() {
  local out="$TMP/last-command.log"
  if ! "$@" >"$out" 2>&1; then
    echo "smoke: command failed: $*" >&2
    cat "$out" >&2
    return 1
  fi
}

NPM_FLAGS=(--no-audit --no-fund --no-package-lock --prefer-offline --loglevel=error)
TSC=(node "$ROOT/node_modules/typescript/bin/tsc")
TS7_SPEC="${SMOKE_TS7:-typescript@7}"

# --- plan: published packages, their entries, known exports, optional peers ---------------------
node - "$ROOT" >"$TMP/plan.json" <<'EOF'
const fs = require("node:fs");
const path = require("node:path");
const root = process.argv[2];
const dirs = fs.readdirSync(path.join(root, "packages")).sort()
  .map((d) => path.join(root, "packages", d))
  .filter((d) => fs.existsSync(path.join(d, "package.json")));
const pkgs = dirs
  .map((dir) => ({ dir, json: JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) }))
  .filter((p) => p.json.private !== true);
const names = new Set(pkgs.map((p) => p.json.name));

function entriesOf(json) {
  const ex = json.exports;
  if (ex === undefined || typeof ex === "string" || Array.isArray(ex)) return [json.name];
  const keys = Object.keys(ex);
  if (!keys.some((k) => k.startsWith("."))) return [json.name]; // conditions only: one entry
  return keys
    .filter((k) => k !== "./package.json" && !k.includes("*") && !k.endsWith(".json"))
    .map((k) => (k === "." ? json.name : json.name + k.slice(1)));
}

// Names the issue promises; everything else is discovered at run time.
const known = {
  "@cachet/tier": [
    "CacheEntry", "CacheError", "ManualClock", "isCacheError", "systemClock", "jsonCodec", "structuredCodec",
  ],
  "@cachet/core": ["Cache", "PromotionPolicy", "CacheEntry", "CacheError", "ManualClock"],
  "@cachet/memory": ["MemoryTier"],
  "@cachet/tier/testing": ["tierConformanceCases", "MockCache", "ManualClock"],
};

// Packages with optional peers, and the workspace packages they need without those peers.
const byName = new Map(pkgs.map((p) => [p.json.name, p.json]));
const optionalOf = (j) => Object.keys(j.peerDependenciesMeta ?? {}).filter((n) => j.peerDependenciesMeta[n].optional);
const bare = new Set();
const visit = (name) => {
  if (bare.has(name) || !byName.has(name)) return;
  bare.add(name);
  const j = byName.get(name);
  const optional = new Set(optionalOf(j));
  for (const dep of [...Object.keys(j.dependencies ?? {}), ...Object.keys(j.peerDependencies ?? {})]) {
    if (!optional.has(dep)) visit(dep);
  }
};
for (const p of pkgs) if (optionalOf(p.json).length > 0) visit(p.json.name);

// Third-party optional peers (e.g. ioredis), installed in the full projects so subpaths can load.
const extras = new Set();
for (const p of pkgs) {
  for (const peer of optionalOf(p.json)) {
    const range = p.json.peerDependencies?.[peer];
    if (!names.has(peer) && range) extras.add(`${peer}@${range}`);
  }
}

console.log(JSON.stringify({
  packages: pkgs.map((p) => ({ dir: p.dir, name: p.json.name, version: p.json.version, entries: entriesOf(p.json) })),
  bare: [...bare],
  extras: [...extras],
  known,
}, null, 2));
EOF

plan() { node -e "const p = require('$TMP/plan.json'); $1"; }
mapfile -t PKG_DIRS < <(plan 'for (const x of p.packages) console.log(x.dir)')
mapfile -t PKG_NAMES < <(plan 'for (const x of p.packages) console.log(x.name)')
mapfile -t BARE < <(plan 'for (const x of p.bare) console.log(x)')
mapfile -t EXTRAS < <(plan 'for (const x of p.extras) console.log(x)')
if [[ ${#PKG_DIRS[@]} -eq 0 ]]; then
  echo "smoke: no published packages found under packages/" >&2
  exit 1
fi
log "published packages: ${PKG_NAMES[*]}"

# --- build (a cache hit after `pnpm build`) and pack ----------------------------------------------
if [[ "${SMOKE_SKIP_BUILD:-}" != "1" ]]; then
  filters=()
  for name in "${PKG_NAMES[@]}"; do filters+=("--filter=${name}"); done
  quiet pnpm exec turbo run build "${filters[@]}" --output-logs=errors-only
  log "build up to date"
fi

mkdir -p "$TMP/tarballs"
declare -A TARBALL
for i in "${!PKG_DIRS[@]}"; do
  dir="${PKG_DIRS[$i]}"
  name="${PKG_NAMES[$i]}"
  before="$(ls "$TMP/tarballs")"
  (cd "$dir" && quiet pnpm pack --pack-destination "$TMP/tarballs")
  file="$(comm -13 <(echo "$before") <(ls "$TMP/tarballs") | head -n1)"
  if [[ -z "$file" ]]; then
    echo "smoke: pnpm pack produced no tarball for $name" >&2
    exit 1
  fi
  TARBALL[$name]="$TMP/tarballs/$file"
  # A packed package must not carry `workspace:` ranges (pnpm rewrites them on pack).
  if tar -xOzf "$TMP/tarballs/$file" package/package.json | grep -q '"workspace:'; then
    echo "smoke: $file still contains a workspace: range" >&2
    exit 1
  fi
done
log "packed ${#TARBALL[@]} tarballs"

# --- the runtime check, copied into each project so resolution starts there ----------------------
cat >"$TMP/check.cjs" <<'EOF'
"use strict";
// Loads each entry with require() and import(), asserts known names and that both builds agree.
const fs = require("node:fs");
const [, , planFile, outFile, ...specs] = process.argv;
const { known } = JSON.parse(fs.readFileSync(planFile, "utf8"));
const IGNORED = new Set(["default", "__esModule", "module.exports"]);
const namesOf = (ns) => Object.keys(ns).filter((n) => !IGNORED.has(n)).sort();

(async () => {
  const problems = [];
  const found = {};
  for (const spec of specs) {
    let cjs;
    let esm;
    try {
      cjs = require(spec);
    } catch (error) {
      problems.push(`require("${spec}") threw: ${error && error.message}`);
    }
    try {
      esm = await import(spec);
    } catch (error) {
      problems.push(`import("${spec}") threw: ${error && error.message}`);
    }
    if (!cjs || !esm) continue;
    const before = problems.length;
    const cjsNames = namesOf(cjs);
    const esmNames = namesOf(esm);
    if (esmNames.length === 0) problems.push(`import("${spec}") has no named exports`);
    if (cjsNames.length === 0) problems.push(`require("${spec}") has no named exports`);
    const onlyCjs = cjsNames.filter((n) => !esmNames.includes(n));
    const onlyEsm = esmNames.filter((n) => !cjsNames.includes(n));
    if (onlyCjs.length || onlyEsm.length) {
      problems.push(`"${spec}": builds disagree; only in require: [${onlyCjs}], only in import: [${onlyEsm}]`);
    }
    for (const name of known[spec] ?? []) {
      if (esm[name] === undefined) problems.push(`import("${spec}") lacks export \`${name}\``);
      if (cjs[name] === undefined) problems.push(`require("${spec}") lacks export \`${name}\``);
    }
    found[spec] = esmNames.filter((n) => cjsNames.includes(n));
    const shown = esmNames.slice(0, 6).join(", ") + (esmNames.length > 6 ? ", ..." : "");
    console.log(`  ${problems.length === before ? "ok" : "FAIL"} ${spec} (${esmNames.length} exports: ${shown})`);
  }
  // An error made by the CJS copy is still recognised by the ESM copy (brand, not instanceof).
  if (specs.includes("@cachet/tier")) {
    const cjs = require("@cachet/tier");
    const esm = await import("@cachet/tier");
    if (typeof cjs.CacheError === "function" && typeof esm.isCacheError === "function") {
      const error = new cjs.CacheError("TIMEOUT", "smoke");
      if (error.code !== "TIMEOUT") problems.push("CacheError#code is not the code passed in");
      if (!esm.isCacheError(error)) problems.push("isCacheError (ESM) rejects a CacheError from the CJS build");
      if (esm.isCacheError(new Error("plain"))) problems.push("isCacheError accepts a plain Error");
    }
  }
  // A name another entry shares with @cachet/tier must be tier's own object (a re-export), not a
  // second bundled copy: a second CacheError or CacheEntry class breaks `instanceof`.
  if (specs.includes("@cachet/tier")) {
    const tierCjs = require("@cachet/tier");
    const tierEsm = await import("@cachet/tier");
    for (const spec of Object.keys(found)) {
      if (spec.startsWith("@cachet/tier")) continue;
      const cjs = require(spec);
      const esm = await import(spec);
      for (const name of found[spec]) {
        if (typeof tierCjs[name] !== "function") continue;
        if (cjs[name] !== tierCjs[name]) problems.push(`require("${spec}").${name} is a copy, not @cachet/tier's`);
        if (esm[name] !== tierEsm[name]) problems.push(`import("${spec}").${name} is a copy, not @cachet/tier's`);
      }
    }
  }
  if (outFile !== "-") fs.writeFileSync(outFile, JSON.stringify(found));
  if (problems.length > 0) {
    console.error(problems.map((p) => `  FAIL ${p}`).join("\n"));
    process.exit(1);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
EOF

ALL_SPECS=()
mapfile -t ALL_SPECS < <(plan 'for (const x of p.packages) for (const e of x.entries) console.log(e)')

# Writes a TypeScript file that imports every entry and touches every runtime export, so a name
# that exists at run time but not in the declarations fails the type-check.
write_consumer() {
  local found="$1" out="$2"
  node - "$found" >"$out" <<'EOF'
const found = require(process.argv[2]);
const lines = [];
const uses = [];
Object.entries(found).forEach(([spec, names], i) => {
  lines.push(`import * as m${i} from "${spec}";`);
  for (const n of names) uses.push(`m${i}.${n}`);
});
if ("@cachet/tier" in found) {
  lines.push(`import { CacheEntry, CacheError, ManualClock } from "@cachet/tier";`);
  lines.push(`const clock = new ManualClock(0);`);
  lines.push(`clock.advance(10);`);
  lines.push(`const entry: CacheEntry<number> = new CacheEntry(1, { ttl: 5 });`);
  lines.push(`export const value: number = entry.value;`);
  lines.push(`export const code: string = new CacheError("TIMEOUT", "smoke").code;`);
}
lines.push(`export const all: readonly unknown[] = [${uses.join(", ")}];`);
console.log(lines.join("\n"));
EOF
}

# --- CJS project, step 1: packages with optional peers, without those peers ----------------------
CJS="$TMP/cjs"
mkdir -p "$CJS"
cd "$CJS"
echo '{ "name": "cachet-smoke-cjs", "private": true, "version": "0.0.0", "type": "commonjs" }' >package.json
cp "$TMP/check.cjs" .
if [[ ${#BARE[@]} -gt 0 ]]; then
  bare_tarballs=()
  for name in "${BARE[@]}"; do bare_tarballs+=("${TARBALL[$name]}"); done
  quiet npm install "${NPM_FLAGS[@]}" "${bare_tarballs[@]}"
  bare_mains=()
  for name in "${BARE[@]}"; do bare_mains+=("$name"); done
  log "main entries without optional peers (${BARE[*]}):"
  node check.cjs "$TMP/plan.json" - "${bare_mains[@]}"
fi

# --- full installs: all tarballs + third-party optional peers + @types/node -----------------------
install_all() {
  quiet npm install "${NPM_FLAGS[@]}" "${TARBALL[@]}" "${EXTRAS[@]}" "@types/node@^20"
}

log "CJS project: installing all tarballs ${EXTRAS[*]:+(+ ${EXTRAS[*]})}"
install_all
log "CJS project: require() and import() of every entry"
node check.cjs "$TMP/plan.json" "$TMP/found-cjs.json" "${ALL_SPECS[@]}"

ESM="$TMP/esm"
mkdir -p "$ESM"
cd "$ESM"
echo '{ "name": "cachet-smoke-esm", "private": true, "version": "0.0.0", "type": "module" }' >package.json
cp "$TMP/check.cjs" .
log "ESM project: installing all tarballs"
install_all
log "ESM project: require() and import() of every entry"
node check.cjs "$TMP/plan.json" "$TMP/found-esm.json" "${ALL_SPECS[@]}"

# --- type-check the consumers -------------------------------------------------------------------
write_consumer "$TMP/found-esm.json" "$ESM/consumer.ts"
cat >"$ESM/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "target": "ES2022",
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"]
  },
  "files": ["consumer.ts"]
}
EOF
log "ESM project: tsc --noEmit (module NodeNext)"
(cd "$ESM" && "${TSC[@]}" --noEmit -p tsconfig.json)

write_consumer "$TMP/found-cjs.json" "$CJS/consumer.ts"
cat >"$CJS/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "module": "CommonJS",
    "moduleResolution": "Node10",
    "target": "ES2022",
    "esModuleInterop": true,
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"]
  },
  "files": ["consumer.ts"]
}
EOF
log "CJS project: tsc --noEmit (module CommonJS, moduleResolution Node10)"
(cd "$CJS" && "${TSC[@]}" --noEmit -p tsconfig.json)

# --- the same consumers under TypeScript 7 ------------------------------------------------------
TS7="$TMP/ts7"
mkdir -p "$TS7"
echo '{ "name": "cachet-smoke-ts7", "private": true, "version": "0.0.0" }' >"$TS7/package.json"
(cd "$TS7" && quiet npm install "${NPM_FLAGS[@]}" "$TS7_SPEC")
TSC7=("$TS7/node_modules/.bin/tsc")
log "TypeScript $("${TSC7[@]}" --version | sed 's/^Version //')"
log "ESM project: tsc 7 --noEmit (module NodeNext)"
(cd "$ESM" && "${TSC7[@]}" --noEmit -p tsconfig.json)
# TypeScript 7 removed `moduleResolution: node10`; a CommonJS project uses NodeNext, which resolves
# through the `require` conditions because the project's package.json says "type": "commonjs".
cat >"$CJS/tsconfig.ts7.json" <<'EOF'
{
  "compilerOptions": {
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "target": "ES2022",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"]
  },
  "files": ["consumer.ts"]
}
EOF
log "CJS project: tsc 7 --noEmit (module NodeNext in a CommonJS package)"
(cd "$CJS" && "${TSC7[@]}" --noEmit -p tsconfig.ts7.json)

log "passed: ${#TARBALL[@]} packages, ${#ALL_SPECS[@]} entries, from require and import, in ESM and CJS projects, type-checked with TypeScript 5 and 7"
