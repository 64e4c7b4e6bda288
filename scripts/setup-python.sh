#!/usr/bin/env bash
# Python side of cnn-codes (jobs/fine-tune): Debian's torch 1.13 + torchvision 0.14 (the pair that loads together
# here), then a venv at .venv that sees them (--system-site-packages) and adds onnx, onnxruntime and boto3 from the
# machine's configured pip index. Idempotent and quiet; a second run only probes imports.
# Run as root on a fresh machine (CI), or as a user once the apt packages are there.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
reqs="$repo/jobs/fine-tune/requirements"
apt_packages=(python3-torch python3-torchvision python3-sklearn python3-pytest python3-pil python3-venv python3-numpy)

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-python: missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Only refresh the lists when apt does not know a package yet: a fresh image has empty lists.
  if ! apt-get install -s -y "${missing[@]}" >/dev/null 2>&1; then apt-get update -qq; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x "$venv/bin/python" ]]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi

probe='import torch, torchvision, numpy, PIL, sklearn, pytest, onnx, onnxruntime, boto3, ruff
assert numpy.__version__.startswith("1."), numpy.__version__'
if ! "$venv/bin/python" -c "$probe" >/dev/null 2>&1; then
  # The default index may be unreachable here, the local mirror answers at once: do not wait on retries.
  "$venv/bin/python" -m pip install -q --retries "${PIP_RETRIES:-0}" --timeout "${PIP_TIMEOUT:-15}" \
    -c "$reqs/constraints.txt" -r "$reqs/venv.txt" 2>&1 | grep -v -E "Retrying|is ignored: it is neither" >&2 || true
  "$venv/bin/python" -c "$probe" || { echo "setup-python: $venv is incomplete (see above)" >&2; exit 1; }
fi

# The package itself, importable as cnn_codes_finetune from anywhere with .venv/bin/python (no copy: a .pth link).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$repo/jobs/fine-tune" > "$site/cnn_codes_finetune.pth"
