"""The Python module against exact identities and the library's own numbers (meson test python).
Each case asserts real values; the last line is a doctest-style summary for the test count."""
import math
import sys
import traceback
import warnings

import numpy as np

import inflab

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def raises(exc, fn, *words):
    try:
        fn()
    except exc as e:
        for w in words:
            assert w in str(e), f"{w!r} not in {e!s}"
        return
    raise AssertionError(f"no {exc.__name__}")


iris = inflab.Problem(hidden=[8], seed=0)
logreg = inflab.Problem(model="logreg", classes=[1, 2], weight_decay=0.01, grad_tol=1e-10)


@case
def derivatives_are_exact_identities():
    p, rng = iris, np.random.default_rng(1)
    v, V = rng.standard_normal(p.parameters), rng.standard_normal((3, p.parameters))
    H = p.hessian()
    assert H.shape == (p.parameters, p.parameters)
    assert np.abs(H - H.T).max() <= 1e-12 * np.abs(H).max()
    assert np.abs(p.hvp(v) - H @ v).max() <= 1e-12 * np.abs(H @ v).max()
    assert np.abs(p.hvp(V) - V @ H).max() <= 1e-12 * np.abs(V @ H).max()  # k directions in one sweep
    # the gradient against central differences of value() at a point away from θ̂
    th = p.theta + 0.1 * rng.standard_normal(p.parameters)
    g, h = p.gradient(th), 1e-6
    fd = np.array([(p.value(th + h * e) - p.value(th - h * e)) / (2 * h) for e in np.eye(p.parameters)[:12]])
    assert np.abs(g[:12] - fd).max() < 1e-7
    assert abs(np.linalg.norm(p.gradient()) - p.fit["grad_norm"]) < 1e-15 + 1e-9 * p.fit["grad_norm"]


@case
def check_reads_the_checkers():
    c = iris.check(theta=iris.theta + 0.05)
    assert c["gradient_error"] < 1e-6 and c["hvp_error"] < 1e-5 and c["symmetry"] < 1e-10
    assert abs(c["taylor_order1"] - 2) < 0.2 and abs(c["taylor_order2"] - 3) < 0.2
    assert len(c["eps"]) == len(c["remainder2"]) == 10


@case
def influence_rows_agree_and_keep_their_units():
    rows = [0, 5]
    ex = iris.influence(rows, method="exact", damping=0.001)
    cg = iris.influence(rows, method="cg", damping=0.001, tol=1e-12)
    assert ex["values"].shape == (2, iris.n_train) and ex["quantity"] == "predicted_loss_change"
    assert np.abs(ex["values"] - cg["values"]).max() <= 1e-7 * np.abs(ex["values"]).max()
    assert ex["solves"][0]["relative_residual"] < 1e-10 and ex["warnings"] == []
    # Δ̂ = (1/n) sᵀ∇ℓ̃ with s = (H + μI)⁻¹∇ℓ(z_t): the sum over rows is (1/n) sᵀ Σ∇ℓ̃ = sᵀ∇R(θ̂) ≈ 0 at θ̂
    assert abs(ex["values"].sum(axis=1)).max() < 1e-6 * np.abs(ex["values"]).sum()
    gc = iris.influence(rows, method="gradcos")
    assert gc["quantity"] == "gradient_cosine" and np.abs(gc["values"]).max() <= 1 + 1e-12
    names = [e["name"] for e in inflab.estimators()]
    assert names[:5] == ["exact", "cg", "minres", "lissa", "lowrank"] and "datainf" in names and "trak" in names


@case
def a_solve_that_cannot_be_trusted_is_a_warning_and_on_the_result():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = iris.influence([0], method="lowrank", rank=1)
    assert r["warnings"] and "relative residual" in r["warnings"][0]
    assert any(issubclass(x.category, RuntimeWarning) and "relative residual" in str(x.message) for x in w)


@case
def self_influence_is_positive_where_h_is_positive_definite():
    s = logreg.self_influence("exact")
    assert s.shape == (logreg.n_train,) and (s > 0).all()  # H positive definite: ∇ℓ̃ᵀH⁻¹∇ℓ̃ > 0


@case
def leave_one_out_on_a_convex_problem():
    t = logreg.test_rows("highest")[0]
    r = logreg.leave_one_out(t, top=8, retrain="newton", retrain_tol=1e-11)
    assert r["scores"]["n"] == 8 and r["retrains"]["converged"] == 8
    assert r["scores"]["pearson"] > 0.99
    assert set(r["status"]) == {"converged"}
    assert np.array_equal(r["predicted"], r["predicted_all"][r["rows"]])
    assert r["source_rows"][0] == logreg.source_row(r["rows"][0])


@case
def pytorch_computes_the_same_numbers_at_the_same_theta():
    try:
        import torch
    except ImportError:
        raise AssertionError("python3-torch is not installed: bash scripts/install-deps.sh --peer")
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    p = iris
    th = p.theta_from_torch(seq)
    X, y = p.train_data()
    Xt, yt, lam = torch.from_numpy(X), torch.from_numpy(y), p.weight_decay

    def R(flat):  # R(θ) = mean cross-entropy + λ/2 ‖θ‖², θ cut as inflab lays it out (PyTorch's state_dict order)
        W1, b1 = flat[:32].reshape(8, 4), flat[32:40]
        W2, b2 = flat[40:64].reshape(3, 8), flat[64:67]
        out = torch.tanh(Xt @ W1.T + b1) @ W2.T + b2
        return torch.nn.functional.cross_entropy(out, yt) + lam / 2 * (flat * flat).sum()

    t = torch.from_numpy(th).requires_grad_(True)
    assert abs(R(t).item() - p.value(th)) < 1e-14
    g = torch.autograd.grad(R(t), t)[0].numpy()
    assert np.abs(g - p.gradient(th)).max() < 1e-14
    v = np.random.default_rng(3).standard_normal(p.parameters)
    hv = torch.autograd.functional.hvp(R, torch.from_numpy(th), torch.from_numpy(v))[1].numpy()
    assert np.abs(hv - p.hvp(v, th)).max() <= 1e-12 * np.abs(hv).max()
    raises(ValueError, lambda: p.theta_from_torch(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8))), "BatchNorm1d")
    raises(ValueError, lambda: p.theta_from_torch(torch.nn.Sequential(torch.nn.Linear(4, 9), torch.nn.Tanh(), torch.nn.Linear(9, 3))),
           "0.weight [9, 4], this model's is 0.weight [8, 4]")


@case
def bad_input_is_a_value_error_naming_it():
    p, P = iris, iris.parameters
    raises(ValueError, lambda: p.hvp(np.ones(P, dtype=np.float32)), "v has dtype float32")
    raises(ValueError, lambda: p.hvp(np.ones(P + 1)), "v has shape [%d], expected [%d]" % (P + 1, P))
    raises(ValueError, lambda: p.hvp(np.ones((P, 2))[:, 0]), "v is not C-contiguous")
    raises(ValueError, lambda: p.value(np.full(P, math.nan)), "theta holds a non-finite value")
    raises(ValueError, lambda: p.influence([0], method="graddot", tol=1e-8), "tol does not apply to method 'graddot' (it sets cg, minres)")
    raises(ValueError, lambda: p.influence([0], method="cg", tol=0), "tol = 0 is never met")
    raises(ValueError, lambda: p.influence([0], method="nope"), "unknown estimator 'nope'")
    raises(ValueError, lambda: p.influence([10**6], method="exact"), "out of range")
    raises(ValueError, lambda: inflab.Problem(dataset="nope"), "unknown dataset 'nope'")
    raises(ValueError, lambda: inflab.Problem(n_train=3), "--n-train 3 leaves rows of 1 of the 3 classes")


failed = 0
for fn in CASES:
    try:
        fn()
        print("PASS", fn.__name__)
    except Exception:  # noqa: BLE001 — every failure is reported, then counted
        failed += 1
        print("FAIL", fn.__name__)
        traceback.print_exc()
print(f"[doctest] test cases: {len(CASES)} | {len(CASES) - failed} passed | {failed} failed | 0 skipped")
sys.exit(1 if failed else 0)
