#!/usr/bin/env bash
# One-off, for the lead after the parallel branches are merged: Prettier writes every TypeScript and JavaScript file
# outside .prettierignore, and the allowlist (.prettier-checked) is deleted, which switches `npm run lint` from checking
# the listed files to checking them all (scripts/lint.sh picks the mode by whether the list exists). Run it on a clean
# tree, read `git diff --stat`, run `npx tsc -b tsconfig.json && npm run test:unit && npm run lint`, commit as one
# commit of its own. Formatting only: whitespace, quotes, wrapping, trailing commas; nothing a compiler sees changes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  echo "format-all: the tree has uncommitted changes; commit or stash them first, so this stays one reviewable commit" >&2
  exit 1
fi
npx prettier --write --log-level warn '**/*.{ts,mts,cts,js,mjs,cjs}' .prettierrc.json
rm -f .prettier-checked
echo "format-all: $(git diff --name-only | wc -l) files reformatted; .prettier-checked removed (lint now checks every file)" >&2
