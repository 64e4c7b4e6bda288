#!/usr/bin/env bash
# Prettier writes every TypeScript and JavaScript file outside .prettierignore (what `npm run lint` checks). Run it on a
# clean tree, read `git diff --stat`, run `npx tsc -b tsconfig.json && npm run test:unit && npm run lint`, and commit
# it on its own. Formatting only: whitespace, quotes, wrapping, trailing commas; nothing a compiler sees changes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  echo "format-all: the tree has uncommitted changes; commit or stash them first, so this stays one reviewable commit" >&2
  exit 1
fi
npx prettier --write --log-level warn '**/*.{ts,mts,cts,js,mjs,cjs}' .prettierrc.json
echo "format-all: $(git diff --name-only | wc -l) files reformatted" >&2
