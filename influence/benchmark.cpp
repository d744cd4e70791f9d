#include "influence/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "datasets/split.hpp"
#include "influence/metrics.hpp"
#include "influence/tracin.hpp"
#include "influence/trak.hpp"

namespace inflab::influence {

const Choices<BenchEstimator>& benchmark_estimators() {
  static const Choices<BenchEstimator> t{
      "benchmark estimator",
      {{"exact", BenchEstimator::Exact, "H⁻¹ by a dense eigendecomposition (p up to a few thousand)"},
       {"cg", BenchEstimator::Cg, "CG on H + μI to --tol"},
       {"minres", BenchEstimator::Minres, "MINRES on H + μI to --tol (indefinite allowed)"},
       {"lissa", BenchEstimator::Lissa, "LiSSA on H + μI (--lissa-scale, --lissa-depth)"},
       {"lowrank", BenchEstimator::LowRank, "the top --rank eigenpairs of H by Lanczos"},
       {"ggn", BenchEstimator::GaussNewton, "CG on the Gauss–Newton matrix G + μI"},
       {"kfac", BenchEstimator::Kfac, "K-FAC, inverted through its factors"},
       {"ekfac", BenchEstimator::Ekfac, "EK-FAC, inverted in its eigenbasis"},
       {"graddot", BenchEstimator::GradDot, "gradient dot product (H = I)"},
       {"trak", BenchEstimator::Trak, "TRAK-style, one model, projection dimension --trak-dim"}}};
  return t;
}

namespace {
GroundTruth truth_of(const Problem& p, std::vector<std::vector<std::size_t>> groups, const std::vector<std::size_t>& test_rows,
                     const RetrainProtocol& protocol, const RetrainRun& run) {
  GroundTruth g;
  g.test_rows = test_rows;
  const auto rec = retrain_groups(*p.obj, p.train, p.test, p.theta, groups, test_rows, protocol, run);
  if (rec.size() != groups.size())
    throw Error("benchmark: " + std::to_string(rec.size()) + " of " + std::to_string(groups.size()) + " retrains came back; every one is needed");
  g.removed = std::move(groups);
  g.actual = zeros({rec.size(), test_rows.size()});
  for (const auto& r : rec)
    for (std::size_t t = 0; t < test_rows.size(); ++t) g.actual(r.job, t) = r.test_loss_change.at(t);
  g.retrain = summarize(rec);
  return g;
}

// The solver and curvature behind an inverse-HVP estimator.
std::pair<SolverChoice, CurvatureChoice> solver_of(BenchEstimator e, const BenchmarkSettings& s) {
  SolverChoice c;
  c.damping = s.damping;
  c.cg.tol = s.tol;
  c.cg.max_iterations = s.max_iterations;
  c.lissa = s.lissa;
  c.lowrank.rank = s.rank;
  CurvatureChoice k = Curvature::Hessian;
  switch (e) {
    case BenchEstimator::Exact: c.method = Method::Exact; break;
    case BenchEstimator::Cg: c.method = Method::Cg; break;
    case BenchEstimator::Minres: c.method = Method::Minres; break;
    case BenchEstimator::Lissa: c.method = Method::Lissa; break;
    case BenchEstimator::LowRank: c.method = Method::LowRank; break;
    case BenchEstimator::GaussNewton: c.method = Method::Cg, k = Curvature::GaussNewton; break;
    case BenchEstimator::Kfac: c.method = Method::Exact, k = Curvature::Kfac; break;
    case BenchEstimator::Ekfac: c.method = Method::Exact, k = Curvature::Ekfac; break;
    case BenchEstimator::GradDot:
    case BenchEstimator::Trak: throw Error("benchmark: " + benchmark_estimators().name(e) + " is not an inverse-HVP estimator");
  }
  return {c, k};
}
bool inverse_hvp(BenchEstimator e) { return e != BenchEstimator::GradDot && e != BenchEstimator::Trak; }

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
       {"cg", BenchTruth::Cg, "Δ̂ of CG on H + μI to --reference-tol: exact first-order influence (no retraining)"}}};
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
  const Problem q = build_problem(other, data::TrainTest{p.train, p.test}, false);
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

Estimate estimate(const Problem& p, BenchEstimator e, const std::vector<std::size_t>& test_rows, const BenchmarkSettings& s) {
  Estimate out;
  const auto t0 = std::chrono::steady_clock::now();
  if (inverse_hvp(e)) {
    const auto [c, k] = solver_of(e, s);
    const CurvatureOperator A(*p.obj, p.train, p.theta, k);
    std::vector<SolveResult> solves;
    out.predicted = predicted_changes_each(A, p.test, test_rows, c, &solves);
    for (const auto& r : solves)
      if (out.warning.empty() && !r.warning.empty()) out.warning = r.warning;
  } else if (e == BenchEstimator::GradDot) {
    out.predicted = gradient_dot(*p.obj, p.train, p.test, test_rows, p.theta);
  } else {
    TrakOptions o;
    o.dim = std::min(s.trak_dim, p.theta.size());
    o.damping = s.damping;
    out.predicted = trak(*p.obj, p.train, p.test, test_rows, {p.theta}, o);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::optional<Tensor> self_scores(const Problem& p, BenchEstimator e, const BenchmarkSettings& s, std::string* why) {
  switch (e) {
    case BenchEstimator::Exact:
    case BenchEstimator::Kfac:
    case BenchEstimator::Ekfac: {  // one eigendecomposition, or cheap factored solves
      const auto [c, k] = solver_of(e, s);
      const CurvatureOperator A(*p.obj, p.train, p.theta, k);
      return self_influence(A, c);
    }
    case BenchEstimator::GradDot: {  // ∇ℓ̃ᵢᵀ∇ℓ̃ᵢ
      Tensor out = zeros({p.train.size()});
      for (std::size_t i = 0; i < out.size(); ++i) {
        const Tensor g = per_example_gradient(*p.obj, p.train, p.theta, i);
        out(i) = dot(g, g);
      }
      return out;
    }
    case BenchEstimator::Trak:
      if (why) *why = "no self-influence form here";
      return std::nullopt;
    default:
      if (why) *why = "one iterative solve per training row (" + std::to_string(p.train.size()) + ")";
      return std::nullopt;
  }
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

}  // namespace inflab::influence
