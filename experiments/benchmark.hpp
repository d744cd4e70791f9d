// The attribution benchmark (docs/benchmark.md), after the protocol of dattri (Deng et al.,
// NeurIPS 2024), scored against ground truth that inflab computes to a tolerance:
//   LOO   for each of m test points, Pearson and Spearman of Δ̂(zᵢ) against the actual Δ over
//         the removed rows (one retrain per row gives Δ for all m points); mean over points;
//   LDS   for each test point, Spearman of Σ_{i∈U} Δ̂(zᵢ) against the actual Δ over random
//         subsets U (retraining keeps a fraction α); mean over points;
//   noisy labels: ROC AUC of self-influence as a detector of flipped training labels, on a
//         second problem trained on them; training loss is the baseline;
//   time  of the estimator alone (its solves and passes, not the ground truth).
#pragma once
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "experiments/choices.hpp"
#include "experiments/experiments.hpp"
#include "util/choice.hpp"

namespace inflab::experiments {

// What the benchmark scores: a row of the estimator table (influence/estimator.hpp) on a
// curvature, under the label it was asked by: "NAME" or "NAME:CURVATURE" (cg:ggn); the
// short names ggn, kfac and ekfac stand for cg:ggn, exact:kfac and exact:ekfac.
struct BenchEntry {
  std::string label;
  Estimator estimator = Estimator::Exact;
  CurvatureChoice curvature;
};
// Error naming the entry and listing the choices.
BenchEntry parse_bench_entry(const std::string& label);
std::string bench_entry_help();  // the short names and the NAME:CURVATURE form, for help text
// The benchmark's settings: the estimator table's, with more iterations and a larger rank
// than a single influence run (the benchmark compares estimators at their best).
EstimatorSettings benchmark_settings();
// The benchmark's problem unless told otherwise: dattri's setting — Fashion-MNIST, softmax
// regression, λ = 0.01, 5000 training rows (the CLI's help shows these defaults).
ProblemSpec benchmark_problem();

// Retraining ground truth for m test points: job j removed `removed[j]`; actual(j, t) = Δ.
struct GroundTruth {
  std::vector<std::size_t> test_rows;
  std::vector<std::vector<std::size_t>> removed;
  Tensor actual;  // [jobs, m]
  RetrainSummary retrain;
};
// The benchmark's removal groups: `subsets` random subsets keeping round(α n) of n rows
// (seeded); each group is the rows its subset leaves out, sorted.
std::vector<std::vector<std::size_t>> lds_groups(std::size_t n, std::size_t subsets, double alpha, std::uint64_t seed);
// Where the ground truth comes from: retraining, a reference influence computed to a tolerance,
// or both in one run (every entry scored against each; the reference itself against retraining,
// so "influence computed exactly" and "influence predicting retraining" are one row apart).
enum class BenchTruth { Retrain, Cg, Both };
inline bool retrains(BenchTruth t) { return t != BenchTruth::Cg; }
inline bool references(BenchTruth t) { return t != BenchTruth::Retrain; }
const Choices<BenchTruth>& benchmark_truths();
// The reference instead of retraining: `reference` [m, n] is Δ̂ of CG on H + μI to a tolerance
// (exact first-order influence, where retraining a network to a tolerance is out of reach);
// job j's "actual" change is Σ_{i ∈ groups[j]} reference(t, i) (first order is additive), so
// LOO scores compare Δ̂ row by row and LDS scores compare subset sums with the reference's.
GroundTruth reference_truth(const Tensor& reference, std::vector<std::vector<std::size_t>> groups, const std::vector<std::size_t>& test_rows);
// One retrain per row (leave-one-out).
GroundTruth loo_truth(const Problem& p, const std::vector<std::size_t>& rows, const std::vector<std::size_t>& test_rows,
                      const RetrainProtocol& protocol, const RetrainRun& run);
// `subsets` random subsets keeping round(α n) rows (seeded); each retrain removes the rest.
GroundTruth lds_truth(const Problem& p, std::size_t subsets, double alpha, const std::vector<std::size_t>& test_rows,
                      const RetrainProtocol& protocol, const RetrainRun& run, std::uint64_t seed);

// The ground truth's noise floor: |ℓ(z_t; θ′) − ℓ(z_t; θ̂)| for each test row, θ′ trained on the
// same data from another initialisation (seed + 1) the way θ̂ was. Where the objective has one
// minimum this is the training tolerance's imprecision; an actual change below it is noise.
// `converged` (if given): whether θ′ met the training tolerance.
Tensor seed_floor(const Problem& p, const std::vector<std::size_t>& test_rows, bool* converged = nullptr);

// One entry's Δ̂ [m, n] for the test rows (÷n, docs/conventions.md), timed, with its solves.
Estimate estimate(const Problem& p, const BenchEntry& e, const std::vector<std::size_t>& test_rows, const EstimatorSettings& s);
// Self-influence [n] for the noisy-label score, or nullopt with the reason in `why` when it
// would take one iterative solve per row (cg, minres, lissa, lowrank) or has no form (trak, gradcos).
std::optional<Tensor> self_scores(const Problem& p, const BenchEntry& e, const EstimatorSettings& s, std::string* why);

// Scores of an estimate against ground truth (means over test points; the points where a
// correlation is undefined are counted in `undefined`, not averaged).
struct BenchScores {
  double pearson = std::numeric_limits<double>::quiet_NaN(), spearman = std::numeric_limits<double>::quiet_NaN();  // NaN: not scored
  std::size_t points = 0, undefined = 0;
};
BenchScores loo_scores(const Tensor& predicted, const GroundTruth& truth);
BenchScores lds_scores(const Tensor& predicted, const GroundTruth& truth);  // pearson unused (NaN)

// ---- the whole benchmark (inflab benchmark): ground truth first, then every entry
struct BenchmarkOptions {
  std::vector<BenchEntry> entries;
  EstimatorSettings settings = benchmark_settings();
  std::size_t loo_rows = 100, test_points = 10, subsets = 100;
  double alpha = 0.5, flip = 0.1;
  BenchTruth truth = BenchTruth::Retrain;
  EstimatorSettings reference = benchmark_settings();  // --truth cg: the reference CG's tolerance and limit
  RetrainProtocol retrain;
};
// One entry's scores, or why one is missing ("note").
struct BenchmarkRow {
  std::string estimator;  // the entry's label
  BenchScores loo, lds;          // against the ground truth (retraining with --truth both)
  BenchScores ref_loo, ref_lds;  // --truth both: against the reference (NaN otherwise)
  double auc = std::numeric_limits<double>::quiet_NaN(), seconds = std::numeric_limits<double>::quiet_NaN();
  std::string note;  // why a score is missing, the solve's warning, a mean over fewer points
};
struct BenchmarkResult {
  std::vector<std::size_t> test_rows, loo_rows;  // split rows: random test points, rows left out
  GroundTruth loo, lds;         // retraining, or with --truth cg the reference
  GroundTruth ref_loo, ref_lds; // --truth both: the reference on the same rows and subsets
  Estimate reference;           // --truth cg, both: CG to the reference tolerance
  std::string reference_note;   // what the reference is (or why it is not exact)
  Tensor floor;                 // |Δℓ| per test point from another initialisation (retraining only)
  bool convex = false;          // logreg, softmax: one minimum, so the floor is the tolerance's noise
  std::string floor_note;       // why the floor is not one ("" when it is)
  Problem noisy;                // trained on flipped labels (none with flip 0: noisy.obj is null)
  std::vector<std::size_t> flipped;
  double auc_loss = std::numeric_limits<double>::quiet_NaN();  // training loss as the detector
  std::vector<BenchmarkRow> rows;
};
// Errors name the setting (loo_rows, test_points). Each entry that cannot run (e.g. exact
// on a large p) is a row saying why; `on_row` sees each row as it is scored. With --truth both
// the first row is the reference itself, labelled reference_label(o).
BenchmarkResult run_benchmark(const Problem& p, const BenchmarkOptions& o, const RetrainRun& loo_run, const RetrainRun& lds_run,
                              bool progress, const std::function<void(const BenchmarkRow&)>& on_row = {});
std::string reference_label(const BenchmarkOptions& o);  // "reference: cg, tol 1e-10"
// the median of |v| over its finite entries (NaN when none)
double median_abs(const Tensor& v);

}  // namespace inflab::experiments
