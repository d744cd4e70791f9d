"""The cross-check of the side-by-side benchmark, as a test: inflab and PyTorch run every
workload of bench/peer once on the same inputs, and compare.py fails unless all results
agree to 1e-8 (relative; the retrained losses of (g), which stop at a gradient tolerance, to 1e-4 and
1e-2).
Timings are not looked at.

usage: check_peer.py INFLAB_BENCH_PEER SOURCE_ROOT
"""
import os
import subprocess
import sys
import tempfile

bench, root = sys.argv[1], sys.argv[2]
try:
    subprocess.run(["/usr/bin/python3", "-c", "import torch, numpy"], check=True, capture_output=True)
except (subprocess.CalledProcessError, FileNotFoundError):
    print("python3-torch is not installed: run bash scripts/install-deps.sh --peer")
    sys.exit(1)
# INFLAB_PEER_QUICK: 3 + 2 leave-one-out retrains in (g) instead of 20 + 20
env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", INFLAB_PEER_QUICK="1")
with tempfile.TemporaryDirectory(prefix="inflab-peer-") as d:
    subprocess.run([bench, d, "1", "0"], check=True, env=env)
    subprocess.run(["/usr/bin/python3", os.path.join(root, "bench/peer/torch_bench.py"), d, "1", "0"], check=True, env=env)
    r = subprocess.run(["/usr/bin/python3", os.path.join(root, "bench/peer/compare.py"), d, "--numbers-only"], env=env)
    sys.exit(r.returncode)
