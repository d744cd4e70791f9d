#!/usr/bin/env bash
# The installed library is usable on its own: meson install into a scratch DESTDIR, then
# examples/downstream — a project outside this tree — found by pkg-config alone
# (dependency('inflab'); PKG_CONFIG_SYSROOT_DIR for the scratch root), built and run, reading the
# installed data tables. Prints one doctest-style summary line for the test count.
set -euo pipefail
BUILD=$1
SRC=$2
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
meson install -C "$BUILD" --destdir "$D/root" --no-rebuild >/dev/null
PC=$(dirname "$(find "$D/root" -name inflab.pc)")
LIB=$(dirname "$(find "$D/root" -name 'libinflab.so' | head -1)")
DATA=$(find "$D/root" -type d -path '*share/inflab' | head -1)
PKG_CONFIG_SYSROOT_DIR="$D/root" PKG_CONFIG_PATH="$PC" meson setup "$D/build" "$SRC/examples/downstream" >/dev/null
ninja -C "$D/build" >/dev/null
LD_LIBRARY_PATH="$LIB" INFLAB_DATA="$DATA" OPENBLAS_NUM_THREADS=1 "$D/build/loo_by_hand"
out=$(LD_LIBRARY_PATH="$LIB" INFLAB_DATA="$DATA" OPENBLAS_NUM_THREADS=1 "$D/build/own_objective")
echo "$out"
[[ $out == *"Pearson(Δ̂, leave-one-out) = 0.99"* ]] || { echo "own_objective: unexpected output" >&2; exit 1; }
# README's C++ example (examples/downstream/readme.cpp, the README's block verbatim: test_readme.py)
out=$(LD_LIBRARY_PATH="$LIB" INFLAB_DATA="$DATA" OPENBLAS_NUM_THREADS=1 "$D/build/readme")
echo "$out"
[[ $out == *"cg on hessian"*"Δ̂ of training row 0 = "*"relative residual"* ]] || { echo "readme: unexpected output" >&2; exit 1; }
echo "[doctest] test cases: 1 | 1 passed | 0 failed | 0 skipped"
