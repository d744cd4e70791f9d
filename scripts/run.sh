#!/usr/bin/env bash
# Quick start 1: install what is missing, build in release mode, run the main job:
# influence on an Iris MLP checked against leave-one-out retraining (runs/validate/).
# Extra arguments go to `inflab validate` (e.g. --depth 3 --weight-decay 0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[[ -d build/release ]] || meson setup build/release --buildtype=release >/dev/null
ninja -C build/release cli/inflab
./build/release/cli/inflab validate --top 40 --threads 2 "$@"
