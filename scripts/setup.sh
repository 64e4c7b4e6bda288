#!/usr/bin/env bash
# Node side of the set-up: install the locked packages (once) and compile. Safe to run again; fast when done.
set -euo pipefail
cd "$(dirname "$0")/.."

# onnxruntime-node ships its CPU library; its install script would try to download the CUDA provider from a feed
# these machines cannot reach. npm 11 runs no dependency scripts unless approved; this keeps other npms honest too.
export ONNXRUNTIME_NODE_INSTALL=skip

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "cnn-codes needs Node.js 20 or newer" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/.built ] || [ -n "$(find core cli aws functions infra bench test tsconfig.json package.json -newer dist/.built -name '*.ts' -o -newer dist/.built -name '*.json' 2>/dev/null | head -n 1)" ]; then
  echo "setup: compiling TypeScript…" >&2
  npx tsc -p tsconfig.json
  touch dist/.built
fi
