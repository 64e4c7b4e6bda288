#!/usr/bin/env bash
# The README's test command. Sets up what the tests need (npm packages, the build, the Python venv), runs the
# TypeScript tests with node's test runner and the fine-tune job's tests with pytest, and ends with one
# "N passed, N failed" line over both.
set -euo pipefail
cd "$(dirname "$0")/.."
export CNN_CODES_SHARED="${CNN_CODES_SHARED:-$(cd .. && pwd)/shared}"

bash scripts/setup.sh
source scripts/node-env.sh
bash scripts/setup-python.sh
bash scripts/setup-browser.sh

artifacts=test-artifacts
rm -rf "$artifacts" && mkdir -p "$artifacts"

if [ "$#" -gt 0 ]; then
  node_tests=("$@")
else
  mapfile -t node_tests < <(find dist/test -name '*.test.js' | sort)
fi

node_status=0
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$artifacts/node.tap" "${node_tests[@]}" || node_status=$?

py_status=0
if [ "$#" -eq 0 ]; then
  .venv/bin/python -m pytest jobs/fine-tune/tests -q -p no:cacheprovider --junitxml="$artifacts/pytest.xml" || py_status=$?
fi

node_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$artifacts/node.tap" | tail -n 1)
node_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$artifacts/node.tap" | tail -n 1)
py_pass=0
py_fail=0
if [ -f "$artifacts/pytest.xml" ]; then
  read -r py_total py_failures py_errors py_skipped < <(.venv/bin/python - "$artifacts/pytest.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
print(*(sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")))
PY
)
  py_fail=$((py_failures + py_errors))
  py_pass=$((py_total - py_fail - py_skipped))
fi
passed=$(( ${node_pass:-0} + py_pass ))
failed=$(( ${node_fail:-0} + py_fail ))
if [ "$node_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$py_status" -ne 0 ] && [ "$py_status" -ne 5 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "node: ${node_pass:-0} passed, ${node_fail:-0} failed; pytest: $py_pass passed, $py_fail failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
