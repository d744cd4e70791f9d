#!/usr/bin/env bash
# Quick start 2: install what is missing, build, run every test.
# Ends with one line "N passed, N failed" (doctest test cases summed over all suites;
# a suite that crashes without a summary counts as one failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --peer --python --browser --mpi  # PyTorch: the peer test; pytest, nbclient: the python test; Chromium: the report test; Open MPI: the mpi test
BUILD=${BUILD:-build/release}
# a build configured before a package arrived (run.sh first, then this) is reconfigured, so
# what was installed just now (Open MPI: the mpi test and mpirun) is found
if [[ -d "$BUILD" ]]; then meson setup --reconfigure "$BUILD" >/dev/null; else meson setup "$BUILD" --buildtype=release >/dev/null; fi
ninja -C "$BUILD"
status=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 || status=$?
python3 scripts/count_tests.py "$BUILD/meson-logs/testlog.json"
exit $status
