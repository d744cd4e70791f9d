"""The PyTorch half of the side-by-side benchmark (see bench/peer_bench.cpp for the
workloads). Reads the inputs inflab wrote (in_*.npy), runs the same computations in
float64 with PyTorch (CPU), saves what it computed (torch_<workload>.npy) and the median
times (torch_<threads>.json).

usage: python3 torch_bench.py DIR THREADS [BUDGET_SECONDS]

PyTorch variants, each timed; compare.py takes the fastest as "PyTorch":
  HVP: double backward (grad of gᵀv, reusing nothing) and functorch's jvp(grad(f))
       (forward-over-reverse). functorch 0.2 (PyTorch 1.13) has no forward-mode rule for
       nll_loss, so the loss is written from basic ops (logsumexp, gather) in every variant.
  Hessian: torch.autograd.functional.hessian (the plain call, and vectorize=True).
  per-example dots: a loop of backward passes (functorch vmap(grad) with PEER_VMAP=1: it
  did not finish a 5000-row pass in 5 minutes on the benchmark machine).
  leave-one-out (g): torch.optim.LBFGS (history 10, strong Wolfe, float64) run until
  ‖∇R₋ᵢ‖₂ ≤ tol, jobs one after another; with 2 threads also two worker processes of one
  thread each (started before timing), as inflab runs two jobs at once.
"""
import json
import multiprocessing
import os
import sys
import time

threads = int(sys.argv[2])
os.environ.setdefault("OMP_NUM_THREADS", str(threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_models import cross_entropy, lbfgs_to_tolerance, mlp, mlp_shapes, unflatten  # noqa: E402

try:
    import functorch  # noqa: E402
except ImportError:  # pragma: no cover
    functorch = None

torch.set_num_threads(threads)
torch.set_default_dtype(torch.float64)
DIR = sys.argv[1]
BUDGET = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0


def load(name):
    return torch.from_numpy(np.load(os.path.join(DIR, "in_" + name + ".npy")))


C = json.load(open(os.path.join(DIR, "in_constants.json")))
LAM, MU, LR = C["lambda"], C["damping"], C["lr"]
X, y = load("X"), load("y").long()
Xb, yb = load("X_b"), load("y_b").long()
Xc = load("X_c")
yc = y[: C["batch_c"]]
Xa, ya = X[: C["batch_a"]], y[: C["batch_a"]]
th_a, th_b, th_c = load("theta_a"), load("theta_b"), load("theta_c")
v_a, v_b, v_c = load("v_a"), load("v_b"), load("v_c")
order = load("order").long()
Xg1, yg1, th_g1, th_g2 = load("X_g1"), load("y_g1").long(), load("theta_g1"), load("theta_g2")


A_SHAPES = mlp_shapes([784, 128, 64, 10])
B_SHAPES = mlp_shapes([4, 16, 16, 3])
C_SHAPES = [(8, 1, 5, 5), (8,), (16, 8, 5, 5), (16,), (64, 16 * 7 * 7), (64,), (10, 64), (10,)]


def cnn(theta, x):
    w1, b1, w2, b2, w3, b3, w4, b4 = unflatten(theta, C_SHAPES)
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=2)), 2)
    h = F.relu(h.flatten(1) @ w3.T + b3)
    return h @ w4.T + b4


def objective(model, x, t):
    return lambda th: cross_entropy(model(th, x), t) + 0.5 * LAM * (th * th).sum()


Ra = objective(lambda th, x: mlp(th, x, A_SHAPES), Xa, ya)
Rb = objective(lambda th, x: mlp(th, x, B_SHAPES), Xb, yb)
Rc = objective(cnn, Xc, yc)


def grad(R, th):
    th = th.clone().requires_grad_(True)
    return torch.autograd.grad(R(th), th)[0]


def hvp_double_backward(R, th, v):
    th = th.clone().requires_grad_(True)
    g = torch.autograd.grad(R(th), th, create_graph=True)[0]
    return torch.autograd.grad(g, th, v)[0]


def hvp_functorch(R, th, v):
    return functorch.jvp(functorch.grad(R), (th,), (v,))[1]


def hessian_plain(R, th):
    return torch.autograd.functional.hessian(R, th)


def hessian_vectorized(R, th):
    return torch.autograd.functional.hessian(R, th, vectorize=True)


def sgd_epoch():
    th = th_a.clone()
    b = C["epoch_batch"]
    for k in range(0, len(order), b):
        rows = order[k:k + b]
        Rk = objective(lambda t, x: mlp(t, x, A_SHAPES), X[rows], y[rows])
        th.requires_grad_(True)
        g = torch.autograd.grad(Rk(th), th)[0]
        with torch.no_grad():
            th = th - LR * g
    return th.detach()


def per_example_loss(th, x, t):
    # ℓ̃(z; θ) = ℓ(z; θ) + (λ/2)‖θ‖² for one example
    return cross_entropy(mlp(th, x[None], A_SHAPES), t[None]) + 0.5 * LAM * (th * th).sum()


def influence_loop():
    th = th_a.clone().requires_grad_(True)
    out = torch.empty(len(X))
    for i in range(len(X)):
        g = torch.autograd.grad(per_example_loss(th, X[i], y[i]), th)[0]
        out[i] = g @ v_a
    return out


def influence_vmap():
    g = functorch.vmap(functorch.grad(per_example_loss), in_dims=(None, 0, 0))
    out = []
    for k in range(0, len(X), C["batch_a"]):  # 1000 rows at a time, like inflab
        out.append(g(th_a, X[k:k + C["batch_a"]], y[k:k + C["batch_a"]]) @ v_a)
    return torch.cat(out)


def cg():
    th = th_a.clone().requires_grad_(True)
    g = torch.autograd.grad(Ra(th), th, create_graph=True)[0]  # recorded once, reused by every product

    def A(p):
        return torch.autograd.grad(g, th, p, retain_graph=True)[0] + MU * p

    x = torch.zeros_like(v_a)
    r = v_a.clone()
    p = r.clone()
    rr = r @ r
    for _ in range(C["cg_iterations"]):
        Ap = A(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x.detach()


G1_SHAPES = mlp_shapes([4, 16, 3])
G2_SHAPES = mlp_shapes([784, 32, 10])


def loo_setup(name):
    """(train X, y, test X, y, θ̂, shapes, tol, jobs) of workload g1 or g2."""
    t = C["loo_test_rows"]
    if name == "g1_loo":  # Iris: the test rows are its first rows (no held-out set)
        return Xg1, yg1, Xg1[:t], yg1[:t], th_g1, G1_SHAPES, C["loo_tol_g1"], C["loo_jobs_g1"]
    n = C["loo_rows_g2"]
    return X[:n], y[:n], X[n:n + t], y[n:n + t], th_g2, G2_SHAPES, C["loo_tol_g2"], C["loo_jobs_g2"]


def loo_job(name, i):
    """Retrain without row i from θ̂ to ‖∇R₋ᵢ‖ ≤ tol; the retrained losses of the test rows."""
    Xt, yt, Xs, ys, th_hat, shapes, tol, _ = loo_setup(name)
    keep = torch.cat([torch.arange(0, i), torch.arange(i + 1, len(Xt))])
    Xk, yk = Xt[keep], yt[keep]
    R = objective(lambda t, x: mlp(t, x, shapes), Xk, yk)
    fit = lbfgs_to_tolerance(R, th_hat, tol)  # at most 20 × 2000 iterations, then the variant fails
    if not fit.converged:
        raise RuntimeError("LBFGS did not reach ‖∇R‖ ≤ %g on job %d: %.3g" % (tol, i, fit.grad_norm))
    th = fit.theta
    with torch.no_grad():
        z = mlp(th, Xs, shapes)
        return (torch.logsumexp(z, dim=1) - z.gather(1, ys[:, None])[:, 0]).numpy()


def loo_worker(args):
    torch.set_num_threads(1)
    return loo_job(*args)


def loo_sequential(name):
    return torch.from_numpy(np.stack([loo_job(name, i) for i in range(loo_setup(name)[-1])]))


POOL = None


def loo_processes(name):
    return torch.from_numpy(np.stack(POOL.map(loo_worker, [(name, i) for i in range(loo_setup(name)[-1])], chunksize=1)))


def median_seconds(f, budget):
    a = time.perf_counter()
    f()  # warm-up
    if time.perf_counter() - a > 1.0:
        budget = 0  # a variant that takes seconds: one timed run after the warm-up
    t, start = [], time.perf_counter()
    while True:
        a = time.perf_counter()
        f()
        t.append(time.perf_counter() - a)
        if len(t) >= (3 if budget > 0 else 1) and (time.perf_counter() - start >= budget or len(t) >= 200):
            break
    return sorted(t)[len(t) // 2]


WORKLOADS = {
    "a_grad": {"backward": lambda: grad(Ra, th_a)},
    "a_hvp": {"double backward": lambda: hvp_double_backward(Ra, th_a, v_a),
              "functorch jvp(grad)": lambda: hvp_functorch(Ra, th_a, v_a)},
    "b_grad": {"backward": lambda: grad(Rb, th_b)},
    "b_hvp": {"double backward": lambda: hvp_double_backward(Rb, th_b, v_b),
              "functorch jvp(grad)": lambda: hvp_functorch(Rb, th_b, v_b)},
    "b_hessian": {"autograd.functional.hessian": lambda: hessian_plain(Rb, th_b),
                  "hessian(vectorize=True)": lambda: hessian_vectorized(Rb, th_b)},
    "c_grad": {"backward": lambda: grad(Rc, th_c)},
    "c_hvp": {"double backward": lambda: hvp_double_backward(Rc, th_c, v_c),
              "functorch jvp(grad)": lambda: hvp_functorch(Rc, th_c, v_c)},
    "d_epoch": {"SGD loop": sgd_epoch},
    "e_influence": {"backward per example": influence_loop, "functorch vmap(grad)": influence_vmap},
    "f_cg": {"CG, double-backward products": cg},
    "g1_loo": {"LBFGS, jobs in turn": lambda: loo_sequential("g1_loo")},
    "g2_loo": {"LBFGS, jobs in turn": lambda: loo_sequential("g2_loo")},
}
if threads > 1:
    for _name in ("g1_loo", "g2_loo"):
        WORKLOADS[_name]["LBFGS, %d processes" % threads] = (lambda n: lambda: loo_processes(n))(_name)

if __name__ == "__main__":
    only = os.environ.get("PEER_ONLY", "").split(",") if os.environ.get("PEER_ONLY") else None
    result = {"threads": threads, "torch": torch.__version__, "workloads": {}}
    if threads > 1 and (not only or any(n.startswith("g") for n in only)):
        # worker processes for (g), started (and their imports done) before timing
        POOL = multiprocessing.get_context("spawn").Pool(threads)
        POOL.map(abs, range(threads))
    for name, variants in WORKLOADS.items():
        if only and name not in only:
            continue
        result["workloads"][name] = {}
        for label, f in variants.items():
            if functorch is None and "functorch" in label:
                continue
            # vmap(grad) materialises 1000 per-example gradients of 110k parameters per
            # chunk; one 5000-row pass did not finish in 5 minutes here: opt-in only
            if "vmap" in label and os.environ.get("PEER_VMAP") != "1":
                continue
            budget = BUDGET
            try:
                a = time.perf_counter()
                out = f()
                first = time.perf_counter() - a
                np.save(os.path.join(DIR, "torch_%s__%s.npy" % (name, label.replace(" ", "_").replace("/", "_"))), out.detach().numpy())
                # a variant that takes more than a few seconds, or retrains (g), is timed by this one run
                s = first if first > 3.0 or name.startswith("g") else median_seconds(f, budget)
                result["workloads"][name][label] = {"seconds": s}
                print("  torch  %-12s %-32s %10.3f ms" % (name, label, 1e3 * s), file=sys.stderr)
            except Exception as e:  # a variant PyTorch cannot run: recorded, not fatal
                result["workloads"][name][label] = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200])}
                print("  torch  %-12s %-32s failed: %s" % (name, label, e), file=sys.stderr)
    with open(os.path.join(DIR, "torch_%d.json" % threads), "w") as fh:
        json.dump(result, fh, indent=1)
    if POOL is not None:
        POOL.close()
