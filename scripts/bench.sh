#!/usr/bin/env bash
# Every benchmark in bench/, each printing its table beside the baseline it runs in the same script.
set -euo pipefail
cd "$(dirname "$0")/.."
export CNN_CODES_SHARED="${CNN_CODES_SHARED:-$(cd .. && pwd)/shared}"
bash scripts/setup.sh
source scripts/node-env.sh
bash scripts/setup-python.sh
node dist/bench/extract.js
node dist/bench/decode.js
node dist/bench/heads.js --synthetic
node dist/bench/rerun.js
node dist/bench/cost-inputs.js --resnet50
node dist/bench/rerun-extract.js
node dist/bench/index.js --n 100000
node dist/bench/scale.js --n 2000 --kills 5
node dist/bench/schema-library.js
node dist/bench/render-docs.js    # the docs follow the result files just written
