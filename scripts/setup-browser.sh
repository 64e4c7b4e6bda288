#!/usr/bin/env bash
# Debian's chromium for the report's browser test (playwright-core drives it through executablePath; no browser
# download). Idempotent: does nothing when chromium is there; refreshes apt lists only when apt cannot find it.
# Run as root on a fresh machine (CI). CHROMIUM_PATH overrides where the tests look for it.
set -euo pipefail

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ -x "$chromium" ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup-browser: $chromium is missing; run this script as root (apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Fonts: without them the report's screenshot renders in whatever fallback the image happens to have.
packages=(chromium fonts-liberation fonts-dejavu-core)
if ! apt-get install -s -y "${packages[@]}" >/dev/null 2>&1; then apt-get update -qq; fi
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
"$chromium" --version >/dev/null 2>&1 || { echo "setup-browser: chromium installed but does not start" >&2; exit 1; }
