// Evaluations of influence as library calls that return plain structs: estimates beside
// ground truth (retraining), scores that say when they are meaningless, and diagnostics.
// The CLI only renders these; a C++ program (or an MPI rank) makes the same calls.
#pragma once
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "experiments/choices.hpp"
#include "experiments/evaluation.hpp"
#include "influence/group_selection.hpp"
#include "experiments/problem.hpp"

namespace inflab::experiments {

// Predicted against actual changes over the same points, with what makes them meaningful.
struct Scores {
  std::size_t n = 0;
  static constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  double pearson = nan, spearman = nan, kendall_tau = nan, relative_error = nan;  // NaN where undefined
  std::size_t signs_agree = 0;  // pairs of strictly the same sign (an actual 0 agrees with nothing)
  std::string undefined;        // why the correlations are NaN; "" when they are defined
  std::string caveat;           // why the actual changes are not all ground truth ("" when they are)
};
Scores score(const Tensor& predicted, const Tensor& actual);

// What a batch of retrains can vouch for, counted by status (retrain.hpp): each job is in
// exactly one of converged, saddles (at the tolerance, negative curvature), budget (stopped
// before the tolerance, or a fixed sgd/adam budget — whatever the curvature there) and unresolved.
struct RetrainSummary {
  std::size_t jobs = 0, converged = 0, saddles = 0, budget = 0, unresolved = 0, replayed = 0, resumed = 0;
  std::size_t exact() const { return converged + replayed; }  // Δ exact for its target
};
RetrainSummary summarize(const std::vector<RetrainRecord>& r);
// Scores whose actual changes come from these retrains: the caveat says how many of them
// did not end at a minimum (saddles, no step taken, stopped early or a fixed budget).
Scores score(const Tensor& predicted, const Tensor& actual, const RetrainSummary& retrains);
// The same over the pairs whose Δ is exact for its target (status Converged or Replayed) only.
Scores score_converged(const Tensor& predicted, const Tensor& actual, const std::vector<RetrainRecord>& retrains);

// ---- leave-one-out (inflab validate)
struct LooOptions {
  std::size_t top = 20;  // retrain the rows with the largest |Δ̂|
  Estimator estimator = Estimator::Exact;  // any row of the estimator table (influence/estimator.hpp)
  EstimatorSettings settings;
  ParamScope params = ParamScope::All;  // Δ̂ over all parameters or the last layer's (last_layer.hpp); retraining trains all
  RetrainProtocol retrain;
};
struct LooEvaluation {
  std::size_t test_row = 0;
  double test_loss = 0;           // ℓ(z_t; θ̂)
  Estimate estimate;              // Δ̂ [1, n] with its solve (inverse-HVP rows), time, settings
  Tensor predicted_all;           // [n] Δ̂ of every training row (estimate.predicted's row)
  std::size_t parameters = 0;     // the parameters Δ̂ differentiates (the last layer's with ParamScope::LastLayer)
  std::vector<std::size_t> rows;  // retrained training rows (split rows), largest |Δ̂| first
  Tensor predicted, actual;       // [k] Δ̂ and Δ of those rows
  std::vector<RetrainRecord> retrains;
  RetrainSummary retrain;
  Scores scores;
  Scores converged_scores;  // over the retrains that ended at a minimum only
};
LooEvaluation evaluate_leave_one_out(const Problem& p, std::size_t test_row, const LooOptions& o, const RetrainRun& run = {});

// ---- groups
// `count` groups of `size` training rows of one kind, seeded (table: group_kinds()).
std::vector<std::vector<std::size_t>> make_groups(GroupKind kind, const Problem& p, std::size_t size, std::size_t count,
                                                  std::uint64_t seed);
// Why groups of this kind and size cannot be formed from n rows ("" when they can): gradient
// clusters need at least 2 groups of `size` (round(n / size) ≥ 2).
std::string groups_unavailable(GroupKind kind, std::size_t n, std::size_t size);
// One row of the groups study (and of `inflab group`): groups of one kind and size against
// group retraining.
struct GroupsRow {
  double fraction = 0;
  std::size_t size = 0;
  GroupKind kind = GroupKind::Random;
  GroupEvaluation evaluation;
  Scores first, second, newton;
  RetrainSummary retrain;
  std::string warning;  // the first solve warning among the groups' estimates ("" when none)
};
GroupsRow evaluate_group_kind(const Problem& p, const InverseHvp& inv, std::size_t test_row, double fraction, GroupKind kind,
                              std::size_t count, const RetrainProtocol& protocol, const RetrainRun& run = {});
// The most influential group of `size`: the greedy first-order pick against the
// second-order selection, both retrained.
struct SelectionComparison {
  GroupSelection selection;
  RetrainRecord greedy, second_order;  // actual changes: test_loss_change[0]
  std::size_t common = 0;              // rows in both picks
};
SelectionComparison compare_selection(const Problem& p, const InverseHvp& inv, std::size_t test_row, std::size_t size,
                                      const RetrainProtocol& protocol, const RetrainRun& run = {});

// ---- linear datamodeling score (inflab lds)
struct LdsOptions {
  std::size_t subsets = 20;
  double alpha = 0.5;  // fraction of the training set each subset keeps
  Estimator estimator = Estimator::Exact;  // any row of the estimator table
  EstimatorSettings settings;
  RetrainProtocol retrain;
};
struct LdsEvaluation {
  std::size_t test_row = 0;
  double test_loss = 0;
  Estimate estimate;      // Δ̂ [1, n] with its diagnostics
  Tensor predicted_all;   // [n]
  LdsResult lds;
  RetrainSummary retrain;
  Scores scores;  // of the subset predictions against retraining (Spearman is the LDS)
};
LdsEvaluation evaluate_lds(const Problem& p, std::size_t test_row, const LdsOptions& o, const RetrainRun& run = {});

// ---- mislabel detection (inflab mislabel)
// Flips the labels of a seeded `fraction` of the training rows, trains on them, and ranks
// the rows by self-influence ∇ℓ̃ᵀ(H + μI)⁻¹∇ℓ̃ and, as the baseline, by training loss.
struct MislabelDetection {
  Problem problem;                     // trained on the flipped labels
  std::vector<std::size_t> flipped;    // split rows, sorted
  std::vector<std::size_t> given_labels;  // the labels before flipping, per training row
  Tensor self_influence, train_loss;   // [n]
  double auc_influence = 0, auc_loss = 0;      // ROC AUC as detectors of the flipped rows
  double found_influence = 0, found_loss = 0;  // fraction of flipped rows in the top `top`
  double top = 0.1;
  std::string warning;  // a solve warning from the self-influence solves ("" when none)
};
MislabelDetection detect_mislabels(const ProblemSpec& spec, double fraction, const SolverChoice& solver, double top,
                                   bool progress);

}  // namespace inflab::experiments
