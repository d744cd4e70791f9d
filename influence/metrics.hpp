// How well predicted changes Δ̂ match actual ones Δ (over the same training points).
#pragma once
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"

namespace inflab::influence {

// The three correlations need at least 3 points (an Error naming n otherwise: over 2 points
// every correlation is ±1 and says nothing), finite values and neither side constant.
double pearson(const Tensor& a, const Tensor& b);
double spearman(const Tensor& a, const Tensor& b);  // Pearson of average ranks (ties share)
double kendall_tau(const Tensor& a, const Tensor& b);  // τ-b, corrected for ties
// |top-k of a ∩ top-k of b| / k, by value (largest first) or by |value|.
double top_k_overlap(const Tensor& a, const Tensor& b, std::size_t k, bool by_magnitude = true);
double relative_error(const Tensor& predicted, const Tensor& actual);  // Σ|Δ̂ − Δ| / Σ|Δ|
std::vector<double> average_ranks(const Tensor& a);  // 1-based, ties get their mean rank
// metric(a, b), or NaN where it is undefined (a constant side, all-zero actual changes,
// non-finite values): a study records that and goes on instead of stopping.
double or_nan(double (*metric)(const Tensor&, const Tensor&), const Tensor& a, const Tensor& b);
// "" when pearson/spearman/kendall_tau of (predicted, actual) are defined; otherwise the
// user-facing reason, the first that applies: "fewer than 3 points (n = 2)", "non-finite
// values", "every actual change is 0 (…)", "the actual changes are constant", "the
// predictions are constant". (Sizes that differ are an Error.)
std::string undefined_reason(const Tensor& predicted, const Tensor& actual);
// How many pairs have strictly the same sign (both > 0 or both < 0). An actual change of
// exactly 0 agrees with no prediction, and a prediction of 0 with no actual change.
std::size_t sign_agreements(const Tensor& predicted, const Tensor& actual);

// The spread of a score over repeats (seeds × test points), NaNs left out and counted:
// median, quartiles (linear interpolation between order statistics, numpy's default) and a
// distribution-free 95% interval of the median: [x₍ⱼ₎, x₍ₙ₋ⱼ₊₁₎] with the largest j such
// that 2·P(Binomial(n, ½) ≤ j − 1) ≤ 0.05, which covers the true median with probability
// ≥ 95% whatever the distribution. Fewer than 6 values have no such interval (NaN): with 5,
// [min, max] covers only 93.75%. (A percentile bootstrap of the median was the first choice;
// from 3 values it returns [min, max], a 75% interval, so it is not used.)
struct Spread {
  std::size_t n = 0, undefined = 0;  // values used; NaNs left out
  double median = 0, q25 = 0, q75 = 0;
  double ci_low = 0, ci_high = 0;  // 95% interval of the median; NaN for n < 6
};
double quantile(std::vector<double> values, double q);  // q ∈ [0, 1]; Error when empty or with a NaN
Spread spread(const std::vector<double>& values);

}  // namespace inflab::influence
