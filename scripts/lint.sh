#!/usr/bin/env bash
# `npm run lint`: ESLint (TypeScript, type-aware), Prettier's check and ruff (Python). CI runs it before the tests.
# Prettier checks every TypeScript/JavaScript file outside .prettierignore; `bash scripts/format-all.sh` writes them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node-env.sh
status=0
echo "lint: eslint" >&2
npx eslint --max-warnings 0 . || status=1
echo "lint: prettier --check (all TypeScript and JavaScript)" >&2
npx prettier --check '**/*.{ts,mts,cts,js,mjs,cjs}' .prettierrc.json || status=1
echo "lint: ruff" >&2
if [[ ! -x .venv/bin/ruff ]]; then bash scripts/setup-python.sh; fi
.venv/bin/ruff check . || status=1
exit "$status"
