#!/usr/bin/env bash
# `npm run test:unit`: the unit tests alone, on nothing beyond `npm ci` (no apt, venv or browser). An incremental build
# (a no-op one takes about a second), then node's test runner over dist/test/unit. Extra arguments go to node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node ≥ 22 (its test runner takes the glob below); installed from the npm registry when the machine's is older.
source scripts/node-env.sh
npx tsc -b tsconfig.json
touch dist/.built
node --test --test-reporter=dot "$@" "dist/test/unit/**/*.test.js"
