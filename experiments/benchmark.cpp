#include "experiments/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "datasets/split.hpp"
#include "experiments/evaluation.hpp"
#include "util/format.hpp"
#include "influence/metrics.hpp"

namespace inflab::experiments {

namespace {
// the short names of curvature entries
struct Alias {
  const char* name;
  Estimator estimator;
  Curvature curvature;
  const char* help;
};
constexpr Alias kAliases[] = {{"ggn", Estimator::Cg, Curvature::GaussNewton, "CG on the Gauss–Newton matrix G + μI (cg:ggn)"},
                              {"kfac", Estimator::Exact, Curvature::Kfac, "K-FAC, inverted through its factors (exact:kfac)"},
                              {"ekfac", Estimator::Exact, Curvature::Ekfac, "EK-FAC, inverted in its eigenbasis (exact:ekfac)"}};
}  // namespace

BenchEntry parse_bench_entry(const std::string& label) {
  BenchEntry e;
  e.label = label;
  for (const auto& a : kAliases)
    if (label == a.name) {
      e.estimator = a.estimator, e.curvature = a.curvature;
      return e;
    }
  const auto colon = label.find(':');
  const std::string name = label.substr(0, colon);
  if (!estimators().has(name))
    throw Error("'" + label + "' is not one of: " + estimators().names() + ", " + [] {
      std::string s;
      for (const auto& a : kAliases) s += (s.empty() ? "" : ", ") + std::string(a.name);
      return s;
    }() + " (or NAME:CURVATURE)");
  e.estimator = estimators().parse(name);
  if (colon != std::string::npos) {
    const std::string k = label.substr(colon + 1);
    if (!row_of(e.estimator).method) throw Error("'" + label + "': " + name + " takes no curvature (it is not an inverse-HVP solver)");
    if (!curvatures().has(k)) throw Error("'" + label + "': the curvature '" + k + "' is not one of: " + curvatures().names());
    e.curvature = curvatures().parse(k);
  }
  return e;
}

std::string bench_entry_help() {
  std::string s;
  for (const auto& a : kAliases) s += "      " + std::string(a.name) + std::string(9 - std::string(a.name).size(), ' ') + a.help + "\n";
  return s + "      NAME:C   a solver on curvature C (" + curvatures().names() + "), e.g. minres:ggn\n";
}

ProblemSpec benchmark_problem() {
  ProblemSpec s;
  s.dataset = datasets().name(DatasetKind::FashionMnist), s.model = ModelKind::Softmax, s.weight_decay = 0.01, s.n_train = 5000;
  return s;
}

EstimatorSettings benchmark_settings() {
  EstimatorSettings s;
  s.solver.cg.max_iterations = 2000;
  s.solver.lowrank.rank = 50;
  return s;
}

namespace {
GroundTruth truth_of(const Problem& p, std::vector<std::vector<std::size_t>> groups, const std::vector<std::size_t>& test_rows,
                     const RetrainProtocol& protocol, const RetrainRun& run) {
  GroundTruth g;
  g.test_rows = test_rows;
  const auto rec = retrain_groups(p, groups, test_rows, protocol, run);
  if (rec.size() != groups.size())
    throw Error("benchmark: " + std::to_string(rec.size()) + " of " + std::to_string(groups.size()) + " retrains came back; every one is needed");
  g.removed = std::move(groups);
  g.actual = zeros({rec.size(), test_rows.size()});
  for (const auto& r : rec)
    for (std::size_t t = 0; t < test_rows.size(); ++t) g.actual(r.job, t) = r.test_loss_change.at(t);
  g.retrain = summarize(rec);
  return g;
}

// mean over test points of metric(xs(t), ys(t)) where defined
template <class Xs, class Ys>
void mean_over_points(std::size_t m, Xs xs, Ys ys, double (*metric)(const Tensor&, const Tensor&), double& mean, BenchScores& s) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t t = 0; t < m; ++t) {
    const double v = or_nan(metric, xs(t), ys(t));
    if (std::isfinite(v)) sum += v, ++n;
  }
  mean = n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  s.points = n, s.undefined = m - n;
}
}  // namespace

GroundTruth loo_truth(const Problem& p, const std::vector<std::size_t>& rows, const std::vector<std::size_t>& test_rows,
                      const RetrainProtocol& protocol, const RetrainRun& run) {
  std::vector<std::vector<std::size_t>> groups;
  for (auto r : rows) groups.push_back({r});
  return truth_of(p, std::move(groups), test_rows, protocol, run);
}

std::vector<std::vector<std::size_t>> lds_groups(std::size_t n, std::size_t subsets, double alpha, std::uint64_t seed) {
  if (!(alpha > 0 && alpha < 1)) throw Error("benchmark: α = " + std::to_string(alpha) + " must be in (0, 1)");
  const auto keep = static_cast<std::size_t>(std::llround(alpha * static_cast<double>(n)));
  if (keep == 0 || keep >= n) throw Error("benchmark: α = " + std::to_string(alpha) + " keeps " + std::to_string(keep) + " of " + std::to_string(n) + " rows");
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t j = 0; j < subsets; ++j) {
    auto perm = data::permutation(n, seed * 7919 + j);  // the stream lds uses (evaluation.cpp)
    std::vector<std::size_t> removed(perm.begin() + static_cast<long>(keep), perm.end());
    std::sort(removed.begin(), removed.end());
    groups.push_back(std::move(removed));
  }
  return groups;
}

GroundTruth lds_truth(const Problem& p, std::size_t subsets, double alpha, const std::vector<std::size_t>& test_rows,
                      const RetrainProtocol& protocol, const RetrainRun& run, std::uint64_t seed) {
  return truth_of(p, lds_groups(p.train.size(), subsets, alpha, seed), test_rows, protocol, run);
}

const Choices<BenchTruth>& benchmark_truths() {
  static const Choices<BenchTruth> t{
      "ground truth",
      {{"retrain", BenchTruth::Retrain, "retraining after each removal, to the --retrain protocol's tolerance"},
       {"cg", BenchTruth::Cg, "predicted Δ of CG on H + μI to --reference-tol: exact first-order influence (no retraining)"},
       {"both", BenchTruth::Both, "retraining and the cg reference on the same rows: each entry scored against each, the reference against retraining"}}};
  return t;
}

GroundTruth reference_truth(const Tensor& reference, std::vector<std::vector<std::size_t>> groups, const std::vector<std::size_t>& test_rows) {
  const std::size_t m = test_rows.size();
  if (reference.dimension() != 2 || reference.shape()[0] != m)
    throw Error("benchmark: the reference has shape " + shape_str(shape_of(reference)) + ", not [" + std::to_string(m) + ", n]");
  GroundTruth g;
  g.test_rows = test_rows;
  g.actual = zeros({groups.size(), m});
  for (std::size_t j = 0; j < groups.size(); ++j)
    for (std::size_t t = 0; t < m; ++t)
      for (auto i : groups[j]) g.actual(j, t) += reference(t, i);
  g.removed = std::move(groups);  // g.retrain stays empty: nothing was retrained
  return g;
}

Tensor seed_floor(const Problem& p, const std::vector<std::size_t>& test_rows, bool* converged) {
  ProblemSpec other = p.spec;
  other.seed += 1;  // with the data given, the seed sets the initialisation and batch order only
  const Problem q = build_problem(other, data::TrainTest{.train = p.train, .test = p.test}, false);
  if (converged) *converged = q.fit.converged;
  Tensor out = zeros({test_rows.size()});
  for (std::size_t t = 0; t < test_rows.size(); ++t) {
    double a = 0, b = 0;
    test_loss_gradient(*p.obj, p.test, {test_rows[t]}, p.theta, &a);
    test_loss_gradient(*q.obj, q.test, {test_rows[t]}, q.theta, &b);
    out(t) = std::fabs(b - a);
  }
  return out;
}

Estimate estimate(const Problem& p, const BenchEntry& e, const std::vector<std::size_t>& test_rows, const EstimatorSettings& s) {
  EstimatorSettings on = s;
  on.curvature = e.curvature;
  return estimate(e.estimator, trained(p, false), test_rows, on);
}

std::optional<Tensor> self_scores(const Problem& p, const BenchEntry& e, const EstimatorSettings& s, std::string* why) {
  EstimatorSettings on = s;
  on.curvature = e.curvature;
  switch (self_cost(e.estimator, on)) {
    case SelfCost::Cheap: return self_influence(e.estimator, trained(p, false), on);
    case SelfCost::SolvePerRow:
      if (why) *why = "one iterative solve per training row (" + std::to_string(p.train.size()) + ")";
      return std::nullopt;
    case SelfCost::None: break;
  }
  if (why) *why = "no self-influence form here";
  return std::nullopt;
}

BenchScores loo_scores(const Tensor& pred, const GroundTruth& g) {
  BenchScores s;
  const std::size_t jobs = g.removed.size(), m = g.test_rows.size();
  auto xs = [&](std::size_t t) {
    Tensor x = zeros({jobs});
    for (std::size_t j = 0; j < jobs; ++j) x(j) = pred(t, g.removed[j].at(0));
    return x;
  };
  auto ys = [&](std::size_t t) {
    Tensor y = zeros({jobs});
    for (std::size_t j = 0; j < jobs; ++j) y(j) = g.actual(j, t);
    return y;
  };
  BenchScores sp;
  mean_over_points(m, xs, ys, pearson, s.pearson, s);
  mean_over_points(m, xs, ys, spearman, s.spearman, sp);
  return s;
}

BenchScores lds_scores(const Tensor& pred, const GroundTruth& g) {
  BenchScores s;
  s.pearson = std::numeric_limits<double>::quiet_NaN();
  const std::size_t jobs = g.removed.size(), m = g.test_rows.size();
  auto xs = [&](std::size_t t) {  // first order: a set's effect is the sum of its rows' Δ̂
    Tensor x = zeros({jobs});
    for (std::size_t j = 0; j < jobs; ++j)
      for (auto i : g.removed[j]) x(j) += pred(t, i);
    return x;
  };
  auto ys = [&](std::size_t t) {
    Tensor y = zeros({jobs});
    for (std::size_t j = 0; j < jobs; ++j) y(j) = g.actual(j, t);
    return y;
  };
  mean_over_points(m, xs, ys, spearman, s.spearman, s);
  return s;
}

std::string reference_label(const BenchmarkOptions& o) { return "reference: cg, tol " + shortest(o.reference.solver.cg.tol); }

double median_abs(const Tensor& v) {
  std::vector<double> x;
  for (double e : v)
    if (std::isfinite(e)) x.push_back(std::fabs(e));
  return x.empty() ? std::nan("") : quantile(x, 0.5);
}

namespace {
void add_note(std::string& note, const std::string& more) { note += (note.empty() ? "" : "; ") + more; }

BenchmarkRow score_entry(const Problem& p, const BenchEntry& e, const BenchmarkOptions& o, const BenchmarkResult& r) {
  BenchmarkRow row;
  row.estimator = e.label;
  try {
    const Estimate est = estimate(p, e, r.test_rows, o.settings);
    row.seconds = est.seconds, row.note = est.first_warning();
    if (references(o.truth) && e.estimator == Estimator::Cg && e.curvature.kind == Curvature::Hessian &&
        o.settings.solver.cg.tol <= o.reference.solver.cg.tol)
      add_note(row.note, "the reference itself (--tol ≤ --reference-tol): give a larger --tol to score a cheaper CG");
    row.loo = loo_scores(est.predicted, r.loo), row.lds = lds_scores(est.predicted, r.lds);
    if (o.truth == BenchTruth::Both) row.ref_loo = loo_scores(est.predicted, r.ref_loo), row.ref_lds = lds_scores(est.predicted, r.ref_lds);
    for (const auto& [what, sc] : {std::pair<const char*, const BenchScores*>{"LOO", &row.loo}, {"LDS", &row.lds}})
      if (sc->undefined)  // the mean is over fewer points than asked: say so beside it
        add_note(row.note, std::string(what) + ": mean over " + std::to_string(sc->points) + " of " + std::to_string(sc->points + sc->undefined) +
                               " test points (no correlation at the others)");
    std::string why;
    if (r.flipped.empty()) why = "--flip 0";
    else if (const auto self = self_scores(r.noisy, e, o.settings, &why)) row.auc = detection_auc(*self, r.flipped);
    if (!why.empty()) add_note(row.note, "noisy labels: " + why);
  } catch (const std::exception& err) {  // one entry that cannot run does not stop the others
    row.note = std::string("not run: ") + err.what();
  }
  return row;
}
}  // namespace

BenchmarkResult run_benchmark(const Problem& p, const BenchmarkOptions& o, const RetrainRun& loo_run, const RetrainRun& lds_run, bool progress,
                              const std::function<void(const BenchmarkRow&)>& on_row) {
  if (o.loo_rows >= p.train.size())
    throw Error("loo-rows " + std::to_string(o.loo_rows) + " needs more than that many training rows; there are " + std::to_string(p.train.size()));
  if (o.test_points > p.test.size())
    throw Error("test-points " + std::to_string(o.test_points) + " exceeds the " + std::to_string(p.test.size()) + " test rows");
  BenchmarkResult r;
  r.test_rows = pick_test_rows("random:" + std::to_string(o.test_points), p, p.spec.seed);
  r.loo_rows = data::permutation(p.train.size(), p.spec.seed + 101);  // random, not chosen by any estimator
  r.loo_rows.resize(o.loo_rows);
  // ground truth first (journals: resumable, spread over MPI ranks), then every entry
  const bool retrained = retrains(o.truth);
  std::vector<std::vector<std::size_t>> loo_groups;
  for (auto i : r.loo_rows) loo_groups.push_back({i});
  if (retrained) {
    r.loo = loo_truth(p, r.loo_rows, r.test_rows, o.retrain, loo_run);
    r.lds = lds_truth(p, o.subsets, o.alpha, r.test_rows, o.retrain, lds_run, p.spec.seed);
  }
  if (references(o.truth)) {
    r.reference = estimate(p, parse_bench_entry("cg"), r.test_rows, o.reference);
    const std::string w = r.reference.first_warning();
    r.reference_note = w.empty() ? "CG on H + μI to relative residual " + shortest(o.reference.solver.cg.tol) + " at every test point"
                                 : "the reference is not exact: " + w;
    GroundTruth& loo = retrained ? r.ref_loo : r.loo;
    GroundTruth& lds = retrained ? r.ref_lds : r.lds;
    loo = reference_truth(r.reference.predicted, loo_groups, r.test_rows);
    lds = reference_truth(r.reference.predicted, lds_groups(p.train.size(), o.subsets, o.alpha, p.spec.seed), r.test_rows);
  }
  // a floor only where both trainings end at the one minimum: a convex model, θ′ to the tolerance
  r.convex = p.spec.model == ModelKind::LogReg || p.spec.model == ModelKind::Softmax;
  bool floor_converged = false;
  r.floor = retrained ? seed_floor(p, r.test_rows, &floor_converged) : Tensor(zeros({0}));
  r.floor_note = !retrained          ? "no retraining: the reference's precision is its solve's residual"
                 : !r.convex         ? "not a floor: a non-convex model's other initialisation ends at another minimum"
                 : !floor_converged  ? "θ′ did not meet the training tolerance: the floor is approximate"
                                     : "";
  if (o.flip > 0) {  // --flip 0: no noisy-label problem, the AUC column says why
    data::TrainTest noisy_data = load_data(p.spec);
    r.flipped = flip_labels(noisy_data.train, o.flip, p.spec.seed + 17);
    r.noisy = build_problem(p.spec, std::move(noisy_data), progress);
    r.auc_loss = detection_auc(row_losses(*r.noisy.obj, r.noisy.train, r.noisy.theta), r.flipped);
  }
  if (o.truth == BenchTruth::Both) {  // exact first-order influence against retraining
    BenchmarkRow row;
    row.estimator = reference_label(o), row.seconds = r.reference.seconds, row.note = r.reference_note;
    row.loo = loo_scores(r.reference.predicted, r.loo), row.lds = lds_scores(r.reference.predicted, r.lds);
    row.ref_loo = loo_scores(r.reference.predicted, r.ref_loo), row.ref_lds = lds_scores(r.reference.predicted, r.ref_lds);
    r.rows.push_back(row);
    if (on_row) on_row(r.rows.back());
  }
  for (const auto& e : o.entries) {
    r.rows.push_back(score_entry(p, e, o, r));
    if (on_row) on_row(r.rows.back());
  }
  return r;
}

}  // namespace inflab::experiments
