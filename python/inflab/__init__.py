"""inflab from Python: influence functions on small networks, with exact derivatives.

    import inflab
    p = inflab.Problem(dataset="iris", hidden=[16], weight_decay=1e-3)   # θ̂ trained to ‖∇R‖ ≤ 1e-8
    r = p.influence(p.test_rows("highest"), method="cg", damping=1e-3)
    r.values        # [m, n]: Δ̂ — the predicted change of test row j's loss when training row i is removed

docs/python.md is the reference: θ's layout, the sign and units of every estimator, settings,
errors and warnings. Arrays are numpy float64; a bad one is a ValueError naming it. Long
calls stop on Ctrl-C with KeyboardInterrupt (a retraining journal keeps finished jobs).
"""
import json as _json
import os as _os
import sys as _sys
import sysconfig as _sysconfig

# installed by pip, the bundled tables (Iris, …) are in the environment's data directory (the
# wheel's data/inflab: <prefix>/inflab): tell the library, unless INFLAB_DATA says otherwise (a
# build tree or `meson install` finds its own)
if "INFLAB_DATA" not in _os.environ:
    for _d in (_os.path.join(_sysconfig.get_path("data"), "inflab"), _os.path.join(_sys.prefix, "inflab")):
        if _os.path.isfile(_os.path.join(_d, "iris.csv")):
            _os.environ["INFLAB_DATA"] = _d
            break

from . import _core
from .pytorch import describe as _describe, model_json as _model_json
from .results import Result

__all__ = ["Problem", "Result", "dataset", "from_torch", "estimators", "fragility", "mlp_json"]

# the Problem methods that return a plain array or number, passed through unchanged
_PLAIN = ("value", "gradient", "hvp", "hessian", "outputs", "jvp", "losses", "per_example_gradients", "self_influence",
          "test_rows", "data", "source_row", "source_rows", "theta_from_torch")


class Problem:
    """A dataset, a model and θ̂, with R(θ) = mean ℓ + λ/2 ‖θ‖² (docs/conventions.md).

    Problem(**spec) builds it as the CLI does (the same keys as problem.json: dataset, model,
    hidden, activation, weight_decay, optimizer, grad_tol, n_train, n_test, classes, seed, …)
    and trains θ̂ to the tolerance. Problem.from_arrays and inflab.from_torch build one from
    your own data and model."""

    def __init__(self, **spec):
        self._p = _core.Problem(**spec)

    @classmethod
    def _wrap(cls, core):
        self = cls.__new__(cls)
        self._p = core
        return self

    @classmethod
    def from_arrays(cls, X, y, X_test=None, y_test=None, *, model="mlp", hidden=(16,), activation="tanh", loss="cross_entropy",
                    weight_decay=1e-3, seed=0, train=True, **train_options):
        """Your data: X [n, features] float64, y integer labels (or float targets with loss="mse").
        model: "mlp" (hidden widths, activation), "softmax" (one Linear layer), or a model JSON
        (mlp_json, inflab.pytorch.model_json). θ starts at the seeded initialisation and, with
        train=True, is trained as train(**train_options) does (L-BFGS to ‖∇R‖ ≤ 1e-8 by default)."""
        import numpy as np
        Xa = np.asarray(X)
        if model in ("mlp", "softmax"):
            outputs = 1 if loss == "binary_logistic" else (int(np.max(y)) + 1 if loss != "mse" else (1 if np.ndim(y) == 1 else np.shape(y)[1]))
            widths = list(hidden) if model == "mlp" else []
            desc = f"MLP {'-'.join(str(w) for w in [int(np.prod(Xa.shape[1:]))] + widths + [outputs])} ({activation})" if widths else \
                f"softmax regression {int(np.prod(Xa.shape[1:]))}→{outputs}"
            model = mlp_json(int(np.prod(Xa.shape[1:])), widths, activation, outputs, flatten=Xa.ndim > 2)
        else:
            desc = "own model"
        self = cls._wrap(_core.Problem.from_model(model, desc, loss, weight_decay, X, y, X_test, y_test, seed))
        if train:
            self.train(**train_options)
        return self

    # ---- state
    @property
    def theta(self):
        """θ̂ [p], a copy; layout: parameter_table (PyTorch's state_dict order). Setting it makes that θ̂."""
        return self._p.theta

    @theta.setter
    def theta(self, value):
        self._p.theta = value

    def __getattr__(self, name):  # properties and plain methods of the core problem
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._p, name)

    def __dir__(self):
        return sorted(set(dir(type(self)) + [n for n in dir(self._p) if not n.startswith("_")]))

    def __repr__(self):
        f = self._p.fit
        return (f"<inflab.Problem {self._p.description}: n_train={self._p.n_train}, n_test={self._p.n_test}, "
                f"p={self._p.parameters}, λ={self._p.weight_decay:g}, θ̂ {f['optimizer']} ‖∇R‖={f['grad_norm']:.2e}>")

    @property
    def fit(self):
        """How θ̂ was reached: optimizer, steps, R(θ̂), ‖∇R(θ̂)‖, converged, stationary, and the history."""
        return Result("fit", self._p.fit, ("history_loss", "history_grad_norm", "history_accuracy"))

    # ---- training and derivatives
    def train(self, optimizer="lbfgs", grad_tol=1e-8, **options):
        """Trains θ from theta0 (default: the current θ) and makes the result θ̂. optimizer: lbfgs
        or newton (to grad_tol), sgd or adam (epochs, lr, batch_size, momentum for sgd)."""
        return Result("fit", self._p.train(optimizer, grad_tol, **options), ("history_loss", "history_grad_norm", "history_accuracy"))

    def check(self, theta=None, seed=0):
        """The derivative checks of `inflab check`: gradient and HVP against finite differences,
        symmetry, Taylor orders; each PASS, FAIL or INCONCLUSIVE with why (r.passed: none failed)."""
        return Result("check", self._p.check(theta, seed), ())

    # ---- influence and its ground truth
    def influence(self, test_rows, method="exact", **settings):
        """Δ̂ [m, n] of any estimator (inflab.estimators()) with its solves and warnings."""
        if isinstance(test_rows, int):
            test_rows = [test_rows]
        return Result("influence", self._p.influence(list(test_rows), method, **settings), ())

    def leave_one_out(self, test_row, top=20, method="exact", **options):
        """Δ̂ against leave-one-out retraining of the `top` rows by |Δ̂| (inflab validate)."""
        return Result("leave_one_out", self._p.leave_one_out(test_row, top, method, **options),
                      ("rows", "source_rows", "predicted", "actual", "status", "retrain_grad_norm", "lambda_min"))

    def lds(self, test_row, subsets=20, alpha=0.5, method="exact", **options):
        """The linear datamodeling score against retraining on random subsets (inflab lds)."""
        return Result("lds", self._p.lds(test_row, subsets, alpha, method, **options), ("predicted", "actual", "status"))

    def groups(self, test_row, fraction=0.1, kind="random", count=10, **options):
        """First- and second-order group influence against group retraining (inflab group)."""
        return Result("groups", self._p.groups(test_row, fraction, kind, count, **options),
                      ("first_order", "second_order", "newton", "actual", "status"))

    def benchmark(self, estimators, **options):
        """The attribution benchmark (inflab benchmark): every estimator against LOO and LDS."""
        return Result("benchmark", self._p.benchmark(list(estimators), **options), ())


for _name in _PLAIN:
    def _make(name):
        def call(self, *args, **kwargs):
            return getattr(self._p, name)(*args, **kwargs)
        call.__name__ = name
        return call
    setattr(Problem, _name, _make(_name))


def mlp_json(inputs, hidden, activation, outputs, flatten=False):
    """The model JSON of an MLP: Linear/activation pairs, then a Linear head (hidden=[]: softmax regression)."""
    layers = [{"kind": "Flatten"}] if flatten else []
    d = inputs
    for w in hidden:
        layers += [{"kind": "Linear", "in": d, "out": w, "bias": True}, {"kind": "Activation", "activation": activation}]
        d = w
    layers.append({"kind": "Linear", "in": d, "out": outputs, "bias": True})
    return _json.dumps({"kind": "Sequential", "layers": layers})


def from_torch(module, X, y, X_test=None, y_test=None, loss="cross_entropy", weight_decay=0.0):
    """A Problem whose model is a torch.nn.Sequential of inflab's layers and whose θ̂ is its weights
    (the same θ: check PyTorch's numbers against inflab's). θ̂ is as given — train() to a tolerance
    before reading influence, which assumes a stationary point (influence() warns otherwise)."""
    p = Problem._wrap(_core.Problem.from_model(_model_json(module), _describe(module), loss, weight_decay, X, y, X_test, y_test, 0))
    p.theta = p.theta_from_torch(module)
    return p


def dataset(**spec):
    """The data of a problem spec without a model: X_train, y_train, X_test, y_test as the model
    would see them (split, subsampled, standardised or scaled), source_rows_train/_test (each
    row's row in the dataset file), class_names. spec: dataset, classes, n_train, n_test,
    test_fraction, seed (as Problem)."""
    return Result("dataset", _core.dataset(**spec), ())


def estimators():
    """The estimator table: each row's name, help, the settings it reads (keyword arguments), units."""
    return [Result("estimator", r) for r in _core.estimators()]


def fragility(depths=(1, 2, 3), widths=(), decays=(1e-3,), seeds=1, top=10, **options):
    """The fragility study (Basu, Pope & Feizi, ICLR 2021): per setting (depth, width, λ, seed),
    Δ̂ against leave-one-out of the top rows. options: the problem spec (dataset, width, n_train, …),
    random_tests, damping, retrain, retrain_tol, retrain_steps, threads."""
    return Result("fragility", _core.fragility(list(depths), list(widths), list(decays), seeds, top, **options),
                  ("sweep", "depth", "width", "weight_decay", "seed", "test", "test_row", "parameters", "pearson", "spearman",
                   "mean_abs_actual", "retrained", "saddles", "unresolved", "lambda_min", "lambda_max", "train_accuracy", "warning"))
