"""What the PyTorch halves of the benchmarks share (torch_bench.py, torch_retrain.py):
inflab's flat θ layout, the tanh MLP, the loss, and torch.optim.LBFGS run to ‖∇R‖₂ ≤ tol."""
import time
from dataclasses import dataclass

import numpy as np
import torch


def unflatten(theta, shapes):
    out, k = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(theta[k:k + n].view(*s))
        k += n
    return out


def mlp_shapes(sizes):
    s = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        s += [(o, i), (o,)]  # PyTorch's Linear layout: weight [out, in], then bias (inflab's too)
    return s


def cross_entropy(z, t):
    # mean of logsumexp(z) − z[t], from basic ops (functorch has forward rules for these)
    return (torch.logsumexp(z, dim=1) - z.gather(1, t[:, None])[:, 0]).mean()


def mlp(theta, x, shapes):
    p = unflatten(theta, shapes)
    h = x
    for j in range(0, len(p) - 2, 2):
        h = torch.tanh(h @ p[j].T + p[j + 1])
    return h @ p[-2].T + p[-1]


@dataclass
class Fit:
    theta: torch.Tensor
    grad_norm: float
    converged: bool
    iterations: int   # LBFGS iterations
    evaluations: int  # objective and gradient evaluations (line search included)
    seconds: float


def lbfgs_to_tolerance(R, theta0, tol, max_iter=2000, rounds=20):
    """torch.optim.LBFGS (history 10, strong Wolfe) from θ₀ until ‖∇R‖₂ ≤ tol, at most
    rounds × max_iter iterations. LBFGS stops on max|g| ≤ tolerance_grad; the criterion here
    (and inflab's) is ‖g‖₂ ≤ tol: while it does not hold, tolerance_grad is lowered below
    max|g| and LBFGS steps on (its curvature pairs kept)."""
    start = time.perf_counter()
    th = theta0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([th], lr=1, max_iter=max_iter, history_size=10, line_search_fn="strong_wolfe",
                            tolerance_grad=tol, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = R(th)
        loss.backward()
        return loss

    converged = False
    for _ in range(rounds):
        opt.step(closure)
        g = torch.autograd.grad(R(th), th)[0]
        if g.norm() <= tol:
            converged = True
            break
        opt.param_groups[0]["tolerance_grad"] = 0.5 * float(g.abs().max())
    state = opt.state[th]
    return Fit(th.detach(), float(g.norm()), converged, int(state.get("n_iter", 0)), int(state.get("func_evals", 0)),
               time.perf_counter() - start)
