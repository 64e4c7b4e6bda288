#!/usr/bin/env bash
# The full default schedule on hymenoptera (25 epochs, batch 4, SGD 0.001 momentum 0.9, StepLR 7/0.1, backbone LR ×0.1),
# fine-tuning mobilenetv2-12-int8, then the fixed-feature-extractor baseline (freezeBlocks "all") with the same schedule.
# Too slow for CI on CPU. Output and logs: $OUT (default out/full-cpu-run, git-ignored).
#   bash jobs/fine-tune/scripts/full_cpu_run.sh            # both runs, in the foreground
#   nohup bash jobs/fine-tune/scripts/full_cpu_run.sh &    # ... or in the background; tail -f out/full-cpu-run/*.log
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
shared="${CNN_CODES_SHARED:-$repo/../shared}"
out="${OUT:-$repo/out/full-cpu-run}"
mkdir -p "$out"
python="${PYTHON:-$repo/.venv/bin/python}"

run() {  # name, freezeBlocks
  local message
  message=$(cat <<JSON
{"type": "fine-tune", "version": 1, "requestId": "full-cpu-run-$1",
 "data": {"location": "$shared/data/hymenoptera_data"},
 "backbone": {"registry": "mobilenetv2-12-int8"},
 "output": {"location": "$out", "name": "$1"},
 "training": {"freezeBlocks": $2, "numWorkers": 2},
 "conversionCheck": {"images": 153}}
JSON
)
  "$python" -m cnn_codes_finetune --message "$message" >"$out/$1.result.json" 2>"$out/$1.log"
}

run hymenoptera-mobilenetv2-finetune 0
run hymenoptera-mobilenetv2-fixed-extractor '"all"'
"$python" - "$out" <<'PY'
import json, sys, pathlib
for name in ("hymenoptera-mobilenetv2-finetune", "hymenoptera-mobilenetv2-fixed-extractor"):
    m = json.loads((pathlib.Path(sys.argv[1]) / name / "metrics.json").read_text())
    print(f"{name}: best val acc {m['bestValAccuracy']:.4f} (epoch {m['bestEpoch']}), "
          f"train {m['trainImagesPerS']:.2f} img/s, {m['seconds'] / 60:.0f} min, threads {m['runtime']['threads']}")
PY
