#!/usr/bin/env bash
# Removing any one grant the pipeline needs makes an IAM-enforced test fail: for one needed grant per role, synthesize
# the template without it (CNN_CODES_IAM_DROP, test/helpers/iam.ts), run the IAM-enforced test that exercises it, and
# record that it fails and why. Writes bench/results/iam-grant-removal.md (docs/iam.md quotes it). About 6 minutes.
# Usage: bash scripts/iam-grant-removal.sh [ROLE...]   (after npx tsc -p tsconfig.json; with roles, only their cases
# run and their rows are replaced)
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
export CNN_CODES_SHARED="${CNN_CODES_SHARED:-$(cd .. && pwd)/shared}"
out=bench/results/iam-grant-removal.md
mkdir -p "$(dirname "$out")"
# role|action|resource (template JSON substring)|test file|test name pattern ('' = the whole file)
cases=(
  "HeadsTrainHeadFunctionServiceRole|sqs:SendMessage|ExtractQueue|incremental|"
  "ExtractLambdaFunctionServiceRole|s3:PutObject|/cache/|incremental|"
  "HeadsEvaluateFunctionServiceRole|s3:PutObject|/runs/|iam-roles|^HeadsEvaluate"
  "ExtractWorkersJobRole|s3:PutObject|/cache/|iam-roles|^ExtractWorkers"
  "TrainBatchJobJobRole|sqs:SendMessage|EvaluateQueue|iam-roles|^TrainBatch"
  "FineTuneJobJobRole|s3:PutObject|/models/|iam-roles|^a fine-tune message"
  "DispatcherDispatchFunctionServiceRole|sqs:GetQueueAttributes|ExtractQueue|iam-roles|^Dispatcher"
)
if [ "$#" -eq 0 ] || [ ! -f "$out" ]; then
  {
    echo "| Role | Grant removed | Test | Result | First failure |"
    echo "| --- | --- | --- | --- | --- |"
  } > "$out"
fi
for case in "${cases[@]}"; do
  IFS='|' read -r role action resource file pattern <<< "$case"
  if [ "$#" -gt 0 ] && [[ " $* " != *" $role "* ]]; then continue; fi
  args=("dist/test/integration/$file.test.js")
  [ -n "$pattern" ] && args=(--test-name-pattern "$pattern" "${args[@]}")
  started=$(date +%s)
  log=$(CNN_CODES_IAM_DROP="$role|$action|$resource" node --test "${args[@]}" 2>&1)
  status=$?
  seconds=$(( $(date +%s) - started ))
  result=$([ "$status" -ne 0 ] && echo "fails ($seconds s)" || echo "PASSES ($seconds s)")
  why=$(grep -m1 -E "AccessDenied" <<< "$log" || grep -m1 -E "may |Error \[|Error: |AssertionError" <<< "$log")
  why=$(sed 's/^ *//; s/|/\\|/g' <<< "$why" | cut -c1-160)
  row="| $role | $action on *$resource* | $file.test.ts${pattern:+ ($pattern)} | $result | $why |"
  grep -v "^| $role |" "$out" > "$out.tmp"; mv "$out.tmp" "$out"
  echo "$row" | tee -a "$out"
done
