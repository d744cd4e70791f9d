"""Side-by-side table of inflab against PyTorch from one work directory, and the check
that both computed the same numbers (relative difference ≤ 1e-8 for every workload and
every PyTorch variant; 1e-4 and 1e-2 for the retrained losses of (g), see TOL_RETRAIN). Exit
status 1 if any differs or is missing.

usage: python3 compare.py DIR [--numbers-only]
"""
import glob
import json
import os
import sys

import numpy as np

DIR = sys.argv[1]
numbers_only = "--numbers-only" in sys.argv
TOL = 1e-8
# (g) stops each retrain at ‖∇R₋ᵢ‖ ≤ tol, not at a minimum, so the two sides' retrained θ
# differ by about ‖∇R‖/λmin(∇²R₋ᵢ) each — which has no useful a-priori bound for a tanh MLP
# (λmin may be far below λ). The tolerances are empirical: the observed relative differences
# (1.4e-6 at tol 1e-7, 1.1e-3 at tol 1e-4) with some margin.
TOL_RETRAIN = {"g1_loo": 1e-4, "g2_loo": 1e-2}
GEMM_HEAVY = {"a_grad", "a_hvp", "c_grad", "c_hvp", "d_epoch", "e_influence", "f_cg"}
LABELS = {
    "a_grad": "(a) MLP 784-128-64-10, n=1000: value_and_grad",
    "a_hvp": "(a) one HVP",
    "b_grad": "(b) MLP 4-16-16-3, n=120: value_and_grad",
    "b_hvp": "(b) one HVP",
    "b_hessian": "(b) dense Hessian (403 × 403)",
    "c_grad": "(c) small CNN, batch 64: gradient",
    "c_hvp": "(c) one HVP",
    "d_epoch": "(d) one SGD epoch of (a), 5000 rows, batch 128",
    "e_influence": "(e) sᵀ∇ℓ̃ᵢ for all 5000 rows",
    "f_cg": "(f) 50 CG iterations on (a), H + μI",
    "g1_loo": "(g1) leave-one-out retraining, Iris MLP 4-16-3",
    "g2_loo": "(g2) leave-one-out retraining, 1000-row Fashion-MNIST MLP 784-32-10",
}
CONSTANTS = json.load(open(os.path.join(DIR, "in_constants.json")))
JOBS = {"g1_loo": CONSTANTS.get("loo_jobs_g1"), "g2_loo": CONSTANTS.get("loo_jobs_g2")}


def rel_diff(a, b):
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-300))


failures = []
checked = 0
for f in sorted(glob.glob(os.path.join(DIR, "torch_*__*.npy"))):
    name = os.path.basename(f)[len("torch_"):].split("__")[0]
    variant = os.path.basename(f).split("__")[1][:-4]
    mine = os.path.join(DIR, "inflab_%s.npy" % name)
    if not os.path.exists(mine):
        failures.append("%s: inflab wrote no result" % name)
        continue
    a, b = np.load(mine), np.load(f)
    if a.shape != b.shape:
        failures.append("%s (%s): shapes %s vs %s" % (name, variant, a.shape, b.shape))
        continue
    d = rel_diff(a, b)
    tol = TOL_RETRAIN.get(name, TOL)
    checked += 1
    status = "ok" if d <= tol else "DIFFERS"
    print("same numbers? %-12s %-34s relative difference %.1e  %s" % (name, variant, d, status))
    if d > tol:
        failures.append("%s (%s): relative difference %.2e > %g" % (name, variant, d, tol))
if checked == 0:
    failures.append("no PyTorch results in %s" % DIR)
# a workload inflab computed but no PyTorch variant did (e.g. its L-BFGS never met the tolerance)
compared = {os.path.basename(f)[len("torch_"):].split("__")[0] for f in glob.glob(os.path.join(DIR, "torch_*__*.npy"))}
for f in sorted(glob.glob(os.path.join(DIR, "inflab_*.npy"))):
    name = os.path.basename(f)[len("inflab_"):-4]
    if name not in compared:
        failures.append("%s: no PyTorch variant produced a result to compare" % name)

if not numbers_only:
    for path in sorted(glob.glob(os.path.join(DIR, "inflab_*.json"))):
        mine = json.load(open(path))
        t = mine["threads"]
        tp = os.path.join(DIR, "torch_%d.json" % t)
        if not os.path.exists(tp):
            continue
        peer = json.load(open(tp))
        peak = mine["dgemm_gflops"]
        print("\n%d thread%s; OpenBLAS dgemm (1000³): %.1f GFLOP/s; PyTorch %s" % (t, "s" if t > 1 else "", peak, peer["torch"]))
        # limit: the GEMM flops inflab ran, at dgemm's 1000³ rate of the same run — the time
        # this workload would take if it were nothing but large GEMMs
        print("| workload | inflab (ms) | PyTorch (ms) | PyTorch variant | ratio inflab/PyTorch | inflab GEMM GFLOP/s | % of dgemm | GEMM limit (ms) | inflab / limit |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, w in mine["workloads"].items():
            variants = {k: v for k, v in peer["workloads"].get(name, {}).items() if "seconds" in v}
            if not variants:
                continue
            best = min(variants, key=lambda k: variants[k]["seconds"])
            ts = variants[best]["seconds"]
            gf = w["gemm_flops"] / w["seconds"] / 1e9
            heavy = name in GEMM_HEAVY
            limit = w["gemm_flops"] / (peak * 1e9)
            label = LABELS.get(name, name)
            if name in JOBS and JOBS[name]:
                label += ", %d retrains (jobs/s: inflab %.2f, PyTorch %.2f)" % (JOBS[name], JOBS[name] / w["seconds"], JOBS[name] / ts)
            print("| %s | %.3f | %.3f | %s | %.2f | %s | %s | %s | %s |" % (
                label, 1e3 * w["seconds"], 1e3 * ts, best, w["seconds"] / ts,
                "%.1f" % gf if heavy else "—", "%.0f%%" % (100 * gf / peak) if heavy else "—",
                "%.3f" % (1e3 * limit) if heavy else "—", "%.2f" % (w["seconds"] / limit) if heavy else "—"))
        others = [(n, k, v) for n, vs in peer["workloads"].items() for k, v in vs.items()]
        extra = ["%s %s: %s" % (n, k, "%.3f ms" % (1e3 * v["seconds"]) if "seconds" in v else v["error"]) for n, k, v in others]
        print("PyTorch, every variant: " + "; ".join(extra))

if failures:
    print("\nFAILED: " + "; ".join(failures))
    sys.exit(1)
print("\nall %d results agree with PyTorch: to %g, the retrained losses of (g) to %s" % (checked, TOL, ", ".join("%g" % v for v in TOL_RETRAIN.values())))
