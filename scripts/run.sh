#!/usr/bin/env bash
# Quick start 1: install what is missing, build in release mode, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[[ -d build/release ]] || meson setup build/release --buildtype=release >/dev/null
ninja -C build/release examples/inflab-hvp-tour
./build/release/examples/inflab-hvp-tour "$@"
