#include "experiments/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "datasets/split.hpp"
#include "influence/influence.hpp"
#include "influence/metrics.hpp"

namespace inflab::experiments {

LdsResult linear_datamodeling_score(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                    const Tensor& theta_hat, std::size_t test_row, const Tensor& predicted_change,
                                    std::size_t subsets, double alpha, std::uint64_t seed, const RetrainProtocol& protocol,
                                    const RetrainRun& run) {
  const std::size_t n = train.size();
  if (predicted_change.size() != n)
    throw Error("LDS: " + std::to_string(predicted_change.size()) + " predicted changes for " + std::to_string(n) + " training rows");
  if (subsets < 3) throw Error("LDS: needs at least 3 subsets for a rank correlation");
  if (!(alpha > 0 && alpha < 1)) throw Error("LDS: subset fraction α must be in (0, 1), got " + std::to_string(alpha));
  const std::size_t keep = static_cast<std::size_t>(std::llround(alpha * static_cast<double>(n)));
  if (keep < 1 || keep >= n)
    throw SettingError("--alpha " + std::to_string(alpha) + " keeps " + std::to_string(keep) + " of " + std::to_string(n) +
                " rows; each subset must keep at least one row and drop at least one");
  std::vector<std::vector<std::size_t>> removed;
  LdsResult r;
  r.predicted = zeros({subsets});
  for (std::size_t j = 0; j < subsets; ++j) {
    auto perm = data::permutation(n, seed * 7919 + j);  // a prime multiplier: subsets of seeds s and s+1 never share a stream
    std::vector<std::size_t> out(perm.begin() + static_cast<long>(keep), perm.end());
    std::sort(out.begin(), out.end());
    for (auto i : out) r.predicted(j) += predicted_change(i);
    removed.push_back(std::move(out));
  }
  r.retrains = retrain_groups(obj, train, test, theta_hat, removed, {test_row}, protocol, run);
  r.actual = zeros({subsets});
  for (std::size_t j = 0; j < subsets; ++j) r.actual(j) = r.retrains[j].test_loss_change[0];
  r.spearman = or_nan(spearman, r.predicted, r.actual);  // NaN (and Scores says why) when no subset moved the loss
  return r;
}

GroupEvaluation evaluate_groups(const InverseHvp& inv, const data::Dataset& test, std::size_t test_row,
                                const std::vector<std::vector<std::size_t>>& groups, const RetrainProtocol& protocol,
                                const RetrainRun& run, std::size_t newton_max_p) {
  const CurvatureOperator& A = inv.op();
  if (groups.size() < 2) throw Error("evaluate_groups: at least 2 groups are needed for a correlation, got " + std::to_string(groups.size()));
  GroupEvaluation e;
  e.groups = groups;
  const Tensor tg = test_loss_gradient(A.objective_fn(), test, {test_row}, A.theta());
  const std::size_t g = groups.size();
  e.first = zeros({g}), e.second = zeros({g}), e.newton = zeros({g}), e.actual = zeros({g});
  for (std::size_t j = 0; j < g; ++j) {
    e.predicted.push_back(group_influence(inv, tg, groups[j], newton_max_p));
    e.first(j) = e.predicted[j].first_order, e.second(j) = e.predicted[j].second_order, e.newton(j) = e.predicted[j].newton;
  }
  e.retrains = retrain_groups(A.objective_fn(), A.train(), test, A.theta(), groups, {test_row}, protocol, run);
  for (const auto& r : e.retrains) e.actual(r.job) = r.test_loss_change.at(0);
  // NaN where a score is undefined (e.g. no group moved the loss), so a study goes on
  e.pearson_first = or_nan(pearson, e.first, e.actual), e.error_first = or_nan(relative_error, e.first, e.actual);
  e.pearson_second = or_nan(pearson, e.second, e.actual), e.error_second = or_nan(relative_error, e.second, e.actual);
  const bool newton = all_finite(e.newton);
  e.pearson_newton = newton ? or_nan(pearson, e.newton, e.actual) : std::numeric_limits<double>::quiet_NaN();
  e.error_newton = newton ? or_nan(relative_error, e.newton, e.actual) : std::numeric_limits<double>::quiet_NaN();
  return e;
}

std::vector<std::size_t> flip_labels(data::Dataset& d, double fraction, std::uint64_t seed) {
  if (!d.is_classification() || d.num_classes() < 2) throw Error("flip_labels: needs a classification dataset with ≥ 2 classes");
  if (!(fraction > 0 && fraction < 1)) throw Error("flip_labels: fraction must be in (0, 1), got " + std::to_string(fraction));
  const std::size_t k = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(d.size()))));
  auto rows = data::permutation(d.size(), seed);
  rows.resize(k);
  std::sort(rows.begin(), rows.end());
  const auto shift = data::permutation(k, seed + 1);  // a seeded choice among the other classes
  for (std::size_t q = 0; q < k; ++q) {
    const std::size_t C = d.num_classes();
    d.y[rows[q]] = (d.y[rows[q]] + 1 + shift[q] % (C - 1)) % C;
  }
  return rows;
}

double detection_auc(const Tensor& scores, const std::vector<std::size_t>& flagged) {
  const std::set<std::size_t> f(flagged.begin(), flagged.end());
  if (f.empty() || f.size() >= scores.size()) throw Error("detection_auc: needs flagged and unflagged rows");
  for (auto i : f)
    if (i >= scores.size()) throw Error("detection_auc: flagged row " + std::to_string(i) + " out of range");
  // Mann–Whitney U from average ranks
  const auto ranks = average_ranks(scores);
  double sum = 0;
  for (auto i : f) sum += ranks[i];
  const double nf = static_cast<double>(f.size()), nu = static_cast<double>(scores.size()) - nf;
  return (sum - nf * (nf + 1) / 2) / (nf * nu);
}

double fraction_found(const Tensor& scores, const std::vector<std::size_t>& flagged, double top) {
  if (!(top > 0 && top <= 1)) throw Error("fraction_found: top must be in (0, 1], got " + std::to_string(top));
  if (flagged.empty()) throw Error("fraction_found: no flagged rows");
  const std::size_t n = scores.size(), k = static_cast<std::size_t>(std::ceil(top * static_cast<double>(n)));
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(), [&](auto a, auto b) { return scores(a) > scores(b); });
  const std::set<std::size_t> f(flagged.begin(), flagged.end());
  std::size_t hit = 0;
  for (std::size_t q = 0; q < k; ++q) hit += f.count(idx[q]);
  return static_cast<double>(hit) / static_cast<double>(f.size());
}

}  // namespace inflab::experiments
