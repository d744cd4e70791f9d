"""Derivatives from Python: exact identities, finite differences, and PyTorch on the same model
and θ (an MLP, a CNN, softmax regression) to machine precision."""
import numpy as np
import pytest
import torch
from torch.nn.utils.stateless import functional_call

import inflab


def test_exact_identities(iris, rng):
    p = iris
    v, V = rng.standard_normal(p.parameters), rng.standard_normal((3, p.parameters))
    H = p.hessian()
    assert H.shape == (p.parameters, p.parameters)
    assert np.abs(H - H.T).max() <= 1e-12 * np.abs(H).max()
    assert np.abs(p.hvp(v) - H @ v).max() <= 1e-12 * np.abs(H @ v).max()
    assert np.abs(p.hvp(V) - V @ H).max() <= 1e-12 * np.abs(V @ H).max()  # k directions in one sweep
    th = p.theta + 0.1 * rng.standard_normal(p.parameters)
    g, h = p.gradient(th), 1e-6
    fd = np.array([(p.value(th + h * e) - p.value(th - h * e)) / (2 * h) for e in np.eye(p.parameters)[:12]])
    assert np.abs(g[:12] - fd).max() < 1e-7
    assert abs(np.linalg.norm(p.gradient()) - p.fit.grad_norm) < 1e-15 + 1e-9 * p.fit.grad_norm


def test_per_example_gradients_and_jvp(iris, rng):
    p = iris
    G = p.per_example_gradients()
    assert G.shape == (p.n_train, p.parameters)
    assert np.abs(G.mean(axis=0) - p.gradient()).max() < 1e-15 + 1e-12 * np.abs(G).max()  # mean of ∇ℓ̃(zᵢ) is ∇R
    Gt = p.per_example_gradients("test", rows=[0, 3])
    assert np.abs(Gt[1] - (p.per_example_gradients("test")[3])).max() == 0
    # ∇ℓ (test rows, no regulariser) against central differences of that row's loss
    e, h = np.eye(p.parameters)[:10], 1e-6
    fd = [(p.losses("test", [3], p.theta + h * d)[0] - p.losses("test", [3], p.theta - h * d)[0]) / (2 * h) for d in e]
    assert np.abs(Gt[1][:10] - fd).max() < 1e-8
    v = rng.standard_normal(p.parameters)
    J = p.jvp(v)
    assert J.shape == (p.n_train, 3)
    fd = (p.outputs(theta=p.theta + h * v) - p.outputs(theta=p.theta - h * v)) / (2 * h)
    assert np.abs(J - fd).max() < 1e-7
    assert np.abs(p.jvp(np.stack([v, 2 * v]))[1] - 2 * J).max() < 1e-12 * np.abs(J).max()


def test_check_gives_verdicts(iris):
    c = iris.check(theta=iris.theta + 0.05)
    assert c.passed and [x["verdict"] for x in c.checks] == ["PASS"] * 5
    assert abs(c.checks[3]["value"] - 2) < 0.2 and abs(c.checks[4]["value"] - 3) < 0.2
    assert len(c.eps) == len(c.remainder2) == 10
    assert list(c.to_pandas().columns) == ["name", "value", "bound", "verdict", "why"]


def torch_objective(seq, X, y, lam, loss="cross_entropy"):
    """R(θ) of a torch module at a flat θ cut in state_dict order (inflab's layout)."""
    names = [(k, v.shape) for k, v in seq.state_dict().items()]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def R(flat):
        params, at = {}, 0
        for k, shape in names:
            size = int(np.prod(shape))
            params[k] = flat[at:at + size].reshape(shape)
            at += size
        out = functional_call(seq, params, (Xt,))
        l = torch.nn.functional.cross_entropy(out, yt) if loss == "cross_entropy" else \
            torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], yt.double())
        return l + lam / 2 * (flat * flat).sum()
    return R


def cnn_data(rng):
    return rng.standard_normal((24, 1, 6, 6)), rng.integers(0, 3, 24)


MODELS = {
    "mlp": lambda: torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)),
    "softmax": lambda: torch.nn.Sequential(torch.nn.Linear(4, 3)),
    "cnn": lambda: torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Softplus(), torch.nn.MaxPool2d(2),
                                       torch.nn.Flatten(), torch.nn.Linear(18, 3)),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_pytorch_computes_the_same_numbers(kind, iris, rng):
    torch.manual_seed(0)
    seq = MODELS[kind]().double()
    X, y = cnn_data(rng) if kind == "cnn" else iris.data()
    lam = 1e-3
    p = inflab.from_torch(seq, X, y, weight_decay=lam)
    th = p.theta
    flat = torch.cat([v.reshape(-1) for v in seq.state_dict().values()])
    assert np.array_equal(th, flat.numpy())  # the same θ, in the same layout
    R = torch_objective(seq, X, y, lam)
    t = torch.from_numpy(th).requires_grad_(True)
    assert abs(R(t).item() - p.value()) < 1e-14
    g = torch.autograd.grad(R(t), t)[0].numpy()
    assert np.abs(g - p.gradient()).max() < 1e-14
    v = rng.standard_normal(p.parameters)
    hv = torch.autograd.functional.hvp(R, torch.from_numpy(th), torch.from_numpy(v))[1].numpy()
    assert np.abs(hv - p.hvp(v)).max() <= 1e-12 * np.abs(hv).max()
    if kind != "cnn":
        H = torch.autograd.functional.hessian(R, torch.from_numpy(th)).numpy()
        assert np.abs(H - p.hessian()).max() <= 1e-12 * np.abs(H).max()


def test_from_torch_refuses_what_inflab_does_not_have(iris):
    X, y = iris.data()
    with pytest.raises(ValueError, match="BatchNorm1d, a layer inflab does not have"):
        inflab.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8)), X, y)
    with pytest.raises(ValueError, match="GELU"):
        inflab.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.GELU(approximate="tanh")), X, y)
    with pytest.raises(ValueError, match="0.weight \\[9, 4\\], this model's is 0.weight \\[8, 4\\]"):
        iris.theta_from_torch(torch.nn.Sequential(torch.nn.Linear(4, 9), torch.nn.Tanh(), torch.nn.Linear(9, 3)))
    with pytest.raises(ValueError, match="y\\[.*\\] = 3 is not a class of the model's 3 outputs"):
        inflab.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 3)), X, np.where(y == 2, 3, y))


def test_training_with_every_optimizer(iris):
    X, y = iris.data()
    for opt, kw in [("lbfgs", {}), ("newton", {"grad_tol": 1e-10}), ("adam", {"epochs": 30, "lr": 0.01}),
                    ("sgd", {"epochs": 30, "lr": 0.1, "momentum": 0.9})]:
        p = inflab.Problem.from_arrays(X, y, hidden=[8], weight_decay=1e-3, train=False)
        r0 = p.value()
        f = p.train(opt, **kw)
        assert f.optimizer == opt and p.value() < r0 and f.loss == p.value()
        if opt in ("lbfgs", "newton"):
            assert f.converged and f.grad_norm <= kw.get("grad_tol", 1e-8)
        else:
            assert len(f.history_loss) == 30 and f.steps == 30
    with pytest.raises(ValueError, match="grad_tol must be > 0"):
        p.train("lbfgs", grad_tol=0)


def test_dataset_is_the_problems_data_with_its_source_rows():
    d = inflab.dataset(dataset="iris", seed=0)
    p = inflab.Problem(dataset="iris", seed=0)
    X, y = p.data("train")
    assert d.X_train.shape == (120, 4) and d.X_test.shape == (30, 4) and d.class_names == ["setosa", "versicolor", "virginica"]
    assert np.array_equal(d.X_train, X) and np.array_equal(d.y_train, y)
    assert np.array_equal(d.source_rows_train, p.source_rows("train")) and np.array_equal(d.source_rows_test, p.source_rows("test"))
    rows = np.concatenate([d.source_rows_train, d.source_rows_test])
    assert sorted(rows) == list(range(150))  # every row of the file once, in one split
    assert abs(d.X_train.mean()) < 1e-12  # standardised on the training rows
    with pytest.raises(ValueError, match="^n_train 1000: 'iris/train' has only 120 rows"):  # spelled as Python passes it
        inflab.dataset(dataset="iris", n_train=1000)
