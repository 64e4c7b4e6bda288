#!/usr/bin/env bash
# `npm run test:unit`: the unit tests alone, on nothing beyond `npm ci` (no apt, venv or browser). An incremental build
# of what they import (tsconfig.unit.json: no CDK app, benches or e2e tests, whose aws-cdk-lib types are most of a
# full compile), then node's test runner over dist/test/unit. Extra arguments go to node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node ≥ 22 (its test runner takes the glob below); installed from the npm registry when the machine's is older.
source scripts/node-env.sh
npx tsc -p tsconfig.unit.json
node --test --test-reporter=dot "$@" "dist/test/unit/**/*.test.js"
