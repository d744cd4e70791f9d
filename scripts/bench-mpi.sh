#!/usr/bin/env bash
# Retraining over MPI ranks against one process, same run (docs/performance.md, "MPI"):
# validate --top K on the Fashion-MNIST MLP 784-16-10 (λ = 0.01, 1000 rows), from one
# checkpoint, as 1 process × 1 thread, 1 process × 2 threads, and 2 ranks × 1 thread.
# Prints wall time, the jobs' own seconds (from the journal), speedup and the overhead per job.
# Usage: bash scripts/bench-mpi.sh [K (40)] [work dir (runs/bench-mpi)]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --mpi
BUILD=${BUILD:-build/release}
[[ -d "$BUILD" ]] || meson setup "$BUILD" --buildtype=release >/dev/null
ninja -C "$BUILD" cli/inflab >/dev/null
K=${1:-40}
W=${2:-runs/bench-mpi}
BIN=$PWD/$BUILD/cli/inflab
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$W"
[[ -d "$W/train/checkpoint" ]] || "$BIN" train --dataset fashion-mnist --weight-decay 0.01 --max-steps 20000 --quiet --out "$W/train"
run() {  # name, launcher..., then inflab's --threads
  local name=$1 threads=$2; shift 2
  rm -rf "$W/$name"
  local t0=$EPOCHREALTIME
  "$@" "$BIN" validate --checkpoint "$W/train/checkpoint" --method cg --top "$K" --threads "$threads" --quiet --out "$W/$name"
  echo "$name $t0 $EPOCHREALTIME" >> "$W/walls.txt"
}
rm -f "$W/walls.txt"
run serial-1 1
run mpi-2x1 1 mpirun -np 2 --oversubscribe
run serial-2 2
python3 - "$W" "$K" <<'PY'
import json, sys, os
w, k = sys.argv[1], int(sys.argv[2])
walls = {n: float(b) - float(a) for n, a, b in (l.split() for l in open(os.path.join(w, "walls.txt")))}
base = None
print(f"validate --top {k}, Fashion-MNIST MLP 784-16-10: leave-one-out retraining (L-BFGS to 1e-8)")
print("| run | workers | wall s | Σ job s | job s (mean) | speedup | overhead per job s | same validate.csv |")
print("|---|---|---|---|---|---|---|---|")
ref = open(os.path.join(w, "serial-1", "validate.csv")).read()
for name, workers in (("serial-1", 1), ("mpi-2x1", 2), ("serial-2", 2)):
    recs = [json.loads(l) for l in open(os.path.join(w, name, "loo.jsonl")).readlines()[1:]]
    jobs = sum(r["seconds"] for r in recs)
    wall = walls[name]
    base = base or wall
    # overhead: wall × workers beyond the jobs' own time, spread over the jobs (it includes
    # rank 0's serial part: loading the checkpoint, the influence solve, writing outputs)
    over = (wall * workers - jobs) / len(recs)
    same = open(os.path.join(w, name, "validate.csv")).read() == ref
    print(f"| {name} | {workers} | {wall:.1f} | {jobs:.1f} | {jobs/len(recs):.2f} | {base/wall:.2f} | {over:.2f} | {'yes' if same else 'no (rounding: --threads)'} |")
PY
