// How well predicted changes Δ̂ match actual ones Δ (over the same training points).
#pragma once
#include <vector>

#include "autodiff/tensor.hpp"

namespace inflab::influence {

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

}  // namespace inflab::influence
