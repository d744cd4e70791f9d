#!/usr/bin/env bash
# inflab against PyTorch on the same work, in one run: installs what is missing (with
# Debian's python3-torch), builds the inflab benchmark, runs both single-threaded and with
# 2 threads, checks that they computed the same numbers (≤ 1e-8; the retrained losses of
# workload (g) to 1e-4 and 1e-2, bench/peer/compare.py), prints the table.
#   bash scripts/bench-peer.sh [BUDGET_SECONDS]   (default 2 s per measurement; 0: one run)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --peer
[[ -d build/release ]] || meson setup build/release --buildtype=release >/dev/null
ninja -C build/release bench/inflab-bench-peer >/dev/null
BUDGET=${1:-2}
DIR=${PEER_DIR:-build/peer}
mkdir -p "$DIR"
lscpu | grep -E "Model name|^CPU\(s\)" | sed 's/  */ /g'
for t in 1 2; do
  echo "== $t thread(s)"
  OPENBLAS_NUM_THREADS=$t ./build/release/bench/inflab-bench-peer "$DIR" "$t" "$BUDGET"
  OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t /usr/bin/python3 bench/peer/torch_bench.py "$DIR" "$t" "$BUDGET"
done
/usr/bin/python3 bench/peer/compare.py "$DIR"
