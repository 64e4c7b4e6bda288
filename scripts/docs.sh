#!/usr/bin/env bash
# `npm run docs`: renders every figure and generated reference in README.md, CONTRIBUTING.md and docs/ from its
# source (bench/render-docs.ts: bench/results/*.json, cli/, contracts/cross-process.ts, infra/config.ts) between
# <!-- figures:NAME --> markers. Idempotent; `npm run docs -- --check` lists stale files without writing them.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node ≥ 22 (the CLI's modules use node:sqlite); installed from the npm registry when the machine's is older.
source scripts/node-env.sh
npx tsc -p tsconfig.json
node dist/bench/render-docs.js "$@"
