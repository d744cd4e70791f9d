// Influence and its ground truth: any row of the estimator table as an [m, n] array, and the
// evaluations — leave-one-out, groups, LDS, the benchmark, the fragility study — as dicts of
// numpy arrays with the retrain statuses and the caveats the CLI shows (inflab/__init__.py
// wraps them as results with to_pandas()). Retraining journals (journal=PATH) resume.
#include <xtensor/xview.hpp>

#include "bindings.hpp"
#include "experiments/benchmark.hpp"
#include "experiments/studies.hpp"
#include "nn/choices.hpp"
#include "util/format.hpp"

namespace inflab::python {
namespace {

void check_test_row(const PyProblem& p, std::size_t t) {
  if (t >= p.p->test.size())
    throw py::value_error("test_row " + std::to_string(t) + " is out of range (the test split has " + std::to_string(p.p->test.size()) + " rows)");
}

ex::RetrainRun retrain_run(std::size_t threads, const std::string& journal, bool progress) {
  if (threads == 0) throw py::value_error("threads must be ≥ 1");
  ex::RetrainRun run;
  run.threads = threads, run.results_path = journal, run.progress = progress;
  return run;
}

py::list statuses(const std::vector<ex::RetrainRecord>& r) {
  py::list out;
  for (const auto& x : r) out.append(ex::status_name(x.status));
  return out;
}

// Warns with the caveat of scores over retrains that did not all end at a minimum.
void warn_caveat(const ex::Scores& s) {
  if (!s.caveat.empty()) warn(s.caveat);
}

// The estimator's settings from the keyword arguments other than progress, and progress=.
std::pair<influence::EstimatorSettings, ProgressArg> settings_and_progress(influence::Estimator e, const py::kwargs& kw) {
  py::kwargs rest;
  py::object progress = py::none();
  for (const auto& [k, v] : kw) {
    if (std::string(py::str(k)) == "progress") progress = py::reinterpret_borrow<py::object>(v);
    else rest[k] = v;
  }
  std::pair<influence::EstimatorSettings, ProgressArg> out{settings_of(e, rest), progress_of(progress)};
  out.first.solver.exact.progress = out.second.line;
  return out;
}

py::dict influence(const PyProblem& p, const std::vector<std::size_t>& test_rows, const std::string& method, const py::kwargs& kw) {
  const auto e = influence::estimators().parse(method);
  const auto [s, pr] = settings_and_progress(e, kw);
  const influence::Estimate est =
      interruptible([&] { return influence::estimate(e, ex::trained(*p.p, pr.line), test_rows, s); }, pr.callback);
  py::dict d;
  const auto& row = influence::row_of(e);
  d["values"] = to_numpy(est.predicted);
  d["test_rows"] = to_numpy(test_rows);
  d["method"] = row.name, d["quantity"] = row.quantity, d["units"] = row.units, d["description"] = est.description, d["seconds"] = est.seconds;
  d["gradient_norm"] = est.grad_norm;
  py::list solves, warnings;
  for (std::size_t j = 0; j < est.solves.size(); ++j) {
    solves.append(solve_dict(est.solves[j]));
    if (!est.solves[j].warning.empty()) {
      const std::string w = "test row " + std::to_string(test_rows.at(j)) + ": " + est.solves[j].warning;
      warnings.append(w);
      warn(w);
    }
  }
  if (p.p->fit.grad_norm > ex::kStationaryTol) {
    const std::string w = "θ̂ is not a stationary point (‖∇R‖ = " + significant(p.p->fit.grad_norm) +
                          "): influence assumes one; train() to a tolerance first";
    warnings.append(w);
    warn(w);
  }
  d["solves"] = solves, d["warnings"] = warnings;
  return d;
}

Array self_influence(const PyProblem& p, const std::string& method, const py::kwargs& kw) {
  const auto e = influence::estimators().parse(method);
  const auto [s, pr] = settings_and_progress(e, kw);
  std::string warning;
  const Array out =
      to_numpy(interruptible([&] { return influence::self_influence(e, ex::trained(*p.p, pr.line), s, &warning); }, pr.callback));
  if (!warning.empty()) warn("self-influence: " + warning);
  return out;
}

py::dict loo_dict(const PyProblem& p, const ex::LooEvaluation& e) {
  py::dict d;
  d["test_row"] = e.test_row, d["test_loss"] = e.test_loss;
  d["rows"] = to_numpy(e.rows);
  std::vector<std::size_t> sources;
  for (std::size_t r : e.rows) sources.push_back(p.p->train.source_row(r));
  d["source_rows"] = to_numpy(sources), d["predicted"] = to_numpy(e.predicted), d["actual"] = to_numpy(e.actual);
  d["status"] = statuses(e.retrains);
  std::vector<double> gn, lmin;
  for (const auto& r : e.retrains) gn.push_back(r.grad_norm), lmin.push_back(r.lambda_min);
  d["retrain_grad_norm"] = to_numpy(gn), d["lambda_min"] = to_numpy(lmin);
  d["predicted_all"] = to_numpy(e.predicted_all);
  d["scores"] = scores_dict(e.scores), d["converged_scores"] = scores_dict(e.converged_scores);
  d["retrains"] = retrains_dict(e.retrain);
  py::list solves;
  for (const auto& s : e.estimate.solves) solves.append(solve_dict(s));
  d["solves"] = solves;
  return d;
}

py::dict leave_one_out(const PyProblem& p, std::size_t test_row, std::size_t top, const std::string& method, const std::string& retrain,
                       double retrain_tol, std::size_t retrain_steps, const std::string& retrain_target, double retrain_damping, std::size_t threads,
                       const std::string& journal, const py::object& progress, const py::kwargs& kw) {
  check_test_row(p, test_row);
  ex::LooOptions o;
  o.top = top;
  o.estimator = influence::estimators().parse(method);
  o.settings = settings_of(o.estimator, kw);
  o.retrain = retrain_protocol(retrain, retrain_tol, retrain_steps, retrain_target, retrain_damping);
  const ProgressArg pr = progress_of(progress);
  const ex::RetrainRun run = retrain_run(threads, journal, pr.line);
  const ex::LooEvaluation e = interruptible([&] { return ex::evaluate_leave_one_out(*p.p, test_row, o, run); }, pr.callback);
  py::dict d = loo_dict(p, e);
  warn_caveat(e.scores);
  return d;
}

py::dict lds(const PyProblem& p, std::size_t test_row, std::size_t subsets, double alpha, const std::string& method, const std::string& retrain,
             double retrain_tol, std::size_t retrain_steps, const std::string& retrain_target, double retrain_damping, std::size_t threads,
             const std::string& journal, const py::object& progress, const py::kwargs& kw) {
  check_test_row(p, test_row);
  if (!(alpha > 0 && alpha < 1)) throw py::value_error("alpha must be in (0, 1), got " + std::to_string(alpha));
  if (subsets < 3) throw py::value_error("subsets must be ≥ 3 (a rank correlation over fewer says nothing)");
  ex::LdsOptions o;
  o.subsets = subsets, o.alpha = alpha;
  o.estimator = influence::estimators().parse(method);
  o.settings = settings_of(o.estimator, kw);
  o.retrain = retrain_protocol(retrain, retrain_tol, retrain_steps, retrain_target, retrain_damping);
  const ProgressArg pr = progress_of(progress);
  const ex::RetrainRun run = retrain_run(threads, journal, pr.line);
  const ex::LdsEvaluation e = interruptible([&] { return ex::evaluate_lds(*p.p, test_row, o, run); }, pr.callback);
  py::dict d;
  d["test_row"] = e.test_row, d["test_loss"] = e.test_loss, d["lds"] = e.lds.spearman;
  d["predicted"] = to_numpy(e.lds.predicted), d["actual"] = to_numpy(e.lds.actual), d["status"] = statuses(e.lds.retrains);
  py::list removed;
  for (const auto& r : e.lds.retrains) removed.append(to_numpy(r.removed));
  d["removed"] = removed;
  d["predicted_all"] = to_numpy(e.predicted_all);
  d["scores"] = scores_dict(e.scores), d["retrains"] = retrains_dict(e.retrain);
  warn_caveat(e.scores);
  return d;
}

py::dict groups(const PyProblem& p, std::size_t test_row, double fraction, const std::string& kind, std::size_t count, double damping,
                const std::string& retrain, double retrain_tol, std::size_t retrain_steps, std::size_t threads, const std::string& journal,
                const py::object& progress) {
  check_test_row(p, test_row);
  if (!(fraction > 0 && fraction < 1)) throw py::value_error("fraction must be in (0, 1), got " + std::to_string(fraction));
  if (count < 3) throw py::value_error("count must be ≥ 3 groups (a correlation over fewer says nothing)");
  const ex::GroupKind k = ex::group_kinds().parse(kind);
  if (const std::string why = ex::groups_unavailable(k, p.p->train.size(), ex::group_size(p.p->train.size(), fraction)); !why.empty())
    throw py::value_error(why);
  ex::SolverChoice sc;
  sc.method = ex::Method::Exact, sc.damping = damping;
  const ex::RetrainProtocol rp = retrain_protocol(retrain, retrain_tol, retrain_steps);
  const ProgressArg pr = progress_of(progress);
  const ex::RetrainRun run = retrain_run(threads, journal, pr.line);
  const ex::GroupsRow r = interruptible([&] {
    const ex::CurvatureOperator A(*p.p->obj, p.p->train, p.p->theta);
    const ex::InverseHvp inv(A, sc);
    return ex::evaluate_group_kind(*p.p, inv, test_row, fraction, k, count, rp, run);
  }, pr.callback);
  const auto& g = r.evaluation;
  py::dict d;
  d["test_row"] = test_row, d["kind"] = kind, d["size"] = r.size, d["fraction"] = r.fraction;
  py::list groups;
  for (const auto& x : g.groups) groups.append(to_numpy(x));
  d["groups"] = groups;
  d["first_order"] = to_numpy(g.first), d["second_order"] = to_numpy(g.second), d["newton"] = to_numpy(g.newton), d["actual"] = to_numpy(g.actual);
  d["status"] = statuses(g.retrains);
  d["scores_first_order"] = scores_dict(r.first), d["scores_second_order"] = scores_dict(r.second), d["scores_newton"] = scores_dict(r.newton);
  d["retrains"] = retrains_dict(r.retrain), d["warning"] = r.warning;
  if (!r.warning.empty()) warn(r.warning);
  warn_caveat(r.first);
  return d;
}

py::dict bench_scores(const ex::BenchScores& s) {
  py::dict d;
  d["pearson"] = s.pearson, d["spearman"] = s.spearman, d["points"] = s.points, d["undefined"] = s.undefined;
  return d;
}

py::dict benchmark(const PyProblem& p, const std::vector<std::string>& estimators, std::size_t loo_rows, std::size_t test_points,
                   std::size_t subsets, double alpha, double flip, const std::string& truth, const std::string& retrain, double retrain_tol,
                   std::size_t retrain_steps, const std::string& retrain_target, double retrain_damping, std::size_t threads,
                   const std::string& journal_dir, const py::object& progress) {
  if (!p.from_spec) throw py::value_error("benchmark needs a Problem built from a spec (its noise floor and noisy-label problem are trained from it)");
  ex::BenchmarkOptions o;
  for (const auto& e : estimators) o.entries.push_back(ex::parse_bench_entry(e));
  o.loo_rows = loo_rows, o.test_points = test_points, o.subsets = subsets, o.alpha = alpha, o.flip = flip;
  o.truth = ex::benchmark_truths().parse(truth);
  o.retrain = retrain_protocol(retrain, retrain_tol, retrain_steps, retrain_target, retrain_damping);
  const ProgressArg pr = progress_of(progress);
  const ex::RetrainRun loo = retrain_run(threads, journal_dir.empty() ? "" : journal_dir + "/retrain-loo.jsonl", pr.line);
  const ex::RetrainRun ldsr = retrain_run(threads, journal_dir.empty() ? "" : journal_dir + "/retrain-lds.jsonl", pr.line);
  const ex::BenchmarkResult r = interruptible([&] { return ex::run_benchmark(*p.p, o, loo, ldsr, pr.line); }, pr.callback);
  py::dict d;
  d["test_rows"] = to_numpy(r.test_rows), d["loo_rows"] = to_numpy(r.loo_rows);
  d["truth"] = truth, d["reference_note"] = r.reference_note, d["floor"] = to_numpy(r.floor), d["floor_note"] = r.floor_note;
  d["retrains_loo"] = retrains_dict(r.loo.retrain), d["retrains_lds"] = retrains_dict(r.lds.retrain);
  if (ex::references(o.truth)) d["reference_seconds"] = r.reference.seconds;
  d["auc_loss"] = r.auc_loss;
  py::list rows;
  for (const auto& x : r.rows) {
    py::dict q;
    q["estimator"] = x.estimator, q["loo"] = bench_scores(x.loo), q["lds"] = bench_scores(x.lds), q["auc"] = x.auc, q["seconds"] = x.seconds;
    if (o.truth == ex::BenchTruth::Both) q["reference_loo"] = bench_scores(x.ref_loo), q["reference_lds"] = bench_scores(x.ref_lds);
    q["note"] = x.note;
    rows.append(q);
  }
  d["rows"] = rows;
  return d;
}

py::dict fragility(const std::vector<std::size_t>& depths, const std::vector<std::size_t>& widths, const std::vector<double>& decays,
                   std::size_t seeds, std::size_t top, std::size_t random_tests, double damping, const std::string& retrain, double retrain_tol,
                   std::size_t retrain_steps, std::size_t threads, const py::object& progress, const py::kwargs& spec) {
  const ex::ProblemSpec base = spec_of(spec);
  if (seeds == 0) throw py::value_error("seeds must be ≥ 1");
  ex::FragilityOptions o;
  o.top = top, o.random_tests = random_tests;
  o.solver.method = ex::Method::Exact, o.solver.damping = damping;
  o.retrain = retrain_protocol(retrain, retrain_tol, retrain_steps);
  const ProgressArg pr = progress_of(progress);
  const ex::RetrainRun run = retrain_run(threads, "", pr.line);
  const auto settings = ex::fragility_settings(base, depths, widths, decays, seeds);
  std::vector<ex::FragilityRow> rows = interruptible([&] {
    std::vector<ex::FragilityRow> out;
    for (const auto& s : settings) {
      auto r = ex::fragility_setting(base, s, o, [](const std::string&) { return false; }, [](const std::string&) { return std::string(); }, run);
      out.insert(out.end(), r.begin(), r.end());
    }
    return out;
  }, pr.callback);
  py::dict d;
  std::vector<std::size_t> depth, width, seed, test_row, retrained, saddles, unresolved, parameters;
  std::vector<double> decay, pearson, spearman, mean_abs, lmin, lmax, train_acc, grad_norm;
  py::list sweep, test, warnings;
  for (const auto& r : rows) {
    sweep.append(ex::sweeps().name(r.setting.sweep)), test.append(r.test), warnings.append(r.warning);
    depth.push_back(r.setting.depth), width.push_back(r.setting.width), decay.push_back(r.setting.weight_decay), seed.push_back(r.setting.seed);
    test_row.push_back(r.test_row), parameters.push_back(r.parameters);
    retrained.push_back(r.retrain.jobs), saddles.push_back(r.retrain.saddles), unresolved.push_back(r.retrain.unresolved);
    pearson.push_back(r.scores.pearson), spearman.push_back(r.scores.spearman), mean_abs.push_back(r.mean_abs_actual);
    lmin.push_back(r.spectrum.smallest), lmax.push_back(r.spectrum.largest), train_acc.push_back(r.train_accuracy), grad_norm.push_back(r.grad_norm);
  }
  d["sweep"] = sweep, d["depth"] = to_numpy(depth), d["width"] = to_numpy(width), d["weight_decay"] = to_numpy(decay), d["seed"] = to_numpy(seed);
  d["test"] = test, d["test_row"] = to_numpy(test_row), d["parameters"] = to_numpy(parameters);
  d["pearson"] = to_numpy(pearson), d["spearman"] = to_numpy(spearman), d["mean_abs_actual"] = to_numpy(mean_abs);
  d["retrained"] = to_numpy(retrained), d["saddles"] = to_numpy(saddles), d["unresolved"] = to_numpy(unresolved);
  d["lambda_min"] = to_numpy(lmin), d["lambda_max"] = to_numpy(lmax), d["train_accuracy"] = to_numpy(train_acc), d["grad_norm"] = to_numpy(grad_norm);
  d["warning"] = warnings;
  for (const auto& r : rows)
    if (!r.warning.empty()) warn(r.setting.key(r.test) + ": " + r.warning);
  return d;
}

}  // namespace

void bind_evaluations(py::module_& m, py::class_<PyProblem>& problem) {
  problem.def("influence", &influence, py::arg("test_rows"), py::arg("method") = "exact")
      .def("self_influence", &self_influence, py::arg("method") = "exact")
      .def("leave_one_out", &leave_one_out, py::arg("test_row"), py::arg("top") = 20, py::arg("method") = "exact", py::arg("retrain") = "newton-cg",
           py::arg("retrain_tol") = 1e-8, py::arg("retrain_steps") = 0, py::arg("retrain_target") = "loo", py::arg("retrain_damping") = 0.0,
           py::arg("threads") = 1, py::arg("journal") = "", py::arg("progress") = false)
      .def("lds", &lds, py::arg("test_row"), py::arg("subsets") = 20, py::arg("alpha") = 0.5, py::arg("method") = "exact",
           py::arg("retrain") = "newton-cg", py::arg("retrain_tol") = 1e-8, py::arg("retrain_steps") = 0, py::arg("retrain_target") = "loo",
           py::arg("retrain_damping") = 0.0, py::arg("threads") = 1, py::arg("journal") = "", py::arg("progress") = false)
      .def("groups", &groups, py::arg("test_row"), py::arg("fraction") = 0.1, py::arg("kind") = "random", py::arg("count") = 10,
           py::arg("damping") = 0.0, py::arg("retrain") = "newton-cg", py::arg("retrain_tol") = 1e-8, py::arg("retrain_steps") = 0,
           py::arg("threads") = 1, py::arg("journal") = "", py::arg("progress") = false)
      .def("benchmark", &benchmark, py::arg("estimators"), py::arg("loo_rows") = 100, py::arg("test_points") = 10, py::arg("subsets") = 100,
           py::arg("alpha") = 0.5, py::arg("flip") = 0.1, py::arg("truth") = "retrain", py::arg("retrain") = "newton-cg", py::arg("retrain_tol") = 1e-8,
           py::arg("retrain_steps") = 0, py::arg("retrain_target") = "loo", py::arg("retrain_damping") = 0.0, py::arg("threads") = 1, py::arg("journal_dir") = "", py::arg("progress") = false);
  m.def("fragility", &fragility, py::arg("depths") = std::vector<std::size_t>{1, 2, 3}, py::arg("widths") = std::vector<std::size_t>{},
        py::arg("decays") = std::vector<double>{0.001}, py::arg("seeds") = 1, py::arg("top") = 10, py::arg("random_tests") = 0,
        py::arg("damping") = 0.0, py::arg("retrain") = "newton-cg", py::arg("retrain_tol") = 1e-8, py::arg("retrain_steps") = 0,
        py::arg("threads") = 1, py::arg("progress") = false);
  m.def("estimators", [] {
    py::list out;
    for (const auto& r : influence::estimator_rows()) {
      py::dict d;
      d["name"] = r.name, d["help"] = r.help, d["inverse_hvp"] = r.method.has_value(), d["options"] = r.options;
      d["quantity"] = r.quantity, d["units"] = r.units, d["self_influence"] = r.self != nullptr;
      out.append(d);
    }
    return out;
  });
}

}  // namespace inflab::python
