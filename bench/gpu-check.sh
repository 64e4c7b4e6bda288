#!/usr/bin/env bash
# The prepared check for a machine with an NVIDIA GPU and CUDA 12, no internet (about 3-6 minutes):
#   bash bench/gpu-check.sh [IMAGES]        (default 20000 synthetic JPEGs)
# It builds, generates the images, and for the GPU graph of mobilenetv2-12-int8 and (if present, or exportable with
# the local torch) ResNet-50 prints: node placement from onnxruntime's profile, inference-only images/s, end-to-end
# extraction images/s with the share of vCPUs busy, GPU utilisation sampled by nvidia-smi, the cosine of the GPU codes
# to the CPU graph's on 64 images, and the CPU run beside it.
# Without an NVIDIA GPU it says so and exits 2 at once. Needs node_modules with onnxruntime-node's CUDA 12 provider
# (the extract image installs it: functions/extract/Dockerfile).
set -euo pipefail
here="${BASH_SOURCE[0]}"; [[ "$here" == */* ]] || here="./$here"
cd "${here%/*}/.."  # builtins only: the no-GPU answer needs nothing from PATH

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi missing or lists no GPU); nothing measured" >&2
  exit 2
fi
images="${1:-20000}"
ort_bin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
if ! ls "$ort_bin"/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then
  echo "gpu-check: $ort_bin has no libonnxruntime_providers_cuda.so; install it where there is a network:" >&2
  echo "  (cd node_modules/onnxruntime-node && node script/install.js --onnxruntime-node-install=cuda12)" >&2
  exit 3
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "vCPUs: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

source scripts/node-env.sh
[ -f dist/.built ] || { npx tsc -p tsconfig.json && touch dist/.built; }
work="$(mktemp -d "${TMPDIR:-/tmp}/cnn-codes-gpu-check.XXXXXX")"
trap 'kill "${sampler:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
node dist/bench/gpu-check.js generate --out "$work/gpu" --count "$images"
node dist/bench/gpu-check.js generate --out "$work/cpu" --count $((images / 10))

models=(mobilenetv2-12-int8)
if node -e "process.exit(require('fs').existsSync(process.argv[1]) ? 0 : 1)" "${CNN_CODES_SHARED:-../shared}/models/resnet50-v1-12/resnet50-v1-12.onnx"; then
  models+=(resnet50-v1-12)
elif [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch, torchvision' 2>/dev/null; then
  # Cost does not depend on the weights: a random-weight torchvision ResNet-50 stands in for the zoo file.
  node --input-type=module -e "
    const { exportRandomResnet50 } = await import('./dist/test/helpers/torchvision-resnet.js');
    const { writeFileSync } = await import('node:fs');
    const { descriptor } = await exportRandomResnet50(process.argv[1]);
    writeFileSync(process.argv[1] + '/resnet50-random.json', JSON.stringify(descriptor));" "$work"
  models+=("$work/resnet50-random.json")
else
  echo "gpu-check: no ResNet-50 (neither ../shared/models/resnet50-v1-12 nor torch to export one): mobilenetv2 only"
fi

measure() { # provider model data → one JSON line, with nvidia-smi sampled meanwhile
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 >"$work/smi.csv" &
  sampler=$!
  node dist/bench/gpu-check.js measure --provider "$1" --model "$2" --data "$3" | tail -n 1 >"$work/result.json"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  node -e "
    const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
    const util = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(',').map(Number)).filter((v) => v.length === 2 && v.every(Number.isFinite));
    const busy = util.filter(([u]) => u > 0).map(([u]) => u);
    r.gpuUtilisation = { samples: util.length, meanWhileBusy: busy.length ? Math.round(busy.reduce((a, b) => a + b, 0) / busy.length) : 0, max: Math.max(0, ...util.map(([u]) => u)), maxMemoryMiB: Math.max(0, ...util.map(([, m]) => m)) };
    console.log(JSON.stringify(r));" "$work/result.json" "$work/smi.csv"
}

echo
echo "model | provider | precision | inference only img/s | extraction img/s | extraction / inference | vCPUs busy | GPU util (mean busy / max) | cosine to CPU codes (median / min) | nodes by provider"
for model in "${models[@]}"; do
  for provider in cuda cpu; do
    data="$work/gpu"; [ "$provider" = cpu ] && data="$work/cpu"
    line="$(measure "$provider" "$model" "$data")"
    echo "$line" >>"$work/all.jsonl"
    node -e "
      const r = JSON.parse(process.argv[1]);
      const ratio = (r.extraction.imagesPerSecond / r.inferenceOnlyImagesPerSecond * 100).toFixed(0) + ' %';
      const util = r.provider === 'cuda' ? r.gpuUtilisation.meanWhileBusy + ' / ' + r.gpuUtilisation.max + ' %' : '-';
      const nodes = r.placement ? JSON.stringify(r.placement.byProvider) + (r.placement.offGpu.length ? ' off GPU: ' + r.placement.offGpu.join('; ') : '') : '-';
      const fidelity = r.fidelityToCpu ? r.fidelityToCpu.median + ' / ' + r.fidelityToCpu.min : '-';
      console.log([r.model, r.provider, r.precision, r.inferenceOnlyImagesPerSecond, r.extraction.imagesPerSecond + ' (' + r.extraction.images + ' images)', ratio, Math.round(r.vcpuBusyShare * 100) + ' %', util, fidelity, nodes].join(' | '));" "$line"
  done
done
echo
echo "raw results:"
cat "$work/all.jsonl"
