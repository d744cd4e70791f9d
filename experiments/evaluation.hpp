// Evaluations of influence beyond single points: the linear datamodeling score (LDS) and
// mislabel detection by self-influence.
#pragma once
#include "experiments/choices.hpp"
#include "influence/group.hpp"
#include "experiments/retrain.hpp"

namespace inflab::experiments {

// LDS (Park et al. 2023): for m random subsets S_j of fraction α, the predicted test loss
// after training on S_j, ℓ(θ̂) + Σ_{i∉S_j} Δ̂(zᵢ) (first order: removals add up), against the
// loss actually reached by retraining on S_j; the score is their Spearman correlation.
struct LdsResult {
  double spearman = 0;  // NaN where undefined (e.g. every actual change is 0)
  Tensor predicted, actual;  // [m] test-loss changes against θ̂
  std::vector<RetrainRecord> retrains;
};
LdsResult linear_datamodeling_score(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                    const Tensor& theta_hat, std::size_t test_row, const Tensor& predicted_change,
                                    std::size_t subsets, double alpha, std::uint64_t seed, const RetrainProtocol& protocol,
                                    const RetrainRun& run = {});

// Group influence against group retraining for one test point: each group's first-order,
// second-order and Newton estimates beside the actual test-loss change, and the scores.
struct GroupEvaluation {
  std::vector<std::vector<std::size_t>> groups;
  std::vector<GroupPrediction> predicted;
  std::vector<RetrainRecord> retrains;
  Tensor first, second, newton, actual;  // [groups]
  // Pearson and relative error Σ|Δ̂−Δ|/Σ|Δ| of each estimate (Newton: NaN if not computed)
  double pearson_first = 0, pearson_second = 0, pearson_newton = 0;
  double error_first = 0, error_second = 0, error_newton = 0;
};
GroupEvaluation evaluate_groups(const InverseHvp& inv, const data::Dataset& test, std::size_t test_row,
                                const std::vector<std::vector<std::size_t>>& groups, const RetrainProtocol& protocol,
                                const RetrainRun& run = {}, std::size_t newton_max_p = 3000);

// Flips the labels of round(fraction·n) seeded random rows to another class (also seeded);
// returns the flipped rows, sorted.
std::vector<std::size_t> flip_labels(data::Dataset& d, double fraction, std::uint64_t seed);
// Probability that a flagged row scores above an unflagged one (ties count ½): the ROC AUC
// of `scores` as a detector of `flagged`.
double detection_auc(const Tensor& scores, const std::vector<std::size_t>& flagged);
// Fraction of the flagged rows among the top ⌈top·n⌉ scores.
double fraction_found(const Tensor& scores, const std::vector<std::size_t>& flagged, double top);

}  // namespace inflab::experiments
