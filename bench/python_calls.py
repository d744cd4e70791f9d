"""The overhead of inflab's Python calls over the C++ library calls they make, in one run.

    PYTHONPATH=build/release/python OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/python_calls.py [ROUNDS]

Loads build/release/bench/libinflab-bench-calls.so (the C++ half: bench/calls_bench.cpp) into
this process and times its calls and the same calls from Python on the same inputs, in ROUNDS
pairs (default 15) of C++ then Python back to back — one process, so both halves of a pair
share its allocator, libinflab and the machine's state; checks both computed the same numbers; prints seconds per call, the Python/C++ ratio
and the difference (the overhead per call), each the median over the pairs. Workloads, as bench-peer's:
  (b) Problem.hvp(v) and Problem.influence([0], "graddot"): MLP 4-16-16-3 on 120 rows (p = 403)
  (a) Problem.influence([0], "graddot") and ("cg", μ = 5, 10 iterations): MLP 784-128-64-10 on
      1000 Fashion-MNIST rows (p = 109 386); the data are in the Problem, not passed per call.
"""
import ctypes
import os
import sys
import tempfile
import time
import warnings

import numpy as np

import inflab

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.environ.get("INFLAB_BENCH_CALLS", os.path.join(ROOT, "build", "release", "bench", "libinflab-bench-calls.so"))


def per_call(f, calls, rounds):
    t = []
    for _ in range(rounds):
        a = time.perf_counter()
        for _ in range(calls):
            f()
        t.append((time.perf_counter() - a) / calls)
    return float(np.median(t))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    warnings.simplefilter("ignore", RuntimeWarning)  # (a)'s θ is the initialisation (not stationary); CG stops at 10
    lib = ctypes.CDLL(LIB)
    lib.calls_setup.argtypes, lib.calls_setup.restype = [ctypes.c_char_p], ctypes.c_int
    lib.calls_time.argtypes, lib.calls_time.restype = [ctypes.c_char_p, ctypes.c_size_t], ctypes.c_double
    with tempfile.TemporaryDirectory() as d:
        if lib.calls_setup(d.encode()) != 0:
            sys.exit(f"{LIB}: setup failed")

        def native(name, calls):
            return lib.calls_time(name.encode(), calls)

        ld = lambda n: np.load(os.path.join(d, n))
        Xb, yb = ld("in_X_b.npy"), ld("in_y_b.npy").astype(int)
        pb = inflab.Problem.from_arrays(Xb, yb, Xb[:10].copy(), yb[:10].copy(), model="mlp", hidden=[16, 16],
                                        weight_decay=1e-2, train=False)
        pb.theta = ld("in_theta_b.npy")
        v = ld("in_v_b.npy")
        pa = inflab.Problem.from_arrays(ld("in_X_a.npy"), ld("in_y_a.npy").astype(int), ld("in_X_a_test.npy"),
                                        ld("in_y_a_test.npy").astype(int), model="mlp", hidden=[128, 64],
                                        weight_decay=1e-2, train=False)
        pa.theta = ld("in_theta_a.npy")
        work = {"hvp_b": ("(b) hvp, MLP 4-16-16-3, n=120", 500, lambda: pb.hvp(v)),
                "graddot_b": ("(b) influence graddot, n=120", 200, lambda: pb.influence([0], "graddot").values),
                "graddot_a": ("(a) influence graddot, n=1000", 10, lambda: pa.influence([0], "graddot").values),
                "cg_a": ("(a) influence cg ×10, n=1000", 1,
                         lambda: pa.influence([0], "cg", damping=5, tol=1e-30, max_iterations=10).values)}
        # the same numbers as the C++ calls, or the timing compares different work
        for name, (_, _, f) in work.items():
            native(name, 1)
            ref = ld(f"out_{name}.npy")
            err = np.max(np.abs(f() - ref)) / np.max(np.abs(ref))
            if err > 1e-12:
                sys.exit(f"{name}: Python and C++ differ ({err:.1e} relative)")
        pairs = {name: [] for name in work}
        for r in range(rounds):  # C++ then Python, back to back, per workload
            for name, (_, calls, f) in work.items():
                pairs[name].append((native(name, calls), per_call(f, calls, 1)))
    print(f"{rounds} pairs per call (C++ then Python, back to back in one process, same inputs and results); medians")
    print(f"{'call':<34}{'C++':>12}{'Python':>12}{'ratio':>8}{'overhead':>12}")
    for name, (label, _, _) in work.items():
        c, p = np.array(pairs[name]).T
        unit, s = (1e6, "µs") if np.median(c) < 1e-2 else (1e3, "ms")
        print(f"{label:<34}{np.median(c) * unit:>9.2f} {s}{np.median(p) * unit:>9.2f} {s}"
              f"{np.median(p / c):>8.3f}{np.median(p - c) * 1e6:>9.1f} µs")


if __name__ == "__main__":
    main()
