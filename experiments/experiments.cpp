#include "experiments/experiments.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <xtensor/xview.hpp>

#include "datasets/split.hpp"
#include "experiments/last_layer.hpp"
#include "influence/metrics.hpp"

namespace inflab::experiments {

Scores score(const Tensor& predicted, const Tensor& actual) {
  Scores s;
  s.n = predicted.size();
  s.signs_agree = sign_agreements(predicted, actual);
  s.undefined = undefined_reason(predicted, actual);
  s.relative_error = or_nan(relative_error, predicted, actual);
  if (!s.undefined.empty()) return s;
  s.pearson = or_nan(pearson, predicted, actual);
  s.spearman = or_nan(spearman, predicted, actual);
  s.kendall_tau = or_nan(kendall_tau, predicted, actual);
  return s;
}

Scores score(const Tensor& predicted, const Tensor& actual, const RetrainSummary& r) {
  Scores s = score(predicted, actual);
  if (r.exact() < r.jobs)
    s.caveat = std::to_string(r.jobs - r.exact()) + " of " + std::to_string(r.jobs) + " retrains did not end at a minimum (" +
               std::to_string(r.saddles) + " at a saddle, " + std::to_string(r.unresolved) + " took no step, " + std::to_string(r.budget) +
               " stopped before the tolerance or ran a fixed budget): their Δ is not the exact leave-out change";
  return s;
}

Scores score_converged(const Tensor& predicted, const Tensor& actual, const std::vector<RetrainRecord>& retrains) {
  std::vector<std::size_t> keep;
  for (std::size_t j = 0; j < retrains.size(); ++j)
    if (exact(retrains[j].status)) keep.push_back(j);
  Tensor p = zeros({keep.size()}), a = zeros({keep.size()});
  for (std::size_t j = 0; j < keep.size(); ++j) p(j) = predicted(keep[j]), a(j) = actual(keep[j]);
  return score(p, a);
}

RetrainSummary summarize(const std::vector<RetrainRecord>& rs) {
  RetrainSummary s;
  s.jobs = rs.size();
  for (const auto& r : rs) {
    s.converged += r.status == RetrainStatus::Converged;
    s.saddles += r.status == RetrainStatus::Saddle;
    s.budget += r.status == RetrainStatus::Budget;
    s.unresolved += r.status == RetrainStatus::Unresolved;
    s.replayed += r.status == RetrainStatus::Replayed;
    s.resumed += r.resumed;
  }
  return s;
}

LooEvaluation evaluate_leave_one_out(const Problem& p, std::size_t test_row, const LooOptions& o, const RetrainRun& run) {
  if (o.top < 1) throw Error("leave-one-out: retrain at least one row (top = 0)");
  LooEvaluation e;
  e.test_row = test_row;
  std::optional<Problem> head;
  const Problem& est = scoped(p, o.params, head);  // the same rows as p
  e.estimate = estimate(o.estimator, trained(est, false), {test_row}, o.settings);
  e.predicted_all = xt::view(e.estimate.predicted, 0, xt::all());
  e.parameters = est.theta.size();
  test_loss_gradient(*p.obj, p.test, {test_row}, p.theta, &e.test_loss);
  e.rows = largest_magnitude(e.predicted_all, o.top);
  std::vector<std::vector<std::size_t>> singles;
  for (auto r : e.rows) singles.push_back({r});
  e.retrains = retrain_groups(p, singles, {test_row}, o.retrain, run);
  const std::size_t k = e.rows.size();
  e.predicted = zeros({k});
  e.actual = zeros({k});
  for (std::size_t j = 0; j < k; ++j) e.predicted(j) = e.predicted_all(e.rows[j]), e.actual(j) = e.retrains[j].test_loss_change.at(0);
  e.retrain = summarize(e.retrains);
  e.scores = score(e.predicted, e.actual, e.retrain);
  e.converged_scores = score_converged(e.predicted, e.actual, e.retrains);
  return e;
}

// Seeds and anchors of the j-th group of a kind. The offset 1000 keeps random groups' seeds
// apart from the split's and the initialisation's (same seed); the prime stride 7919
// spreads kNN anchors over the rows without repeats for n not a multiple of it.
namespace {
std::uint64_t group_seed(std::uint64_t seed, std::size_t j) { return seed + 1000 + j; }
std::size_t knn_anchor(std::uint64_t seed, std::size_t j, std::size_t n) { return (j * 7919 + seed) % n; }
}  // namespace

std::vector<std::vector<std::size_t>> make_groups(GroupKind kind, const Problem& p, std::size_t size, std::size_t count,
                                                  std::uint64_t seed) {
  const std::size_t n = p.train.size();
  std::vector<std::vector<std::size_t>> groups;
  if (kind == GroupKind::Gradient) {
    const auto clusters = static_cast<std::size_t>(std::llround(static_cast<double>(n) / static_cast<double>(size)));
    if (clusters < 2)
      throw SettingError("--fraction: gradient groups of " + std::to_string(size) + " of " + std::to_string(n) +
                  " rows give fewer than 2 clusters; use smaller groups");
    return gradient_cluster_groups(*p.obj, p.train, p.theta, size, std::min(count, clusters), seed);
  }
  for (std::size_t j = 0; j < count; ++j) {
    switch (kind) {
      case GroupKind::Random: groups.push_back(random_group(n, size, group_seed(seed, j))); break;
      case GroupKind::Knn: groups.push_back(knn_group(p.train, knn_anchor(seed, j, n), size)); break;
      case GroupKind::Class: groups.push_back(class_group(p.train, j % p.train.num_classes(), size, seed + j)); break;
      case GroupKind::Gradient: break;
    }
  }
  return groups;
}

GroupsRow evaluate_group_kind(const Problem& p, const InverseHvp& inv, std::size_t test_row, double fraction, GroupKind kind,
                              std::size_t count, const RetrainProtocol& protocol, const RetrainRun& run) {
  GroupsRow r;
  r.fraction = fraction;
  r.size = group_size(p.train.size(), fraction);
  r.kind = kind;
  const auto groups = make_groups(kind, p, r.size, count, p.spec.seed);
  r.evaluation = evaluate_groups(inv, p.test, test_row, groups, for_problem(protocol, p.spec), run);
  const auto& e = r.evaluation;
  r.retrain = summarize(e.retrains);
  r.first = score(e.first, e.actual, r.retrain);
  r.second = score(e.second, e.actual, r.retrain);
  bool newton = true;
  for (auto v : e.newton) newton &= std::isfinite(v);
  if (newton) r.newton = score(e.newton, e.actual, r.retrain);
  else r.newton.undefined = "Newton estimate not computed (p above its dense limit)";
  for (const auto& g : e.predicted)
    if (r.warning.empty() && !g.warning.empty()) r.warning = g.warning;
  return r;
}

SelectionComparison compare_selection(const Problem& p, const InverseHvp& inv, std::size_t test_row, std::size_t size,
                                      const RetrainProtocol& protocol, const RetrainRun& run) {
  SelectionComparison c;
  const Tensor tg = test_loss_gradient(*p.obj, p.test, {test_row}, p.theta);
  c.selection = most_influential_group(inv, tg, size);
  const auto rr = retrain_groups(p, {c.selection.greedy, c.selection.second_order}, {test_row}, protocol, run);
  c.greedy = rr.at(0);
  c.second_order = rr.at(1);
  for (auto i : c.selection.greedy) c.common += std::binary_search(c.selection.second_order.begin(), c.selection.second_order.end(), i);
  return c;
}

LdsEvaluation evaluate_lds(const Problem& p, std::size_t test_row, const LdsOptions& o, const RetrainRun& run) {
  LdsEvaluation e;
  e.test_row = test_row;
  e.estimate = estimate(o.estimator, trained(p, false), {test_row}, o.settings);
  e.predicted_all = xt::view(e.estimate.predicted, 0, xt::all());
  test_loss_gradient(*p.obj, p.test, {test_row}, p.theta, &e.test_loss);
  e.lds = linear_datamodeling_score(*p.obj, p.train, p.test, p.theta, test_row, e.predicted_all, o.subsets, o.alpha,
                                    p.spec.seed, for_problem(o.retrain, p.spec), run);
  e.retrain = summarize(e.lds.retrains);
  e.scores = score(e.lds.predicted, e.lds.actual, e.retrain);
  return e;
}

MislabelDetection detect_mislabels(const ProblemSpec& spec, double fraction, const SolverChoice& solver, double top, bool progress) {
  if (!(top > 0 && top <= 1)) throw Error("mislabel detection: top must be in (0, 1], got " + std::to_string(top));
  data::TrainTest tt = load_data(spec);
  std::vector<std::size_t> given = tt.train.y;
  const auto flipped = flip_labels(tt.train, fraction, spec.seed + 17);
  MislabelDetection m{build_problem(spec, std::move(tt), progress), flipped, given, {}, {}, 0, 0, 0, 0, top, ""};
  const Problem& p = m.problem;
  const CurvatureOperator A(*p.obj, p.train, p.theta);
  m.self_influence = self_influence(A, solver, &m.warning);
  m.train_loss = row_losses(*p.obj, p.train, p.theta);
  m.auc_influence = detection_auc(m.self_influence, flipped);
  m.auc_loss = detection_auc(m.train_loss, flipped);
  m.found_influence = fraction_found(m.self_influence, flipped, top);
  m.found_loss = fraction_found(m.train_loss, flipped, top);
  return m;
}

std::string groups_unavailable(GroupKind kind, std::size_t n, std::size_t size) {
  if (kind == GroupKind::Gradient && (size == 0 || std::llround(static_cast<double>(n) / static_cast<double>(size)) < 2))
    return "fewer than 2 gradient clusters";
  return "";
}

}  // namespace inflab::experiments
