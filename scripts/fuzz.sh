#!/usr/bin/env bash
# `npm run fuzz [-- --target NAME ...]`: a long coverage-guided campaign over every hand-written parser (fuzz/targets.ts),
# 1,000,000 executions per target (or 25 minutes, whichever comes first), figures to bench/results/fuzz.json.
# Extra arguments go to dist/fuzz/main.js (--target NAME, --runs N, --seconds S, --total-seconds S, --seed N).
# `npm run fuzz -- --ci`: what CI runs: the committed corpora replayed, then 10 s of fuzzing per target (~2 min in all).
# Findings (crashes, hangs, inputs over the time or memory budget) land in fuzz/findings/<target>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node-env.sh
if [ "${1:-}" = "--ci" ]; then
  shift
  exec node --expose-gc dist/fuzz/main.js --seconds 10 --runs 1000000000 "$@"
fi
exec node --expose-gc dist/fuzz/main.js --runs 1000000 --seconds 1500 --json bench/results/fuzz.json "$@"
