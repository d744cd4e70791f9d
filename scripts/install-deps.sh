#!/usr/bin/env bash
# Installs the Debian packages inflab needs, only those that are missing.
set -euo pipefail
PKGS=(g++ meson ninja-build pkg-config python3 xtensor-dev libxtensor-blas-dev
      libopenblas-dev liblapack-dev doctest-dev zlib1g-dev nlohmann-json3-dev dataset-fashion-mnist
      pybind11-dev python3-dev python3-numpy)  # the last three: the Python module (python/)
# --fuzz: also clang with libFuzzer and the sanitizer runtimes (CI's fuzz step);
# --peer: also PyTorch (CPU) and numpy, the peer of bench/peer and of the cross-check test;
# --browser: also Chromium, in which the report test renders every command's index.html;
# --mpi: also Open MPI (mpirun spreads retraining over processes; its tests need it);
# --python: also what the Python package's tests and the tutorial notebook use (pytest, pandas,
#   matplotlib, nbclient with a kernel, PyTorch) and meson-python for `pip install .`
for arg in "$@"; do
  case "$arg" in
    --fuzz) PKGS+=(clang libclang-rt-14-dev) ;;
    --peer) PKGS+=(python3-torch python3-numpy) ;;
    --browser) PKGS+=(chromium) ;;
    --mpi) PKGS+=(libopenmpi-dev openmpi-bin) ;;
    --python) PKGS+=(python3-pytest python3-pandas python3-matplotlib python3-nbclient python3-nbformat python3-ipykernel python3-torch
                     python3-mesonpy python3-pip patchelf) ;;
    *) echo "install-deps.sh: unknown option $arg (use --fuzz, --peer, --browser, --mpi, --python)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
