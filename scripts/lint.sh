#!/usr/bin/env bash
# `npm run lint`: ESLint (TypeScript, type-aware), Prettier's check and ruff (Python). CI runs it before the tests.
# Prettier checks only the files listed in .prettier-checked while that list exists: scripts/format-all.sh (run once by
# the lead after merging) writes the whole tree and deletes the list, and from then on every file is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node-env.sh
status=0
echo "lint: eslint" >&2
npx eslint --max-warnings 0 . || status=1
if [[ -f .prettier-checked ]]; then
  echo "lint: prettier --check (files in .prettier-checked)" >&2
  mapfile -t checked < <(grep -v -e '^#' -e '^$' .prettier-checked)
else
  # After scripts/format-all.sh: every TypeScript/JavaScript file outside .prettierignore.
  echo "lint: prettier --check (all TypeScript and JavaScript)" >&2
  checked=('**/*.{ts,mts,cts,js,mjs,cjs}' .prettierrc.json)
fi
npx prettier --check "${checked[@]}" || status=1
echo "lint: ruff" >&2
if [[ ! -x .venv/bin/ruff ]]; then bash scripts/setup-python.sh; fi
.venv/bin/ruff check . || status=1
exit "$status"
