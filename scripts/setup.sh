#!/usr/bin/env bash
# Node side of the set-up: install the locked packages (once) and compile. Safe to run again; fast when done.
set -euo pipefail
cd "$(dirname "$0")/.."

# A maintained Node LTS first on PATH (installed from the npm registry into .cache/node when the machine's is older).
source scripts/node-env.sh
# package.json's allowScripts denies dependency install scripts: onnxruntime-node ships its CPU library, and its script
# would download the CUDA provider from a feed these machines cannot reach (the GPU image runs it explicitly).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/.built ] || [ -n "$(find core cli contracts aws functions infra bench test fuzz tsconfig.json package.json -newer dist/.built -name '*.ts' -o -newer dist/.built -name '*.json' 2>/dev/null | head -n 1)" ]; then
  echo "setup: compiling TypeScript…" >&2
  npx tsc -p tsconfig.json
  touch dist/.built
fi
