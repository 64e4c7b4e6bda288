#!/usr/bin/env bash
# The README's demo: the PyTorch transfer-learning tutorial's ants/bees data, end to end with the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node-env.sh
shared="${CNN_CODES_SHARED:-../shared}"
exec node bin/cnn-codes.js run --data "$shared/data/hymenoptera_data" --out cnn-codes-out/hymenoptera "$@"
