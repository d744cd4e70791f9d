"""Influence from Python: every estimator in Δ̂'s orientation, against a dense numpy computation
and leave-one-out retraining; warnings; bad input as ValueErrors naming it."""
import math
import warnings

import numpy as np
import pytest

import inflab


def test_exact_influence_is_the_dense_formula(logreg):
    p, mu = logreg, 1e-3
    t = p.test_rows("random:2")
    r = p.influence(t, method="exact", damping=mu)
    H = p.hessian()
    g_train, g_test = p.per_example_gradients("train"), p.per_example_gradients("test", rows=t)
    # Δ̂(t, i) = (1/n) ∇ℓ(z_t)ᵀ (H + μI)⁻¹ ∇ℓ̃(zᵢ): the change of test loss when row i is removed
    dense = g_test @ np.linalg.solve(H + mu * np.eye(p.parameters), g_train.T) / p.n_train
    assert r.values.shape == (2, p.n_train)
    assert np.abs(r.values - dense).max() <= 1e-10 * np.abs(dense).max()
    df = r.to_pandas()
    assert len(df) == 2 * p.n_train and df.value.iloc[p.n_train + 4] == r.values[1, 4]


def test_every_estimator_has_the_documented_orientation(logreg):
    p, t = logreg, logreg.test_rows("highest")
    exact = p.influence(t, "exact").values[0]
    names = [e.name for e in inflab.estimators()]
    assert names[:5] == ["exact", "cg", "minres", "lissa", "lowrank"] and "datainf" in names
    for e in inflab.estimators():
        if e.name == "tracin":  # needs the steps of an sgd/adam run: refused, saying so
            with pytest.raises(ValueError, match="save_steps"):
                p.influence(t, "tracin", save_steps="1")
            continue
        if e.name == "unrolled":  # differentiates the sgd run that trained θ̂: this one is L-BFGS's
            with pytest.raises(ValueError, match="sgd run"):
                p.influence(t, "unrolled")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lissa's default depth leaves a residual it warns of; its sign is the point here
            r = p.influence(t, e.name, **{"lowrank": {"rank": 4}, "datainf": {"damping": 1e-3}}.get(e.name, {}))
        assert r.quantity == e.quantity and r.values.shape == (1, p.n_train)
        # the same sign as Δ̂ (> 0: the row helped the test point): positively correlated with exact
        assert np.corrcoef(r.values[0], exact)[0, 1] > 0.5, e.name


def test_iterative_solvers_agree_and_warn_when_they_cannot(iris):
    ex = iris.influence([0, 5], method="exact", damping=0.001)
    cg = iris.influence([0, 5], method="cg", damping=0.001, tol=1e-12)
    assert np.abs(ex.values - cg.values).max() <= 1e-7 * np.abs(ex.values).max()
    assert ex.solves[0]["relative_residual"] < 1e-10 and ex.warnings == []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = iris.influence([0], method="lowrank", rank=1)
    assert r.warnings and "relative residual" in r.warnings[0]
    assert any(issubclass(x.category, RuntimeWarning) and "relative residual" in str(x.message) for x in w)


def test_a_theta_that_is_not_stationary_is_a_warning(iris):
    X, y = iris.data()
    p = inflab.Problem.from_arrays(X, y, *iris.data("test"), hidden=[8], train=False)
    with pytest.warns(RuntimeWarning, match="not a stationary point"):
        p.influence([0], "graddot")


def test_self_influence_is_positive_where_h_is_positive_definite(logreg):
    s = logreg.self_influence("exact")
    assert s.shape == (logreg.n_train,) and (s > 0).all()


def test_leave_one_out_lds_and_groups_against_retraining(logreg):
    p = logreg
    t = p.test_rows("highest")[0]
    r = p.leave_one_out(t, top=8, retrain="newton", retrain_tol=1e-11)
    assert r.scores["n"] == 8 and r.retrains["converged"] == 8 and r.scores["pearson"] > 0.99
    assert set(r.status) == {"converged"} and np.array_equal(r.predicted, r.predicted_all[r.rows])
    assert r.source_rows[0] == p.source_row(r.rows[0])
    assert list(r.to_pandas().columns[:5]) == ["rows", "source_rows", "predicted", "actual", "status"]
    l = p.lds(t, subsets=6, retrain="newton", retrain_tol=1e-11)
    assert len(l.actual) == 6 and l.retrains["converged"] == 6 and l.lds > 0.8
    g = p.groups(t, fraction=0.05, count=4, retrain="newton", retrain_tol=1e-11)
    assert len(g.actual) == 4 and g.scores_second_order["pearson"] > 0.9
    assert np.abs(g.second_order - g.actual).sum() <= np.abs(g.first_order - g.actual).sum()  # second order is closer on a convex problem


def test_bad_input_is_a_value_error_naming_it(iris):
    p, P = iris, iris.parameters
    cases = [
        (lambda: p.hvp(np.ones(P, dtype=np.float32)), "v has dtype float32"),
        (lambda: p.hvp(np.ones(P + 1)), "v has shape \\[%d\\], expected \\[%d\\]" % (P + 1, P)),
        (lambda: p.hvp(np.ones((P, 2))[:, 0]), "v is not C-contiguous"),
        (lambda: p.value(np.full(P, math.nan)), "theta holds a non-finite value"),
        (lambda: p.influence([0], method="graddot", tol=1e-8), "tol does not apply to method 'graddot' \\(it sets cg, minres\\)"),
        (lambda: p.influence([0], method="cg", tol=0), "tol = 0 is never met"),
        (lambda: p.influence([0], method="nope"), "unknown estimator 'nope'"),
        (lambda: p.influence([0], method="cg", fisher="sampled"), "fisher applies to curvature kfac or ekfac only"),
        (lambda: p.influence([0], method="cg", curvature="kfac", fisher_seed=3), "fisher_seed applies to fisher sampled only"),
        (lambda: p.influence([10**6], method="exact"), "out of range"),
        (lambda: p.leave_one_out(10**6), "test_row 1000000 is out of range"),
        (lambda: p.losses("valid"), "split must be 'train' or 'test'"),
        (lambda: p.per_example_gradients(rows=[500]), "rows: 500 is not a row of the train split"),
        (lambda: inflab.Problem(dataset="nope"), "unknown dataset 'nope'"),
        (lambda: inflab.Problem(n_train=3), "^n_train 3 leaves rows of 1 of the 3 classes.*\\(raise n_train\\)"),
        (lambda: inflab.Problem(widht=3), "unknown problem setting 'widht'"),
        (lambda: inflab.Problem.from_arrays(np.ones((5, 2)), np.ones(5)), "y must be integer class labels"),
    ]
    for call, words in cases:
        with pytest.raises(ValueError, match=words):
            call()


def test_tracin_over_the_steps_saved_while_training():
    p = inflab.Problem(hidden=[8], optimizer="sgd", epochs=6, lr=0.1, batch_size=40, save_steps=[3, 9, 18])
    assert [s for s, _, _ in p.trajectory] == [3, 9, 18]
    t = p.test_rows("highest")
    r = p.influence(t, "tracin")
    # T(zᵢ) = (1/n) Σ_k η_k ∇ℓ(z_t; θ_k)ᵀ ∇ℓ̃(zᵢ; θ_k): per-example gradients at each saved θ
    want = sum(lr * p.per_example_gradients("train", theta=th) @ p.per_example_gradients("test", rows=t, theta=th)[0]
               for _, lr, th in p.trajectory) / p.n_train
    assert np.abs(r.values[0] - want).max() <= 1e-12 * np.abs(want).max()
    with pytest.raises(ValueError, match="pass them to the Problem"):
        p.influence(t, "tracin", save_steps="3")
    with pytest.raises(ValueError, match="tracin needs parameters saved during training"):
        inflab.Problem(hidden=[8]).influence(t, "tracin")


def test_self_influence_warns_where_its_solves_cannot_be_trusted():
    # a deep unregularised fit: H + μI has negative eigenvalues, so gᵀ(H + μI)⁻¹g is not a norm
    p = inflab.Problem(dataset="iris", depth=2, width=8, weight_decay=0.0, seed=0)
    with pytest.warns(RuntimeWarning, match="eigenvalues of H \\+ μI are ≤ 0"):
        s = p.self_influence("exact")
    assert s.shape == (p.n_train,) and np.any(s < 0)
    with pytest.warns(RuntimeWarning, match="rows' solves warned"):
        p.self_influence("cg", damping=1e-6, max_iterations=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(p.self_influence("exact", damping=10.0) > 0)  # damped past λmin: positive, no warning


def test_progress_callback_sees_the_work_and_its_exception_stops_it(logreg):
    events = []
    loo = logreg.leave_one_out(logreg.test_rows()[0], top=8, progress=lambda *e: events.append(e))
    assert loo.retrains["jobs"] == 8 and events
    retrains = [e for e in events if e[0] == "retrain"]  # nested lines come too: each job's L-BFGS iterations
    assert retrains and all(isinstance(e[4], str) and e[3] >= 0 for e in retrains)
    assert [e[1] for e in retrains] == sorted(e[1] for e in retrains) and retrains[-1][1:3] == (8, 8)  # advances; the last always

    class Enough(Exception):
        pass

    def stop(what, done, total, seconds, detail):
        raise Enough(f"{done} of {total}")

    with pytest.raises(Enough):  # the callback's own exception, after the library stopped
        logreg.leave_one_out(logreg.test_rows()[0], top=8, progress=stop)
    fit = logreg.train(grad_tol=1e-10, progress=lambda *e: events.append(e))  # training reports too
    assert fit["converged"]
    dense = []  # exact's dense H, column by column (minutes on a large model)
    logreg.influence([0], "exact", progress=lambda *e: dense.append(e))
    assert dense and dense[-1][0] == "dense H, columns" and dense[-1][1] == dense[-1][2] == logreg.parameters
    with pytest.raises(ValueError, match="progress must be True, False or a callable"):
        logreg.leave_one_out(0, top=5, progress="yes")


def test_leave_one_out_against_the_pbrf(logreg, iris):
    # on a linear model at its minimum with μ = 0 the PBRF's minimiser is leave-one-out's (docs/influence.md)
    t = logreg.test_rows("highest")[0]
    loo = logreg.leave_one_out(t, top=5, retrain="newton", retrain_tol=1e-11)
    pbrf = logreg.leave_one_out(t, top=5, retrain="newton", retrain_tol=1e-11, retrain_target="pbrf")
    assert list(pbrf.status) == ["converged"] * 5
    assert np.abs(pbrf.actual - loo.actual).max() <= 1e-8 * np.abs(loo.actual).max()
    # on a network it is what Gauss–Newton influence with the same μ answers: same signs, close values
    r = iris.leave_one_out(0, top=5, method="exact", curvature="ggn", damping=0.01, retrain_target="pbrf", retrain_damping=0.01)
    assert r.scores["pearson"] > 0.85 and r.scores["signs_agree"] == 5
    with pytest.raises(ValueError, match="retrain_damping is the proximity damping"):
        iris.leave_one_out(0, top=5, retrain_damping=0.1)


def test_leave_one_out_from_scratch(logreg):
    # convex: the cold retrain (θ̂'s own L-BFGS from its initialisation) finds warm leave-one-out's minimum
    t = logreg.test_rows("highest")[0]
    loo = logreg.leave_one_out(t, top=4, retrain="newton", retrain_tol=1e-11)
    cold = logreg.leave_one_out(t, top=4, retrain_target="loo-cold")
    assert list(cold.status) == ["converged"] * 4
    assert list(cold.rows) == list(loo.rows)
    assert np.abs(cold.actual - loo.actual).max() <= 1e-5 * np.abs(loo.actual).max()
    with pytest.raises(ValueError, match="trains as θ̂ was trained"):
        logreg.leave_one_out(t, top=4, retrain="lbfgs", retrain_target="loo-cold")


def test_benchmark_against_retraining_and_the_cg_reference(logreg):
    r = logreg.benchmark(["exact", "graddot"], loo_rows=12, test_points=3, subsets=10, flip=0.0, truth="both", retrain="newton",
                         retrain_tol=1e-11)
    ref, exact, graddot = r["rows"]
    assert ref["estimator"] == "reference: cg, tol 1e-10"
    assert ref["reference_loo"]["pearson"] == pytest.approx(1, abs=1e-12)
    # exact H⁻¹ is the reference: the same scores against retraining, 1 against the reference
    assert exact["loo"]["pearson"] == pytest.approx(ref["loo"]["pearson"], rel=1e-6)
    assert exact["reference_loo"]["pearson"] > 1 - 1e-8
    assert graddot["reference_loo"]["pearson"] < 0.99
    assert r["retrains_loo"]["jobs"] == 12
    df = r.to_pandas()
    assert list(df["estimator"]) == ["reference: cg, tol 1e-10", "exact", "graddot"]
    assert df["reference_loo_pearson"][2] == pytest.approx(graddot["reference_loo"]["pearson"])


def test_benchmark_takes_the_retraining_target(logreg):
    # for a linear model at μ = 0 the PBRF is leave-one-out itself (docs/influence.md): the same scores
    common = dict(loo_rows=12, test_points=3, subsets=6, flip=0.0, retrain="newton", retrain_tol=1e-11)
    loo = logreg.benchmark(["exact"], **common)
    pbrf = logreg.benchmark(["exact"], retrain_target="pbrf", retrain_damping=0.0, **common)
    assert pbrf["retrains_loo"]["converged"] == 12
    assert pbrf["rows"][0]["loo"]["pearson"] == pytest.approx(loo["rows"][0]["loo"]["pearson"], abs=1e-6)
    assert pbrf["rows"][0]["lds"]["spearman"] == pytest.approx(loo["rows"][0]["lds"]["spearman"], abs=1e-9)
    with pytest.raises(ValueError, match="retrain_damping is the proximity damping"):
        logreg.benchmark(["exact"], retrain_damping=0.1, **common)
