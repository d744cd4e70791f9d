#!/usr/bin/env bash
# Builds the parser fuzz targets with clang's libFuzzer + ASan + UBSan and runs each for
# FUZZ_SECONDS (default 30) from a generated seed corpus. Any crash fails the script.
# The random seed is fixed (FUZZ_SEED, default 1) so CI runs are repeatable; explore with
# other seeds and longer times by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --fuzz
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
mkdir -p "$OUT"
python3 fuzz/make_corpus.py "$OUT/corpus"
CXX=${FUZZ_CXX:-clang++}
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.
       $(pkg-config --cflags xtensor))
COMMON=(autodiff/tensor.cpp datasets/dataset.cpp datasets/csv.cpp datasets/idx.cpp datasets/cifar.cpp)
for t in idx csv cifar; do
  echo "fuzz: building $t"
  "$CXX" "${FLAGS[@]}" "fuzz/fuzz_$t.cpp" "${COMMON[@]}" -lz -o "$OUT/fuzz_$t"
done
for t in idx csv cifar; do
  echo "fuzz: running $t for ${SECONDS_EACH}s"
  mkdir -p "$OUT/work_$t"
  "$OUT/fuzz_$t" -seed="${FUZZ_SEED:-1}" -max_total_time="$SECONDS_EACH" -max_len=20000 -rss_limit_mb=2048 -artifact_prefix="$OUT/" \
    -print_final_stats=1 "$OUT/work_$t" "$OUT/corpus/$t" 2>"$OUT/fuzz_$t.log" \
    || { tail -40 "$OUT/fuzz_$t.log"; echo "fuzz: $t FAILED"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$OUT/fuzz_$t.log" | sed "s/^/fuzz $t: /"
done
echo "fuzz: all targets ran clean"
