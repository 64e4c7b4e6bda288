#!/usr/bin/env bash
# `npm run lint`: ESLint (TypeScript, type-aware), Prettier's check and ruff (Python). CI runs it before the tests.
# Prettier checks only the files listed in .prettier-checked for now: the repository-wide `prettier --write` comes as
# one commit of its own, after which the list gives way to the whole tree.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node-env.sh
status=0
echo "lint: eslint" >&2
npx eslint --max-warnings 0 . || status=1
echo "lint: prettier --check (files in .prettier-checked)" >&2
mapfile -t checked < <(grep -v -e '^#' -e '^$' .prettier-checked)
npx prettier --check "${checked[@]}" || status=1
echo "lint: ruff" >&2
if [[ ! -x .venv/bin/ruff ]]; then bash scripts/setup-python.sh; fi
.venv/bin/ruff check . || status=1
exit "$status"
