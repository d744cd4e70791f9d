"""torch.optim.LBFGS on inflab-bench-retrain's leave-one-out jobs (docs/performance.md,
"Retraining: Newton–CG against L-BFGS"): the same θ̂, rows, λ and tolerance, row i left out
for job i, one thread, float64. Run inflab-bench-retrain with THETA_DIR=D first: it writes
θ̂ (D/PROBLEM.npy) and the rows (D/PROBLEM_X.npy, _y, _Xtest, _ytest) it used.

usage: python3 torch_retrain.py D PROBLEM [JOBS=3] [TOL=1e-8] [MAX_ITERATIONS=40000]
  PROBLEM: iris (MLP 4-16-3), fmnist32 (784-32-10), mlp128 (784-128-64-10); tanh, λ = 1e-2
Per job: seconds, LBFGS iterations, evaluations, the final ‖∇R₋ᵢ‖₂, whether it reached the
tolerance, and Δ = the change of the first test row's loss (inflab's PER_JOB=1 lines print the
same Δ); then the totals.
"""
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_models import cross_entropy, lbfgs_to_tolerance, mlp, mlp_shapes  # noqa: E402

SIZES = {"iris": [4, 16, 3], "fmnist32": [784, 32, 10], "mlp128": [784, 128, 64, 10]}
LAMBDA = 1e-2  # inflab-bench-retrain's kLambda


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in SIZES:
        sys.exit("usage: torch_retrain.py DIR {%s} [JOBS] [TOL] [MAX_ITERATIONS]" % ",".join(SIZES))
    d, name = sys.argv[1], sys.argv[2]
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-8
    max_iterations = int(sys.argv[5]) if len(sys.argv) > 5 else 40000
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    def load(suffix):
        path = os.path.join(d, name + suffix + ".npy")
        if not os.path.exists(path):
            sys.exit("%s: not found (run inflab-bench-retrain with THETA_DIR=%s first)" % (path, d))
        return torch.from_numpy(np.load(path))

    theta_hat, X, y, Xt, yt = load(""), load("_X"), load("_y").long(), load("_Xtest"), load("_ytest").long()
    shapes = mlp_shapes(SIZES[name])
    if theta_hat.numel() != sum(int(np.prod(s)) for s in shapes):
        sys.exit("%s.npy has %d parameters, not the %s MLP's" % (name, theta_hat.numel(), name))
    if jobs > len(X):
        sys.exit("%d jobs for %d rows" % (jobs, len(X)))

    def test_loss(th):
        with torch.no_grad():
            z = mlp(th, Xt[:1], shapes)
            return float(cross_entropy(z, yt[:1]))

    base = test_loss(theta_hat)
    print("== %s: n = %d, p = %d, tol %.0e, %d leave-one-out jobs, torch %s, 1 thread" %
          (name, len(X), theta_hat.numel(), tol, jobs, torch.__version__), flush=True)
    seconds, iterations, converged = 0.0, 0, 0
    for i in range(jobs):
        keep = torch.cat([torch.arange(0, i), torch.arange(i + 1, len(X))])
        Xk, yk = X[keep], y[keep]

        def R(th):
            return cross_entropy(mlp(th, Xk, shapes), yk) + 0.5 * LAMBDA * (th * th).sum()

        fit = lbfgs_to_tolerance(R, theta_hat, tol, max_iter=2000, rounds=max(1, max_iterations // 2000))
        seconds += fit.seconds
        iterations += fit.iterations
        converged += fit.converged
        print("    job %d: torch LBFGS %6d iterations %7d evaluations  ‖∇R‖ %.2e %-13s %8.2f s  Δ %+.6e" %
              (i, fit.iterations, fit.evaluations, fit.grad_norm, "converged" if fit.converged else "NOT converged",
               fit.seconds, test_loss(fit.theta) - base), flush=True)
    print("  LOO by torch LBFGS %9.2f s  %7.2f s/job  %7.1f iterations/job  %d/%d converged" %
          (seconds, seconds / jobs, iterations / jobs, converged, jobs))


if __name__ == "__main__":
    main()
